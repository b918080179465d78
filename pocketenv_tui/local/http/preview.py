"""Preview URLs: ``/preview/<capability-token>/...`` proxies HTTP to a sandbox's exposed port.

A browser opening a preview has no bearer header, so the unguessable token stored with the
port row is the credential. Sandboxes share the host's network namespace, so the target is
``127.0.0.1:<port>``. Unexposing the port (or deleting the sandbox) revokes the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from pocketenv_tui.local.backend import Backend

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Connection-scoped headers must not be forwarded by a proxy (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
})


def _forward_headers(headers: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "authorization"]


def preview_routes(backend: Backend, client: Callable[[], httpx.AsyncClient]) -> list[Route]:
    async def proxy(request: Request) -> Response:
        token = request.path_params["token"]
        row = await backend.db(backend.store.port_by_token, token)
        if row is None:
            return PlainTextResponse("Preview not found: this port is not exposed (any more).", status_code=404)
        if "path" not in request.path_params:
            return RedirectResponse(f"/preview/{token}/", status_code=307)
        if row["sandbox_status"] != "RUNNING":
            return PlainTextResponse("The sandbox is not running; start it to use this preview.", status_code=503)
        path = request.path_params["path"]
        url = f"http://127.0.0.1:{row['target_port']}/{path}"
        if request.url.query:
            url += "?" + request.url.query
        headers = _forward_headers(request.headers)
        headers.append(("host", f"127.0.0.1:{row['target_port']}"))
        headers.append(("x-forwarded-prefix", f"/preview/{token}"))
        has_body = request.method not in ("GET", "HEAD") and (
            request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
        )
        upstream_request = client().build_request(
            request.method, url, headers=headers, content=request.stream() if has_body else None,
        )
        try:
            upstream = await client().send(upstream_request, stream=True)
        except httpx.ConnectError:
            return PlainTextResponse(
                f"Nothing is listening on port {row['port']} in the sandbox.", status_code=502
            )
        except httpx.HTTPError as exc:
            return PlainTextResponse(f"The sandbox's server failed to answer: {exc.__class__.__name__}", status_code=502)
        response_headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
        response = StreamingResponse(
            upstream.aiter_raw(), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose),
        )
        # Keep repeated headers (Set-Cookie) and the upstream's own encoding untouched.
        response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response_headers]
        return response

    return [
        Route("/preview/{token}", proxy, methods=METHODS),
        Route("/preview/{token}/{path:path}", proxy, methods=METHODS),
    ]
