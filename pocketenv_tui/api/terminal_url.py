"""WebSocket URLs of a sandbox's terminal, for both dialects in reference/terminal.md.

``pty``: the API's ``/pty/{id}/ws?token=&sessionId=`` route (text frames).
``cf``: the Cloudflare worker's ``/v1/sandboxes/{id}/ws/terminal?t=&session=`` route (binary
frames). The hosted service runs that worker on a per-template host
(``https://<template>.pocketenv.io``); a self-hosted or local API serves it itself.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote, urlencode

from pocketenv_tui.api.config import DEFAULT_API_URL

Dialect = Literal["cf", "pty"]

HOSTED_CF_URL = "https://sbx.pocketenv.io"


def to_websocket_url(http_url: str) -> str:
    if http_url.startswith("https://"):
        return "wss://" + http_url.removeprefix("https://")
    if http_url.startswith("http://"):
        return "ws://" + http_url.removeprefix("http://")
    return http_url


def hosted_worker_url(base_sandbox: str | None) -> str:
    """The Cloudflare worker for a template: ``sbx`` replaced by the template's host name."""
    if not base_sandbox:
        return HOSTED_CF_URL
    host = "claudecode" if base_sandbox == "claude-code" else base_sandbox
    return HOSTED_CF_URL.replace("sbx", host, 1)


def build_terminal_url(
    api_url: str,
    sandbox_id: str,
    token: str | None,
    *,
    dialect: Dialect = "cf",
    session: str | None = None,
    base_sandbox: str | None = None,
) -> str:
    api_url = api_url.rstrip("/")
    sandbox = quote(sandbox_id, safe="")
    if dialect == "pty":
        query = {"token": token, "sessionId": session}
        url = f"{api_url}/pty/{sandbox}/ws"
    elif dialect == "cf":
        query = {"t": token, "session": session}
        root = hosted_worker_url(base_sandbox) if api_url == DEFAULT_API_URL else api_url
        url = f"{root}/v1/sandboxes/{sandbox}/ws/terminal"
    else:
        raise ValueError(f"unknown terminal dialect {dialect!r}; use 'cf' or 'pty'")
    encoded = urlencode({key: value for key, value in query.items() if value})
    return to_websocket_url(url) + (f"?{encoded}" if encoded else "")
