"""What a client may read from a Pocketenv bearer token without the server's secret."""

from __future__ import annotations

import binascii
import json

from pocketenv_tui.api.crypto import b64url_decode


def did_from_token(token: str | None) -> str | None:
    """The ``did`` claim of a Pocketenv bearer token, read without verifying it.

    The server takes the caller's identity from exactly that claim once it has verified the
    signature (api.md section 1.2), so reading it here saves the getProfile round trip; a token
    the server rejects fails the next call anyway. None when the token is not a JWT with a DID.
    """
    parts = (token or "").split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(b64url_decode(parts[1]))
    except (ValueError, binascii.Error):
        return None
    did = claims.get("did") if isinstance(claims, dict) else None
    return did if isinstance(did, str) and did.startswith("did:") else None
