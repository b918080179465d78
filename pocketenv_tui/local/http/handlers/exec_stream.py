"""``io.pocketenv.sandbox.execStream``: exec whose output arrives while the command runs.

A local-backend extension (the hosted API answers 501 ``MethodNotImplemented``, and clients
fall back to ``sandbox.exec``, which stays as it was). Same params and input as
``sandbox.exec`` (``?id``, ``{command, timeout?}``) and the same checks, all made before the
command starts, so every refusal is an ordinary XRPC error. The answer is
``application/x-ndjson``, one JSON object a line:

- ``{"stream": "stdout"|"stderr", "data": "..."}``: output, in the order it was read, as UTF-8
  text (bytes that are not UTF-8 become U+FFFD);
- ``{"heartbeat": seconds}``: nothing was sent for ``HEARTBEAT_SECONDS``; the command runs on;
- last, ``{"exitCode": n, "timedOut": bool, "timeLimit": seconds}``; a command the time limit
  killed has exit code 124 and ``timedOut`` true.

Why a chunked HTTP answer rather than a WebSocket: it goes through the same route, token
check and input rules as every other call, any HTTP client can read it, and cancelling needs
no protocol of its own: the client closes the connection and the command is killed (its
process group and every descendant), exactly as when a plain exec's caller goes away.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http.handlers.sandboxes import NS, exec_request
from pocketenv_tui.local.http.xrpc import Call, Method, Param
from pocketenv_tui.local.sandbox.exec import StreamedRun

MEDIA_TYPE = "application/x-ndjson"


def encode_event(event: dict[str, Any]) -> bytes:
    # JSON escapes every control character, so an event is always exactly one line.
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


class ExecEventStream(Response):
    """The events of one :class:`StreamedRun`; the run is closed however the answer ends.

    Leaving is noticed while the command is quiet too: a task waits for the client's
    ``http.disconnect`` and cancels the sending, whatever ASGI version the server speaks.
    """

    media_type = MEDIA_TYPE

    def __init__(self, run: StreamedRun) -> None:
        # No body and so no Content-Length: the server sends the answer chunked.
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-store", "x-content-type-options": "nosniff"})
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            with contextlib.suppress(OSError):  # the client went away while we sent
                async with anyio.create_task_group() as group:
                    group.start_soon(self._watch_disconnect, receive, group.cancel_scope)
                    await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
                    async with contextlib.aclosing(self.run.events()) as events:
                        async for event in events:
                            await send({"type": "http.response.body", "body": encode_event(event), "more_body": True})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self.run.close()

    @staticmethod
    async def _watch_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope.cancel()
                return


def methods(b: Backend) -> list[Method]:
    async def exec_stream(c: Call) -> Response:
        command, timeout = exec_request(c.input)
        row = await b.running_sandbox(c.params["id"], c.did)
        run = await b.runtime.exec_streamed(row["id"], command, timeout)
        return ExecEventStream(run)

    return [Method(NS + "sandbox.execStream", "POST", exec_stream, (Param("id", required=True),), has_input=True)]
