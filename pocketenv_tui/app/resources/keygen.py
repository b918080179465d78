"""An ed25519 SSH key pair made in the app (PyNaCl), in the OpenSSH formats ssh uses.

No ``ssh-keygen`` or ``cryptography`` needed: the unencrypted ``openssh-key-v1`` container is
small enough to write out here (see OpenSSH's PROTOCOL.key).
"""

from __future__ import annotations

import base64
import os
import struct

from nacl.signing import SigningKey

from pocketenv_tui.api.crypto import SSH_FOOTER, SSH_HEADER

KEY_TYPE = b"ssh-ed25519"
_MAGIC = b"openssh-key-v1\x00"
_BLOCK = 8  # the cipher "none" pads to 8 bytes


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _public_blob(public: bytes) -> bytes:
    return _string(KEY_TYPE) + _string(public)


def generate_ed25519(comment: str = "pocketenv") -> tuple[str, str]:
    """A new pair as ``(private_key_openssh, public_key_line)``."""
    signing = SigningKey.generate()
    seed = bytes(signing)
    public = bytes(signing.verify_key)
    check = os.urandom(4)
    private_section = (
        check
        + check
        + _string(KEY_TYPE)
        + _string(public)
        + _string(seed + public)  # OpenSSH stores the 32-byte seed followed by the public key
        + _string(comment.encode())
    )
    padding = bytes(range(1, (-len(private_section) % _BLOCK) + 1))
    container = (
        _MAGIC
        + _string(b"none")
        + _string(b"none")
        + _string(b"")
        + struct.pack(">I", 1)
        + _string(_public_blob(public))
        + _string(private_section + padding)
    )
    body = base64.b64encode(container).decode("ascii")
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    private_key = "\n".join([SSH_HEADER, *lines, SSH_FOOTER]) + "\n"
    public_line = f"{KEY_TYPE.decode()} {base64.b64encode(_public_blob(public)).decode('ascii')} {comment}"
    return private_key, public_line
