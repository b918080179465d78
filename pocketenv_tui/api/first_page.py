"""The caller's sandboxes in one blocking standard-library request, for a program's first paint.

Loading httpx, httpcore and anyio takes over a tenth of a second, longer than the local backend
takes to answer. The dashboard paints its first list from this and loads the real client in the
background. Anything out of the ordinary (no DID in the token, an error status, more than one
page, a body that does not parse) gives None: the caller then asks :class:`PocketenvClient`,
whose errors say what went wrong.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor

from pocketenv_tui import __version__
from pocketenv_tui.api.models import Sandbox, SandboxPage
from pocketenv_tui.api.tokens import did_from_token

PAGE_SIZE = 100


def fetch_first_page(api_url: str, token: str | None, *, timeout: float = 5.0) -> list[Sandbox] | None:
    """Every sandbox of the token's owner if they fit in one page, else None."""
    did = did_from_token(token)
    parts = urllib.parse.urlsplit(api_url)
    if did is None or parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    query = urllib.parse.urlencode({"did": did, "limit": PAGE_SIZE, "offset": 0})
    path = f"{parts.path.rstrip('/')}/xrpc/io.pocketenv.actor.getActorSandboxes?{query}"
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(
            "GET",
            path,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": f"pocketenv-tui/{__version__}",
            },
        )
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            return None
        page = SandboxPage.from_json(json.loads(body))
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        connection.close()
    if len(page.sandboxes) >= PAGE_SIZE or (page.total is not None and page.total > len(page.sandboxes)):
        return None
    return page.sandboxes


def start_first_page(api_url: str, token: str | None) -> Future[list[Sandbox] | None]:
    """:func:`fetch_first_page` in a thread of its own, started now (before the caller goes on
    to import its UI, say); the future's result is that function's."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="first-page")
    try:
        return executor.submit(fetch_first_page, api_url, token)
    finally:
        executor.shutdown(wait=False)


def load_client_modules() -> None:
    """Import what :class:`PocketenvClient` and its first request need (run it in a thread
    while the first page is on screen, so the client is quick to make afterwards)."""
    import anyio  # noqa: F401  httpx's asyncio transport loads it on the first request

    import pocketenv_tui.api.client  # noqa: F401
