"""The local backend's identity: one local user, its bearer token and the sealing key pair.

Everything is created on first start and kept in the data dir:

- ``identity.json``  ``{"did", "handle", "createdAt"}`` of the local user
- ``jwt_secret``     random HS256 signing secret (0600)
- ``token.json``     ``{"token": ...}`` a bearer token for the local user (0600)
- ``private_key``    X25519 private key, 64 hex characters (0600)
- ``public_key``     the matching public key clients seal to, 64 hex characters

Tokens are HS256 JWTs, built with the standard library only. Unlike the hosted API (which
ignores expiry and answers a forged token with 500), verification checks the signature in
constant time and rejects expired tokens, so a bad token is a plain 401. Two kinds:

- the login token ``{did, iat, exp}`` (in ``token.json``): the whole API, terminals included;
- a terminal token ``{sub, scope: "terminal", iat, exp}`` from ``actor.getTerminalToken``,
  valid ``TERMINAL_TOKEN_LIFETIME_SECONDS`` (8 h). It is meant to sit in a WebSocket URL
  (``?t=``), where it can end up in logs and process lists, so it opens the terminal routes
  (the worker, /pty, /tty and /ssh WebSockets, and /ssh/connect and disconnect) and nothing else: XRPC and copy storage refuse it with
  :data:`TERMINAL_ONLY_MESSAGE`. A token with ``sub`` and no ``did`` (what older versions
  minted, valid 100 years and with no scope) is treated as a terminal token and must also
  meet the terminal rules, so those are refused everywhere now.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from pocketenv_tui.api.crypto import generate_keypair, unseal
from pocketenv_tui.local.state.ids import now_iso

HANDLE = "local"
TOKEN_LIFETIME_SECONDS = 100 * 365 * 24 * 3600
TERMINAL_SCOPE = "terminal"
# Long enough for a working day in one shell; a leaked URL stops working by the next one.
TERMINAL_TOKEN_LIFETIME_SECONDS = 8 * 3600
TERMINAL_ONLY_MESSAGE = (
    "This token only opens terminals (it comes from actor.getTerminalToken); "
    "use the login token for the API and copy storage"
)
_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_jwt(payload: dict, secret: bytes) -> str:
    head = _b64url(json.dumps(_HEADER, separators=(",", ":")).encode())
    body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode("ascii"), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64url(signature)}"


def decode_jwt(token: str, secret: bytes, *, now: float | None = None) -> dict | None:
    """The payload of a valid, unexpired HS256 token signed with ``secret``, else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    head, body, signature = parts
    expected = hmac.new(secret, f"{head}.{body}".encode("ascii", "replace"), hashlib.sha256).digest()
    try:
        given = _b64url_decode(signature)
        header = json.loads(_b64url_decode(head))
        payload = json.loads(_b64url_decode(body))
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(expected, given):
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return None
    if not isinstance(payload, dict):
        return None
    exp = payload.get("exp")
    if exp is not None:
        if not isinstance(exp, int | float) or exp <= (time.time() if now is None else now):
            return None
    return payload


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only the owner can read, never briefly world-readable."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write_public(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Identity:
    did: str
    handle: str
    created_at: str
    token: str
    public_key: str
    private_key: str
    jwt_secret: bytes

    def _claims(self, token: str | None) -> tuple[str, bool] | None:
        """(did, terminal_only) of a valid token of ours, or None when missing, forged, expired or foreign."""
        if not token or token == "null":
            return None
        payload = decode_jwt(token, self.jwt_secret)
        if payload is None:
            return None
        scope = payload.get("scope")
        if "did" in payload and scope is None:
            return (self.did, False) if payload["did"] == self.did else None
        # Terminal tokens carry ``sub`` and the terminal scope, and expire within hours.
        exp, iat = payload.get("exp"), payload.get("iat")
        if (
            scope != TERMINAL_SCOPE
            or payload.get("sub") != self.did
            or not isinstance(exp, int | float)
            or not isinstance(iat, int | float)
            or exp - iat > TERMINAL_TOKEN_LIFETIME_SECONDS
        ):
            return None
        return self.did, True

    def verify_token(self, token: str | None) -> str | None:
        """The DID an API token speaks for; None for a missing, bad or terminal-only token."""
        claims = self._claims(token)
        return claims[0] if claims is not None and not claims[1] else None

    def verify_terminal_token(self, token: str | None) -> str | None:
        """The DID a token may open terminals for: the login token or a terminal token."""
        claims = self._claims(token)
        return claims[0] if claims is not None else None

    def is_terminal_only(self, token: str | None) -> bool:
        """Whether ``token`` is a valid terminal token (so a refusal can say why)."""
        claims = self._claims(token)
        return claims is not None and claims[1]

    def mint_terminal_token(self, *, now: int | None = None) -> str:
        issued = int(time.time()) if now is None else now
        return sign_jwt(
            {"sub": self.did, "scope": TERMINAL_SCOPE, "iat": issued, "exp": issued + TERMINAL_TOKEN_LIFETIME_SECONDS},
            self.jwt_secret,
        )

    def open_sealed(self, sealed: str) -> str:
        """Open a value sealed to our public key; raises ValueError when it is not one."""
        try:
            return unseal(sealed, self.private_key)
        except Exception as exc:  # nacl raises CryptoError, binascii.Error, UnicodeDecodeError...
            raise ValueError("not a value sealed to this server's public key") from exc


def load_or_create_identity(data_dir: Path) -> Identity:
    """Load the identity from ``data_dir``, creating whatever part is missing.

    A file lock makes two processes racing on a fresh data dir (``serve`` and ``--print-env``)
    end up with one identity.
    """
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(data_dir / "identity.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _load_or_create_locked(data_dir)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load_or_create_locked(data_dir: Path) -> Identity:
    ident_path = data_dir / "identity.json"
    if ident_path.exists():
        ident = json.loads(ident_path.read_text())
    else:
        ident = {"did": "did:local:" + secrets.token_hex(12), "handle": HANDLE, "createdAt": now_iso()}
        _write_public(ident_path, json.dumps(ident, indent=2) + "\n")

    secret_path = data_dir / "jwt_secret"
    if secret_path.exists():
        jwt_secret = bytes.fromhex(secret_path.read_text().strip())
    else:
        jwt_secret = secrets.token_bytes(32)
        _write_private(secret_path, jwt_secret.hex() + "\n")

    public_path, private_path = data_dir / "public_key", data_dir / "private_key"
    if public_path.exists() and private_path.exists():
        public_key = public_path.read_text().strip()
        private_key = private_path.read_text().strip()
    else:
        public_key, private_key = generate_keypair()
        _write_private(private_path, private_key + "\n")
        _write_public(public_path, public_key + "\n")

    token_path = data_dir / "token.json"
    token = None
    if token_path.exists():
        try:
            token = json.loads(token_path.read_text()).get("token")
        except (ValueError, AttributeError):
            token = None
    identity = Identity(
        did=ident["did"],
        handle=ident.get("handle", HANDLE),
        created_at=ident.get("createdAt", now_iso()),
        token=token or "",
        public_key=public_key,
        private_key=private_key,
        jwt_secret=jwt_secret,
    )
    if not token or identity.verify_token(token) is None:
        now = int(time.time())
        token = sign_jwt({"did": identity.did, "iat": now, "exp": now + TOKEN_LIFETIME_SECONDS}, jwt_secret)
        _write_private(token_path, json.dumps({"token": token}, indent=2) + "\n")
        identity = Identity(**{**identity.__dict__, "token": token})
    return identity
