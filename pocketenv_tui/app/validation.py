"""Checks and expansions for what people type into the dashboard's forms (no Textual here)."""

from __future__ import annotations

import re

REPO_SHORTHANDS = {
    "github": "https://github.com/",
    "gitlab": "https://gitlab.com/",
    "tangled": "https://tangled.org/",
}
_SHORTHAND = re.compile(r"^(?P<host>github|gitlab|tangled):(?P<path>[^\s:]+/[^\s:]+)$")
_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")
MIN_PORT = 1025
MAX_PORT = 65535


def expand_repo(value: str) -> str | None:
    """``github:owner/repo`` -> ``https://github.com/owner/repo``; other text passes through
    (an empty string means no repo). Shorthands missing the ``owner/repo`` part are refused."""
    value = value.strip()
    if not value:
        return None
    match = _SHORTHAND.match(value)
    if match:
        return REPO_SHORTHANDS[match["host"]] + match["path"]
    prefix = value.split(":", 1)[0]
    if prefix in REPO_SHORTHANDS:
        raise ValueError(f"Write {prefix}:owner/repo, e.g. {prefix}:pocketenv-io/pocketenv.")
    return value


def repo_error(value: str) -> str | None:
    try:
        expand_repo(value)
    except ValueError as exc:
        return str(exc)
    return None


def name_error(value: str) -> str | None:
    """An empty name lets the server pick one; otherwise lowercase letters, digits and dashes."""
    value = value.strip()
    if not value:
        return None
    if not _NAME.match(value):
        return "Use 1–50 lowercase letters, digits or dashes, not starting or ending with a dash."
    return None


def port_error(value: str) -> str | None:
    value = value.strip()
    if not value.isdigit():
        return f"Enter a port number between {MIN_PORT} and {MAX_PORT}."
    port = int(value)
    if not MIN_PORT <= port <= MAX_PORT:
        return f"The port must be between {MIN_PORT} and {MAX_PORT} (1024 is kept for VS Code)."
    return None
