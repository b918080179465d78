"""What every terminal family of the local backend shares: tokens, control frames, the pump.

:class:`Terminal` runs one WebSocket against one shell of the runtime's registry: it checks
the token, lets the family find or start the shell (:meth:`Terminal.open_shell`), then pumps
output to the client only as fast as the client takes it and hands the client's frames to the
family's hooks. Families differ only in those hooks (how output is framed, what a text frame
means, how the end is reported), see ``dialects`` and ``ssh``.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from pocketenv_tui.local.http.xrpc import find_lone_surrogate, nesting_exceeds
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime
from pocketenv_tui.local.sandbox.shell_output import Attachment
from pocketenv_tui.local.sandbox.shells import ShellSession

TokenVerifier = Callable[[str | None], str | None]
SandboxResolver = Callable[[str, str], Awaitable[str | None]]

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_ERROR = 1011
CLOSE_TRY_AGAIN = 1013
MAX_CLOSE_REASON = 123  # bytes of UTF-8 a close frame can carry (RFC 6455 §5.5)

# A resize is about 40 bytes and one level deep; control frames beyond these are refused
# unparsed (binary dialect) or typed as input (text dialects).
MAX_CONTROL_BYTES = 4096
MAX_CONTROL_DEPTH = 4


class Refused(Exception):
    """The terminal cannot be opened; the message goes to the client with ``code``."""

    def __init__(self, message: str, code: int = CLOSE_ERROR) -> None:
        super().__init__(message)
        self.code = code


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if there is one."""
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def int_param(ws: WebSocket, name: str, default: int) -> int:
    try:
        value = int(ws.query_params.get(name, default))
    except ValueError:
        return default
    return value if 0 < value <= 1000 else default


class BadControl(ValueError):
    """A text frame that is not a usable control message; the text says why."""


def parse_control(text: str) -> dict[str, object]:
    """The JSON object in a control frame; BadControl saying why it is not one.

    Size and nesting are checked before parsing, so no frame reaches the parser's recursion.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONTROL_BYTES:
        raise BadControl(f"Invalid control message: {size} bytes, at most {MAX_CONTROL_BYTES}")
    if nesting_exceeds(text, MAX_CONTROL_DEPTH):
        raise BadControl(f"Invalid control message: nested deeper than {MAX_CONTROL_DEPTH} levels")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise BadControl("Invalid control message: not JSON") from None
    if not isinstance(message, dict):
        raise BadControl("Invalid control message: must be a JSON object")
    if (problem := find_lone_surrogate(message, "message")) is not None:
        raise BadControl(f"Invalid control message: {problem}")
    return message


def parse_resize(text: str) -> tuple[int, int] | None:
    """(cols, rows) if ``text`` is a JSON resize message, else None (then it is typed)."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        message = parse_control(text)
    except BadControl:
        return None
    if message.get("type") == "resize":
        cols, rows = message.get("cols"), message.get("rows")
        if isinstance(cols, int) and isinstance(rows, int):
            return cols, rows
    return None


def close_reason(text: str) -> str:
    """``text`` cut to what a close frame can carry."""
    data = text.encode("utf-8")
    if len(data) <= MAX_CLOSE_REASON:
        return text
    return data[: MAX_CLOSE_REASON - 3].decode("utf-8", "ignore") + "..."


async def close(ws: WebSocket, code: int, reason: str) -> None:
    """Close ``ws`` unless the client already went; a vanished client is no error."""
    if ws.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await ws.close(code, close_reason(reason))


class Terminal(abc.ABC):
    """Shared steps of every family; subclasses say how shells are found and frames look."""

    token_param = "token"

    def __init__(self, runtime: SandboxRuntime, verify_token: TokenVerifier, resolve: SandboxResolver) -> None:
        self.runtime = runtime
        self.verify_token = verify_token
        self.resolve = resolve

    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            did = self.authenticate(ws)
            session, attachment, created = await self.open_shell(ws, did)
        except Refused as refused:
            await self.refuse(ws, str(refused), refused.code)
            return
        try:
            ws.state.attachment = attachment
            await self.on_attached(ws, session, attachment, created)
            if not created:
                session.request_redraw()
            await self._run(ws, session, attachment)
        finally:
            session.detach(attachment)

    def authenticate(self, ws: WebSocket) -> str:
        """The DID the socket's token speaks for; Refused (1008) without a valid one."""
        token = ws.query_params.get(self.token_param) or bearer(ws.headers)
        did = self.verify_token(token) if token else None
        if not did:
            raise Refused("Invalid token", CLOSE_POLICY)
        return did

    @abc.abstractmethod
    async def open_shell(self, ws: WebSocket, did: str) -> tuple[ShellSession, Attachment, bool]:
        """The shell this socket is for, attached; True as third item if it was just started."""

    async def _run(self, ws: WebSocket, session: ShellSession, attachment: Attachment) -> None:
        pump = asyncio.create_task(self._pump(ws, session, attachment))
        reader = asyncio.create_task(self._read(ws, session))
        done, pending = await asyncio.wait({pump, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            # A client that vanished mid-send is the normal way for a session to end.
            if not task.cancelled() and task.exception() is not None:
                if not isinstance(task.exception(), WebSocketDisconnect | RuntimeError | OSError):
                    raise task.exception()  # type: ignore[misc]

    async def _pump(self, ws: WebSocket, session: ShellSession, attachment: Attachment) -> None:
        while True:
            chunk = await attachment.take()
            if chunk is None:
                break
            await self.send_output(ws, chunk)  # returns once the write buffer drained
            attachment.sent(len(chunk))
        if attachment.overflowed and session.exit_code is None:
            await close(ws, CLOSE_TRY_AGAIN, "Output backlog too large; reconnect to resume")
        else:
            await self.on_exit(ws, session.exit_code if session.exit_code is not None else -1)

    async def _read(self, ws: WebSocket, session: ShellSession) -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await self.on_bytes(ws, session, message["bytes"])
            elif message.get("text") is not None:
                await self.on_text(ws, session, message["text"])

    # -- family hooks -----------------------------------------------------------------------

    async def refuse(self, ws: WebSocket, message: str, code: int) -> None:
        await close(ws, code, message)

    @abc.abstractmethod
    async def on_attached(
        self, ws: WebSocket, session: ShellSession, attachment: Attachment, created: bool
    ) -> None: ...

    @abc.abstractmethod
    async def send_output(self, ws: WebSocket, chunk: bytes) -> None: ...

    async def on_exit(self, ws: WebSocket, code: int) -> None:
        await close(ws, CLOSE_NORMAL, "exit")

    async def on_bytes(self, ws: WebSocket, session: ShellSession, data: bytes) -> None:
        await session.write(data)

    async def on_text(self, ws: WebSocket, session: ShellSession, text: str) -> None:
        await session.write(text.encode("utf-8"))


class TextInput:
    """The text dialects' input rule (pty, tty, ssh): a small JSON resize resizes, the rest is typed.

    Only a small, shallow JSON object is even tried as a resize, so no frame can make the
    server spend more than a bounded effort or end the session; anything else is keystrokes.
    """

    async def on_text(self, ws: WebSocket, session: ShellSession, text: str) -> None:
        size = parse_resize(text)
        if size is not None:
            session.resize(*size)
        else:
            await session.write(text.encode("utf-8"))
