"""The local backend behind a real HTTP proxy on loopback, to stand in for the hosted API's
behaviours the backend does not have: a method it lacks (501), or a change it stores and then
answers 5xx for (the hosted server writes the row, then fails mirroring it).

``before(request)`` may answer instead of the backend; ``after(request, answer)`` may replace
the backend's answer once the request was forwarded. Both return None to pass.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "upgrade"}
Before = Callable[[Request], Response | None]
After = Callable[[Request, httpx.Response], Response | None]

def xrpc_method(request: Request) -> str:
    """``sandbox.stopSandbox`` for ``/xrpc/io.pocketenv.sandbox.stopSandbox``."""
    return request.url.path.removeprefix("/xrpc/").removeprefix("io.pocketenv.")

def server_error(message: str = "Internal Server Error") -> Response:
    return JSONResponse({"error": "InternalServerError", "message": message}, status_code=500)

class BackendProxy:
    def __init__(self, upstream: str, *, before: Before | None = None, after: After | None = None) -> None:
        self.upstream = upstream
        self.before = before
        self.after = after
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST", "DELETE"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def forward(self, request: Request) -> Response:
        if self.before is not None and (answer := self.before(request)) is not None:
            return answer
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with httpx.AsyncClient(base_url=self.upstream, timeout=600) as upstream:
            answer = await upstream.request(
                request.method, request.url.path, params=request.query_params, content=await request.body(), headers=headers
            )
        if self.after is not None and (replaced := self.after(request, answer)) is not None:
            return replaced
        return Response(answer.content, status_code=answer.status_code, media_type=answer.headers.get("content-type"))

    def __enter__(self) -> BackendProxy:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            threading.Event().wait(0.05)
        raise RuntimeError("the proxy did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
