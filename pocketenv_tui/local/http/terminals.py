"""The terminal WebSockets of the local backend: two dialects over the same PTY shells.

``/pty/{id}/ws`` (text dialect, like the hosted API's /pty)
    Token: ``?token=`` or ``Authorization: Bearer``. Session key: ``?sessionId=``, default the
    sandbox id (so every client of a sandbox shares one shell, as upstream does). Client text
    frames that are JSON ``{"type":"resize","cols":C,"rows":R}`` resize the PTY; any other
    frame (text, or binary taken as raw bytes) is keyboard input. The server sends output as
    text frames, decoded as UTF-8 across frame boundaries (a character split between two
    reads is never mangled). No replay: re-attaching to a live shell gets a ``\\n`` typed
    into it so the prompt is drawn again. Shell exit closes with 1000 "exit"; failures close
    with 1011 and the reason; a bad token with 1008 "Invalid token".

``/v1/sandboxes/{id}/ws/terminal`` (binary dialect, like the Cloudflare sandbox)
    Token: ``?t=`` or ``Authorization: Bearer``. Session key: ``?session=``, default
    ``sandbox-<id>``. Optional ``?cols=&rows=`` for the size of a new shell. On open the
    server sends the replay (the last 256 KiB of output, one binary frame, only if there is
    any) and then ``{"type":"ready"}``. Output is binary frames of raw PTY bytes; keyboard
    input must be binary frames; text frames are JSON control messages (only resize), and
    anything else gets ``{"type":"error","message":...}``. When the shell ends the server sends
    ``{"type":"exit","code":n}`` and closes with 1000. Errors (bad token, unknown or stopped
    sandbox) are an ``error`` status followed by a close.

Flow control (both): output is read from the PTY only as fast as the client takes it (see
``shells``): a frame carries at most 64 KiB, the next is sent once the socket's write buffer
drained, and above a high watermark of unsent or unprocessed bytes the PTY is no longer read,
so the program blocks as under a real terminal. A binary-dialect client may go further and
acknowledge what it has *processed*: it asks with ``?flow=ack``, the server confirms with
``"flow":"ack"`` in ``ready``, and the client then sends ``{"type":"ack","bytes":n}`` for every
n bytes of output (the replay included) it has dealt with. The server then keeps at most a
window of 256 KiB unacknowledged, which bounds what is still on its way after a ctrl+C no
matter how large the sockets' kernel buffers are. Clients that never ask (the official CLI,
the upstream worker's clients) are unaffected.

Re-attaching to a live shell whose program is on the alternate screen makes that program
redraw (see ``ShellSession.request_redraw``).

Both: no answer of any kind without a valid token (the login token, or a terminal token from
``actor.getTerminalToken``), and a session key only ever reaches a shell of the sandbox named
in the URL, which must belong to the token's owner.

Hostile frames never end a session. In the text dialect only a small, shallow JSON object is
even tried as a resize (``MAX_CONTROL_BYTES``, ``MAX_CONTROL_DEPTH``); anything else is typed.
In the binary dialect every text frame that is not a valid resize gets an ``error`` status
naming what is wrong (too large, too deep, not JSON, not an object, lone surrogate, unknown
type, bad size) and the session goes on.

At most ``max_shells`` shells live per sandbox (``POCKETENV_MAX_SHELLS`` or ``serve
--max-shells``, default 8; the runtime's shell registry counts them, shells being started
included). Shells whose clients left count until their grace period ends. Re-attaching to a
live session key is always allowed; a new key over the cap is refused with close code 1013
(try again later), after an ``error`` status in the binary dialect.
"""

from __future__ import annotations

import abc
import asyncio
import codecs
import contextlib
import json
from collections.abc import Awaitable, Callable

from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from pocketenv_tui.local.http.xrpc import find_lone_surrogate, nesting_exceeds
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime, SandboxRuntimeError, shell_program
from pocketenv_tui.local.sandbox.shell_output import HIGH_WATER, Attachment
from pocketenv_tui.local.sandbox.shells import ShellLimitReached, ShellSession, valid_size

TokenVerifier = Callable[[str | None], str | None]
SandboxResolver = Callable[[str, str], Awaitable[str | None]]

CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_ERROR = 1011
CLOSE_TRY_AGAIN = 1013
MAX_CLOSE_REASON = 123  # bytes of UTF-8 a close frame can carry (RFC 6455 §5.5)

# A resize is about 40 bytes and one level deep; control frames beyond these are refused
# unparsed (binary dialect) or typed as input (text dialect).
MAX_CONTROL_BYTES = 4096
MAX_CONTROL_DEPTH = 4

class _Refused(Exception):
    def __init__(self, message: str, code: int = CLOSE_ERROR) -> None:
        super().__init__(message)
        self.code = code


def _bearer(ws: WebSocket) -> str | None:
    header = ws.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _int_param(ws: WebSocket, name: str, default: int) -> int:
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


def _parse_resize(text: str) -> tuple[int, int] | None:
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


def _close_reason(text: str) -> str:
    """``text`` cut to what a close frame can carry."""
    data = text.encode("utf-8")
    if len(data) <= MAX_CLOSE_REASON:
        return text
    return data[: MAX_CLOSE_REASON - 3].decode("utf-8", "ignore") + "..."


class _Terminal(abc.ABC):
    """Shared steps of both dialects; subclasses say how frames look."""

    token_param = "token"
    session_param = "sessionId"

    def __init__(self, runtime: SandboxRuntime, verify_token: TokenVerifier, resolve: SandboxResolver) -> None:
        self.runtime = runtime
        self.verify_token = verify_token
        self.resolve = resolve

    def default_key(self, sandbox_id: str) -> str:
        return sandbox_id

    async def serve(self, ws: WebSocket) -> None:
        await ws.accept()
        try:
            session, attachment, created = await self._open(ws)
        except _Refused as refused:
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

    async def _open(self, ws: WebSocket) -> tuple[ShellSession, Attachment, bool]:
        token = ws.query_params.get(self.token_param) or _bearer(ws)
        did = self.verify_token(token) if token else None
        if not did:
            raise _Refused("Invalid token", CLOSE_POLICY)
        sandbox_id = await self.resolve(ws.path_params["id"], did)
        if sandbox_id is None:
            raise _Refused("Sandbox not found")
        if not self.runtime.is_running(sandbox_id):
            raise _Refused("Sandbox is not running")
        key = ws.query_params.get(self.session_param) or self.default_key(sandbox_id)
        cols, rows = _int_param(ws, "cols", 80), _int_param(ws, "rows", 24)
        try:
            return await self.runtime.shells.attach(sandbox_id, key, [shell_program(), "-i"], cols, rows)
        except ShellLimitReached as exc:
            raise _Refused(str(exc), CLOSE_TRY_AGAIN) from None
        except SandboxRuntimeError as exc:
            raise _Refused(str(exc)) from None
        except OSError as exc:
            raise _Refused(f"could not start a shell: {exc.strerror or exc}") from None

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
            await self._close(ws, CLOSE_TRY_AGAIN, "Output backlog too large; reconnect to resume")
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

    @staticmethod
    async def _close(ws: WebSocket, code: int, reason: str) -> None:
        if ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                await ws.close(code, _close_reason(reason))

    # -- dialect hooks ----------------------------------------------------------------------

    async def refuse(self, ws: WebSocket, message: str, code: int) -> None:
        await self._close(ws, code, message)

    @abc.abstractmethod
    async def on_attached(
        self, ws: WebSocket, session: ShellSession, attachment: Attachment, created: bool
    ) -> None: ...

    @abc.abstractmethod
    async def send_output(self, ws: WebSocket, chunk: bytes) -> None: ...

    async def on_exit(self, ws: WebSocket, code: int) -> None:
        await self._close(ws, CLOSE_NORMAL, "exit")

    async def on_bytes(self, ws: WebSocket, session: ShellSession, data: bytes) -> None:
        await session.write(data)

    async def on_text(self, ws: WebSocket, session: ShellSession, text: str) -> None:
        await session.write(text.encode("utf-8"))


class PtyTerminal(_Terminal):
    """The /pty text dialect."""

    async def on_attached(self, ws: WebSocket, session: ShellSession, attachment: Attachment, created: bool) -> None:
        ws.state.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        if not created:
            await session.write(b"\n")

    async def send_output(self, ws: WebSocket, chunk: bytes) -> None:
        text = ws.state.decoder.decode(chunk)
        if text:
            await ws.send_text(text)

    async def on_text(self, ws: WebSocket, session: ShellSession, text: str) -> None:
        size = _parse_resize(text)
        if size is not None:
            session.resize(*size)
        else:
            await session.write(text.encode("utf-8"))


class BinaryTerminal(_Terminal):
    """The Cloudflare-style binary dialect with JSON status messages."""

    token_param = "t"
    session_param = "session"

    def default_key(self, sandbox_id: str) -> str:
        return f"sandbox-{sandbox_id}"

    @staticmethod
    async def _status(ws: WebSocket, **message: object) -> None:
        await ws.send_text(json.dumps(message))

    async def refuse(self, ws: WebSocket, message: str, code: int) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await self._status(ws, type="error", message=message)
        await self._close(ws, code, message)

    async def on_attached(self, ws: WebSocket, session: ShellSession, attachment: Attachment, created: bool) -> None:
        acks = ws.query_params.get("flow") == "ack"
        if acks:
            attachment.expect_acks(len(attachment.replay))
        if attachment.replay:
            await ws.send_bytes(attachment.replay)
        if acks:
            await self._status(ws, type="ready", flow="ack", window=HIGH_WATER)
        else:
            await self._status(ws, type="ready")

    async def send_output(self, ws: WebSocket, chunk: bytes) -> None:
        await ws.send_bytes(chunk)

    async def on_exit(self, ws: WebSocket, code: int) -> None:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
            await self._status(ws, type="exit", code=code)
        await self._close(ws, CLOSE_NORMAL, "exit")

    async def on_text(self, ws: WebSocket, session: ShellSession, text: str) -> None:
        try:
            message = parse_control(text)
        except BadControl as exc:
            await self._status(ws, type="error", message=str(exc))
            return
        kind = message.get("type")
        if kind == "ack":
            count = message.get("bytes")
            if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                ws.state.attachment.acknowledge(count)
            else:
                await self._status(ws, type="error", message="Invalid ack: bytes must be a whole number")
            return
        if kind != "resize":
            await self._status(ws, type="error", message="Invalid control message: only resize and ack are supported")
            return
        cols, rows = message.get("cols"), message.get("rows")
        if not valid_size(cols, rows):
            await self._status(ws, type="error", message="Invalid dimensions: cols and rows must be 1-1000")
            return
        session.resize(cols, rows)  # type: ignore[arg-type]


def terminal_routes(
    runtime: SandboxRuntime, verify_token: TokenVerifier, resolve_sandbox: SandboxResolver
) -> list[BaseRoute]:
    """Starlette routes for both terminal dialects (see the module docs).

    ``verify_token`` decides who may open a terminal (the app passes
    ``Identity.verify_terminal_token``, which also takes terminal tokens).
    """
    pty = PtyTerminal(runtime, verify_token, resolve_sandbox)
    binary = BinaryTerminal(runtime, verify_token, resolve_sandbox)
    return [
        WebSocketRoute("/pty/{id}/ws", pty.serve),
        WebSocketRoute("/v1/sandboxes/{id}/ws/terminal", binary.serve),
    ]
