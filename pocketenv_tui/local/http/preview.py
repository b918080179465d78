"""Preview URLs: ``/preview/<capability-token>/...`` proxies HTTP to a sandbox's exposed port.

A browser opening a preview has no bearer header, so the unguessable token stored with the
port row is the credential. Each sandbox has its own network namespace, so its servers are
not on the host's loopback: the sandbox's agent opens the connection inside the sandbox
(to its 127.0.0.1, or ::1) and hands the socket over. The request is written to it and the
answer read back with h11, streaming both ways. Whatever the sandbox's server answers is
the sandbox's: h11 bounds the header size and refuses malformed framing (a 502 here).
Unexposing the port (or deleting the sandbox) revokes the URL.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import h11
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Connection-scoped headers must not be forwarded by a proxy (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "host", "content-length",
})
READ_CHUNK = 64 * 1024
ANSWER_TIMEOUT = 300.0


def _forward_headers(headers: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "authorization"]


class _Upstream:
    """One HTTP/1.1 exchange over a socket connected inside the sandbox."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.conn = h11.Connection(h11.CLIENT)

    async def send(self, event: Any) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def next_event(self) -> Any:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            chunk = await asyncio.wait_for(self.reader.read(READ_CHUNK), ANSWER_TIMEOUT)
            self.conn.receive_data(chunk)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ConnectionError):
            await self.writer.wait_closed()


def preview_routes(backend: Backend) -> list[Route]:
    async def proxy(request: Request) -> Response:
        token = request.path_params["token"]
        row = await backend.db(backend.store.port_by_token, token)
        if row is None:
            return PlainTextResponse("Preview not found: this port is not exposed (any more).", status_code=404)
        if "path" not in request.path_params:
            return RedirectResponse(f"/preview/{token}/", status_code=307)
        if row["sandbox_status"] != "RUNNING" or not backend.runtime.is_running(row["sandbox_id"]):
            return PlainTextResponse("The sandbox is not running; start it to use this preview.", status_code=503)
        try:
            sock = await backend.runtime.connect(row["sandbox_id"], row["target_port"])
        except SandboxRuntimeError as exc:
            if "refused" in str(exc).lower():
                return PlainTextResponse(f"Nothing is listening on port {row['port']} in the sandbox.", status_code=502)
            return PlainTextResponse(f"Could not reach port {row['port']} in the sandbox: {exc}", status_code=502)
        reader, writer = await asyncio.open_connection(sock=sock)
        upstream = _Upstream(reader, writer)
        try:
            response = await _exchange(request, upstream, row, token)
        except (h11.ProtocolError, OSError, ConnectionError, TimeoutError) as exc:
            await upstream.close()
            return PlainTextResponse(f"The sandbox's server failed to answer: {exc.__class__.__name__}", status_code=502)
        except BaseException:
            await upstream.close()
            raise
        return response

    return [
        Route("/preview/{token}", proxy, methods=METHODS),
        Route("/preview/{token}/{path:path}", proxy, methods=METHODS),
    ]


async def _exchange(request: Request, upstream: _Upstream, row: dict[str, Any], token: str) -> Response:
    target = "/" + request.path_params["path"]
    if request.url.query:
        target += "?" + request.url.query
    headers = _forward_headers(request.headers)
    headers += [("host", f"127.0.0.1:{row['target_port']}"), ("x-forwarded-prefix", f"/preview/{token}"),
                ("connection", "close")]
    length = request.headers.get("content-length")
    chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
    has_body = request.method not in ("GET", "HEAD") and ((length not in (None, "0")) or chunked)
    if has_body:
        headers.append(("content-length", length) if length is not None and not chunked else ("transfer-encoding", "chunked"))
    await upstream.send(h11.Request(method=request.method, target=target, headers=headers))
    if has_body:
        async for chunk in request.stream():
            if chunk:
                await upstream.send(h11.Data(data=chunk))
    await upstream.send(h11.EndOfMessage())
    event = await upstream.next_event()
    while isinstance(event, h11.InformationalResponse):
        event = await upstream.next_event()
    if not isinstance(event, h11.Response):
        raise h11.RemoteProtocolError("no response")
    response_headers = [
        (k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers if k.decode("latin-1").lower() not in HOP_BY_HOP
    ]

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                part = await upstream.next_event()
                if isinstance(part, h11.Data):
                    yield bytes(part.data)
                elif isinstance(part, h11.EndOfMessage | h11.ConnectionClosed):
                    return
        except (h11.ProtocolError, OSError, ConnectionError, TimeoutError):
            return  # the sandbox's server broke off: end the body here
        finally:
            await upstream.close()

    response = StreamingResponse(body(), status_code=event.status_code)
    # Keep repeated headers (Set-Cookie) and the upstream's own encoding untouched.
    response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response_headers]
    return response
