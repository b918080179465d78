"""Which terminal family a sandbox speaks, and the WebSocket URLs of each (reference/terminal.md).

The hosted API picks one of four families by ``sandbox.provider``:

``cf``  cloudflare (and the local backend's own ``local``): the Cloudflare worker's
        ``/v1/sandboxes/{id}/ws/terminal?t=&session=`` (binary frames). The hosted worker runs
        on a per-template host, ``sbx`` of the cf root replaced by the template; the local
        backend serves the route on its API URL.
``pty`` vercel, modal, e2b, hopx, runloop, blaxel (and anything unknown): ``{pty root}/{id}/ws
        ?token=&sessionId=`` (text frames).
``tty`` sprites: ``{tty root}/{id}/ws?token=&sessionId=``, framed as pty.
``ssh`` daytona, deno: ``POST {api}/ssh/connect`` makes a session (``ssh_sessions``), then
        ``{api}/ssh/{sessionId}/ws?token=`` (base64 text frames).

The roots come from :class:`~pocketenv_tui.api.config.ClientConfig` (``cf_url``, ``pty_url``,
``tty_url``, see ``config.resolve_terminal_urls``).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote, urlencode

from pocketenv_tui.api.config import DEFAULT_API_URL, DEFAULT_CF_URL

Family = Literal["cf", "pty", "tty", "ssh"]
FAMILIES: tuple[Family, ...] = ("cf", "pty", "tty", "ssh")

HOSTED_CF_URL = DEFAULT_CF_URL

_FAMILY_OF_PROVIDER: dict[str, Family] = {
    "cloudflare": "cf",
    "local": "cf",
    "sprites": "tty",
    "daytona": "ssh",
    "deno": "ssh",
    "vercel": "pty",
    "modal": "pty",
    "e2b": "pty",
    "hopx": "pty",
    "runloop": "pty",
    "blaxel": "pty",
}


def terminal_family(provider: str | None) -> Family:
    """The terminal family of a provider, as the official CLI and web app choose it.

    ``local`` (a sandbox of the local backend that asked for no provider) speaks cf, which
    replays recent output on re-attach. Unknown or missing providers get pty, the CLI's
    fallback too.
    """
    return _FAMILY_OF_PROVIDER.get((provider or "").strip().lower(), "pty")


def to_websocket_url(http_url: str) -> str:
    if http_url.startswith("https://"):
        return "wss://" + http_url.removeprefix("https://")
    if http_url.startswith("http://"):
        return "ws://" + http_url.removeprefix("http://")
    return http_url


def worker_root(cf_url: str, base_sandbox: str | None) -> str:
    """The worker host of a template: ``sbx`` in ``cf_url`` replaced by the template's name
    (``claude-code`` is spelt ``claudecode`` in host names), as the CLI does."""
    if not base_sandbox:
        return cf_url
    host = "claudecode" if base_sandbox == "claude-code" else base_sandbox
    return cf_url.replace("sbx", host, 1)


def hosted_worker_url(base_sandbox: str | None) -> str:
    """The hosted Cloudflare worker for a template."""
    return worker_root(HOSTED_CF_URL, base_sandbox)


def _with_query(url: str, query: dict[str, str | None]) -> str:
    encoded = urlencode({key: value for key, value in query.items() if value})
    return to_websocket_url(url) + (f"?{encoded}" if encoded else "")


def ssh_websocket_url(api_url: str, session_id: str, token: str | None) -> str:
    """``{api}/ssh/{sessionId}/ws?token=``: the WebSocket of a session ``POST /ssh/connect`` made."""
    return _with_query(f"{api_url.rstrip('/')}/ssh/{quote(session_id, safe='')}/ws", {"token": token})


def build_terminal_url(
    api_url: str,
    sandbox_id: str,
    token: str | None,
    *,
    dialect: Family = "cf",
    session: str | None = None,
    base_sandbox: str | None = None,
    cf_url: str | None = None,
    pty_url: str | None = None,
    tty_url: str | None = None,
) -> str:
    """The WebSocket URL of a sandbox's terminal in ``dialect``.

    Roots left out are the API's ``/pty`` and ``/tty``, and for cf the hosted worker when the
    API is the hosted one, else the API itself (callers with a resolved config pass its
    roots). For ssh, ``session`` must be the sessionId ``POST /ssh/connect`` answered.
    """
    api_url = api_url.rstrip("/")
    sandbox = quote(sandbox_id, safe="")
    if dialect in ("pty", "tty"):
        root = (pty_url if dialect == "pty" else tty_url) or f"{api_url}/{dialect}"
        return _with_query(f"{root.rstrip('/')}/{sandbox}/ws", {"token": token, "sessionId": session})
    if dialect == "cf":
        if cf_url is None:
            cf_url = HOSTED_CF_URL if api_url == DEFAULT_API_URL else api_url
        cf_url = cf_url.rstrip("/")
        # The API itself serves one route for every template; a worker root has one host each.
        root = cf_url if cf_url == api_url else worker_root(cf_url, base_sandbox)
        return _with_query(f"{root}/v1/sandboxes/{sandbox}/ws/terminal", {"t": token, "session": session})
    if dialect == "ssh":
        if not session:
            raise ValueError(
                "the ssh family needs the sessionId of POST /ssh/connect as session "
                "(PocketenvClient.ssh_opener makes and keeps one)"
            )
        return ssh_websocket_url(api_url, session, token)
    raise ValueError(f"unknown terminal dialect {dialect!r}; use one of {', '.join(FAMILIES)}")
