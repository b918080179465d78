"""What the resource forms accept, as pure functions (no Textual), shared by forms and tests.

Each ``*_error`` returns the reason shown beside the field, or None when the value is fine.
The rules follow the web app's (reference/features.md §2.4–2.5) where they make sense.
"""

from __future__ import annotations

import re

from pocketenv_tui.api.crypto import SSH_FOOTER, SSH_HEADER
from pocketenv_tui.api.namespaces.backups import parse_ttl
from pocketenv_tui.app.validation import MAX_PORT, MIN_PORT

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
TAILSCALE_PREFIX = "tskey-auth-"
TAILSCALE_MIN_LENGTH = 15
DEFAULT_BACKUP_TTL = "3d"
PUBLIC_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")


def env_name_error(name: str) -> str | None:
    if not name:
        return "A name is required."
    if not _ENV_NAME.match(name):
        return "Use UPPER_SNAKE_CASE: only A-Z, 0-9 and _, not starting with a digit (e.g. API_KEY)."
    return None


def required_error(value: str, what: str) -> str | None:
    return None if value.strip() else f"{what} is required."


def absolute_path_error(path: str, what: str = "The path") -> str | None:
    path = path.strip()
    if not path:
        return f"{what} is required."
    if not path.startswith("/"):
        return f"{what} must be absolute (start with /), e.g. /data."
    if any(part == ".." for part in path.split("/")):
        return f"{what} must not contain '..'."
    return None


def parse_ports(text: str) -> list[int]:
    """``"3000, 8080"`` -> ``[3000, 8080]``; raises ValueError with the reason to show."""
    ports: list[int] = []
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(f"{part!r} is not a port: list numbers separated by commas.")
        port = int(part)
        if not MIN_PORT <= port <= MAX_PORT:
            raise ValueError(f"Port {port} is outside {MIN_PORT}–{MAX_PORT}.")
        if port in ports:
            raise ValueError(f"Port {port} is listed twice.")
        ports.append(port)
    return ports


def ports_error(text: str) -> str | None:
    try:
        parse_ports(text)
    except ValueError as exc:
        return str(exc)
    return None


def ttl_error(text: str) -> str | None:
    """Empty means the default (3d); otherwise seconds or a number with s, m, h, d or w."""
    if not text.strip():
        return None
    try:
        parse_ttl(text)
    except ValueError:
        return "Write a time to live such as 10m, 2h or 7d (empty: 3d)."
    return None


def tailscale_key_error(key: str) -> str | None:
    key = key.strip()
    if not key:
        return "An auth key is required."
    if not key.startswith(TAILSCALE_PREFIX):
        return f"A Tailscale auth key starts with {TAILSCALE_PREFIX}."
    if len(key) < TAILSCALE_MIN_LENGTH:
        return f"A Tailscale auth key is at least {TAILSCALE_MIN_LENGTH} characters."
    return None


def private_key_error(key: str) -> str | None:
    text = key.strip()
    if not text:
        return "A private key is required (paste it, load a file, or generate a pair)."
    if not (text.startswith(SSH_HEADER) and text.endswith(SSH_FOOTER)):
        return "Paste an OpenSSH private key (from BEGIN to END OPENSSH PRIVATE KEY)."
    return None


def public_key_error(key: str) -> str | None:
    text = key.strip()
    if not text:
        return "A public key is required."
    if "\n" in text:
        return "A public key is a single line."
    if text.split(" ", 1)[0] not in PUBLIC_KEY_TYPES:
        return "Paste an OpenSSH public key (ssh-ed25519 … or ssh-rsa …)."
    return None
