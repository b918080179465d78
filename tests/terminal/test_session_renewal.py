"""An ssh session the server no longer knows: the input typed into it is not lost.

The server here accepts the WebSocket, reads what the client sends and only then closes with
1011 "Session not found", the order a loaded server produces. Nothing on that socket reached a
shell, so it must arrive on the renewed session; input a live shell already read must not be
sent twice.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator

from websockets.asyncio.server import ServerConnection

from pocketenv_tui.terminal.session import SessionState, TerminalSession
from tests.terminal.test_session import Recorder, ws_server


def is_resize(message: str | bytes) -> bool:
    return isinstance(message, str) and message.startswith('{"type": "resize"')


class SshServer:
    """Two ssh sessions: ``stale`` (unknown to the server) and ``fresh`` (an echoing shell)."""

    def __init__(self, *, stale_reads_input: bool) -> None:
        self.stale_reads_input = stale_reads_input
        self.stale_got: list[str] = []
        self.fresh_got: list[str] = []
        self.stale_opens = 0

    async def handler(self, ws: ServerConnection) -> None:
        if "/ssh/stale/" in ws.request.path:
            self.stale_opens += 1
            if self.stale_opens > 1:
                ws.transport.abort()
                return
            async for message in ws:
                if is_resize(message):
                    continue
                self.stale_got.append(str(message))
                if self.stale_reads_input:
                    # A shell that read the input says something, then the link breaks.
                    await ws.send(base64.b64encode(b"read it\r\n").decode())
                    ws.transport.close()  # flushed, then no close frame: a dropped link
                else:
                    await ws.close(1011, "Session not found")
                return
            return
        await ws.send(base64.b64encode(b"$ ").decode())
        async for message in ws:
            if is_resize(message):
                continue
            self.fresh_got.append(str(message))
            await ws.send(base64.b64encode(f"echo:{message}".encode()).decode())


class Typed:
    """A session on ``server`` whose opener names the stale session first and the fresh one
    when asked to renew; ``text`` is typed before anything is open."""

    def __init__(self, server: SshServer, text: bytes) -> None:
        self.server = server
        self.text = text
        self.calls: list[bool] = []  # the opener's renew argument, call by call
        self.rec = Recorder()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TerminalSession]:
        async def opener(*, renew: bool, size: tuple[int, int]) -> str:
            self.calls.append(renew)
            return f"{url}/ssh/{'fresh' if renew else 'stale'}/ws"

        async with ws_server(self.server.handler) as url:
            session = TerminalSession(
                None, "ssh", opener=opener, on_output=self.rec.on_output, on_status=self.rec.on_status,
                backoff_base=0.05,
            )
            self.task = session.start()
            session.send_input(self.text)
            try:
                yield session
            finally:
                await session.close()
                self.final = await asyncio.wait_for(self.task, 10)


async def test_input_sent_to_a_session_the_server_did_not_have_goes_to_the_new_one() -> None:
    server = SshServer(stale_reads_input=False)
    typed = Typed(server, b"echo typed-first\n")
    async with typed.running() as session:
        await typed.rec.until(lambda: b"echo:echo typed-first\n" in typed.rec.output)

    assert server.stale_got == ["echo typed-first\n"]  # the stale socket took it, and dropped it
    assert server.fresh_got == ["echo typed-first\n"]  # it arrived once, on the new session
    assert typed.calls == [False, True] and session.renewals == 1
    assert session.pending_input == 0
    assert any("no longer knew" in s.message for s in typed.rec.statuses)


async def test_input_a_live_shell_read_is_not_sent_again_after_a_drop() -> None:
    server = SshServer(stale_reads_input=True)
    typed = Typed(server, b"rm -r build\n")
    async with typed.running() as session:
        await typed.rec.until(lambda: b"read it" in typed.rec.output and server.stale_opens >= 3)

    assert server.stale_got == ["rm -r build\n"]
    assert server.fresh_got == []  # not renewed: the server knew the session
    assert set(typed.calls) == {False} and len(typed.calls) >= 3  # the same session again, never a new one
    assert session.renewals == 0
    assert typed.final.state is SessionState.CLOSED
    assert session.pending_input == 0
