"""Sealed-box encryption and the redaction rules the Pocketenv clients use.

Values the server must be able to open (secrets, file contents, SSH private keys, Tailscale
keys, provider credentials) are sealed to the server's X25519 public key with libsodium's
``crypto_box_seal`` and sent as URL-safe base64 without padding. The plaintext "redacted"
companions are computed here too, because the server only ever shows those back.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

# PyNaCl is imported where it is used: configuration only checks a key's shape, and a program
# that never seals anything need not load libsodium.
if TYPE_CHECKING:
    from nacl.public import PublicKey

SSH_HEADER = "-----BEGIN OPENSSH PRIVATE KEY-----"
SSH_FOOTER = "-----END OPENSSH PRIVATE KEY-----"


class InvalidPublicKeyError(ValueError):
    """The public key is not 64 hex characters (32 bytes)."""


def _b64url_nopad(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode URL-safe base64 whether or not its padding was stripped."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_bytes(public_key_hex: str) -> bytes:
    """The 32 raw bytes of a hex public key; InvalidPublicKeyError says what is wrong."""
    try:
        raw = binascii.unhexlify(public_key_hex.strip())
    except (binascii.Error, ValueError) as exc:
        raise InvalidPublicKeyError(
            f"public key must be 64 hex characters, got {public_key_hex!r}"
        ) from exc
    if len(raw) != 32:
        raise InvalidPublicKeyError(
            f"public key must be 32 bytes (64 hex characters), got {len(raw)} bytes"
        )
    return raw


def parse_public_key(public_key_hex: str) -> PublicKey:
    from nacl.public import PublicKey

    return PublicKey(public_key_bytes(public_key_hex))


def seal(plaintext: str, public_key_hex: str) -> str:
    """Seal ``plaintext`` to the server key; URL-safe base64, no padding."""
    from nacl.public import SealedBox

    box = SealedBox(parse_public_key(public_key_hex))
    return _b64url_nopad(box.encrypt(plaintext.encode("utf-8")))


def unseal(sealed: str, private_key_hex: str) -> str:
    """Open a value produced by :func:`seal` (used by the local backend and tests)."""
    from nacl.public import PrivateKey, SealedBox

    key = PrivateKey(binascii.unhexlify(private_key_hex))
    return SealedBox(key).decrypt(b64url_decode(sealed)).decode("utf-8")


def generate_keypair() -> tuple[str, str]:
    """A new X25519 key pair as ``(public_hex, private_hex)``."""
    from nacl.public import PrivateKey

    key = PrivateKey.generate()
    return key.public_key.encode().hex(), key.encode().hex()


def redact(value: str) -> str:
    """Generic rule (CLI, Go SDK): first 11 + 24 stars + last 3; short values unchanged."""
    if len(value) <= 14:
        return value
    return value[:11] + "*" * 24 + value[-3:]


def redact_tailscale(value: str) -> str:
    """Tailscale rule (JS SDK, web): like :func:`redact` but keeps the length."""
    if len(value) <= 14:
        return value
    return value[:11] + "*" * (len(value) - 14) + value[-3:]


def redact_ssh_private_key(key: str) -> str:
    """SSH rule: mask the body between the OpenSSH header and footer, escape newlines.

    Only non-newline characters of the body count: with more than 15, the first 10 and the
    last 5 stay and the rest become ``*`` (newlines keep their places). Without the header
    or footer nothing is masked. Every newline becomes the two characters backslash-n.
    """
    start = key.find(SSH_HEADER)
    end = key.find(SSH_FOOTER)
    if start == -1 or end == -1 or end < start:
        return key.replace("\n", "\\n")
    body_start = start + len(SSH_HEADER)
    body = key[body_start:end]
    visible = [i for i, ch in enumerate(body) if ch != "\n"]
    if len(visible) > 15:
        masked = list(body)
        for i in visible[10:-5]:
            masked[i] = "*"
        body = "".join(masked)
    return (key[:body_start] + body + key[end:]).replace("\n", "\\n")


def unescape_redacted(text: str) -> str:
    """Turn the ``\\n`` escapes of a redacted SSH key back into newlines for display."""
    return text.replace("\\n", "\n")


def looks_redacted(value: str, *, ssh: bool = False) -> bool:
    """The web UI's rule: an input still holding the mask means "unchanged, don't send"."""
    return ("****" if ssh else "**") in value
