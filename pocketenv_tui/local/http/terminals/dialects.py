"""The families whose URL names the sandbox: pty and tty (text frames), cf (binary frames).

Each finds its shell by (sandbox named in the URL, session key from the query), starting one
when the key is new; see the package docs for the wire rules.
"""

from __future__ import annotations

import codecs
import contextlib
import json

from starlette.websockets import WebSocket, WebSocketDisconnect

from pocketenv_tui.local.http.terminals.common import (
    CLOSE_NORMAL,
    CLOSE_TRY_AGAIN,
    BadControl,
    Refused,
    Terminal,
    TextInput,
    close,
    int_param,
    parse_control,
)
from pocketenv_tui.local.sandbox.runtime import SandboxRuntimeError, shell_program
from pocketenv_tui.local.sandbox.shell_output import HIGH_WATER, Attachment
from pocketenv_tui.local.sandbox.shells import ShellLimitReached, ShellSession, valid_size


async def attach_shell(
    terminal: Terminal, sandbox_id: str, key: str, cols: int, rows: int
) -> tuple[ShellSession, Attachment, bool]:
    """The shell under ``key`` of a running sandbox, started if new; Refused saying why not."""
    if not terminal.runtime.is_running(sandbox_id):
        raise Refused("Sandbox is not running")
    try:
        return await terminal.runtime.shells.attach(sandbox_id, key, [shell_program(), "-i"], cols, rows)
    except ShellLimitReached as exc:
        raise Refused(str(exc), CLOSE_TRY_AGAIN) from None
    except SandboxRuntimeError as exc:
        raise Refused(str(exc)) from None
    except OSError as exc:
        raise Refused(f"could not start a shell: {exc.strerror or exc}") from None


class KeyedTerminal(Terminal):
    """A family whose URL names the sandbox (``{id}``) and whose query names the session key."""

    session_param = "sessionId"

    def default_key(self, sandbox_id: str) -> str:
        return sandbox_id

    async def open_shell(self, ws: WebSocket, did: str) -> tuple[ShellSession, Attachment, bool]:
        sandbox_id = await self.resolve(ws.path_params["id"], did)
        if sandbox_id is None:
            raise Refused("Sandbox not found")
        key = ws.query_params.get(self.session_param) or self.default_key(sandbox_id)
        cols, rows = int_param(ws, "cols", 80), int_param(ws, "rows", 24)
        return await attach_shell(self, sandbox_id, key, cols, rows)


class PtyTerminal(TextInput, KeyedTerminal):
    """The /pty and /tty text dialect."""

    async def on_attached(self, ws: WebSocket, session: ShellSession, attachment: Attachment, created: bool) -> None:
        ws.state.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        if not created:
            await session.write(b"\n")

    async def send_output(self, ws: WebSocket, chunk: bytes) -> None:
        text = ws.state.decoder.decode(chunk)
        if text:
            await ws.send_text(text)


class BinaryTerminal(KeyedTerminal):
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
        await close(ws, code, message)

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
        await close(ws, CLOSE_NORMAL, "exit")

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
