"""What the official Pocketenv clients need to use this server: ``serve --print-env`` and
``serve --write-cli-token``.

The official CLI reads five URL variables (``POCKETENV_API_URL``, ``_CF_URL``, ``_PTY_URL``,
``_TTY_URL``; the SDK's ``storageUrl`` is ``POCKETENV_STORAGE_URL`` by our convention) plus the
token and the sealing key. This server serves every terminal family and the copy storage
itself, so each URL is this server's (``/pty`` and ``/tty`` being where the CLI appends
``/{id}/ws``). The Cloudflare URL has no ``sbx`` in it, so the CLI's per-template host rewrite
leaves it alone.

The CLI also insists on ``~/.pocketenv/token.json`` even when ``POCKETENV_TOKEN`` is set
(terminal.md §4). ``--write-cli-token`` writes it, 0600, with this data dir's token; the file
also names the data dir (``localDataDir``, a key the CLI ignores), so the dashboard started
with that file and no other setting opens this local backend rather than sending the local
token to the hosted API. A file holding another token (a hosted login) is never overwritten
without ``--force``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pocketenv_tui.api.config import read_token_file, token_file_path, write_token_file
from pocketenv_tui.local.state.datadir import read_server_json
from pocketenv_tui.local.state.identity import load_or_create_identity

LOCAL_DATA_DIR_KEY = "localDataDir"


class TokenFileTaken(Exception):
    """The CLI's token file holds another token; ``str()`` says what to do."""


def server_url(data_dir: Path, fallback: str) -> str:
    """The URL of the live server of ``data_dir``, else ``fallback`` (where it would listen)."""
    live = read_server_json(data_dir)
    return live["url"] if live else fallback


def print_env_lines(data_dir: Path, url: str) -> list[str]:
    """``NAME=value`` lines of every variable the official clients read, for ``url``."""
    identity = load_or_create_identity(data_dir)
    return [
        f"POCKETENV_API_URL={url}",
        f"POCKETENV_TOKEN={identity.token}",
        f"POCKETENV_PUBLIC_KEY={identity.public_key}",
        f"POCKETENV_STORAGE_URL={url}",
        f"POCKETENV_CF_URL={url}",
        f"POCKETENV_PTY_URL={url}/pty",
        f"POCKETENV_TTY_URL={url}/tty",
    ]


def write_cli_token(data_dir: Path, *, force: bool = False, path: Path | None = None) -> Path:
    """Write the official CLI's token file for ``data_dir``; the path written."""
    target = path or token_file_path()
    identity = load_or_create_identity(data_dir)
    current = read_token_file(target)
    if current is not None and current != identity.token and not force:
        raise TokenFileTaken(
            f"{target} already holds another token (a hosted login?); move it away, or pass "
            "--force to replace it"
        )
    return write_token_file(target, identity.token, {LOCAL_DATA_DIR_KEY: str(data_dir.resolve())})


def local_data_dir_of_token_file(path: Path | None = None) -> Path | None:
    """The data dir a token file written by ``--write-cli-token`` names, if it names one."""
    try:
        data = json.loads((path or token_file_path()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get(LOCAL_DATA_DIR_KEY) if isinstance(data, dict) else None
    return Path(value) if isinstance(value, str) and value else None
