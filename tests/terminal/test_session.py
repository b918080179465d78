"""TerminalSession against small real WebSocket servers speaking each dialect (no mocks)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.server import ServerConnection, serve

from pocketenv_tui.terminal.session import (
    SessionState,
    SessionStatus,
    TerminalSession,
    replay_overlap,
)

Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def ws_server(handler: Handler, **kwargs) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, **kwargs) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


class Recorder:
    """Collects what a session reports, with awaitable conditions."""

    def __init__(self) -> None:
        self.output = bytearray()
        self.statuses: list[SessionStatus] = []
        self._changed = asyncio.Event()

    def on_output(self, data: bytes) -> None:
        self.output += data
        self._changed.set()

    def on_status(self, status: SessionStatus) -> None:
        self.statuses.append(status)
        self._changed.set()

    @property
    def states(self) -> list[SessionState]:
        return [s.state for s in self.statuses]

    async def until(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        # Conditions may also depend on server-side state, so re-check on a short tick too.
        async def wait() -> None:
            while not predicate():
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.02)

        await asyncio.wait_for(wait(), limit)


def make_session(url: str, dialect: str, rec: Recorder, **kwargs) -> TerminalSession:
    kwargs.setdefault("backoff_base", 0.05)
    return TerminalSession(
        url, dialect, on_output=rec.on_output, on_status=rec.on_status, **kwargs
    )


# --------------------------------------------------------------------------- pty dialect


async def test_pty_sends_size_on_open_then_echoes_input_and_forwards_resizes() -> None:
    frames: list[str | bytes] = []

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            frames.append(message)
            if isinstance(message, str) and message.startswith('{"type": "resize"'):
                continue
            await ws.send(f"echo:{message}")

    async with ws_server(handler) as url:
        rec = Recorder()
        session = make_session(f"{url}/pty/sbx/ws?token=t", "pty", rec, size=(100, 30))
        task = session.start()
        await rec.until(lambda: SessionState.CONNECTED in rec.states)
        session.send_input("héllo".encode())
        await rec.until(lambda: b"echo:h\xc3\xa9llo" in rec.output)
        session.resize(120, 40)
        await rec.until(lambda: len(frames) >= 3)
        await session.close()
        final = await task

    assert json.loads(frames[0]) == {"type": "resize", "cols": 100, "rows": 30}
    assert frames[1] == "héllo"
    assert json.loads(frames[2]) == {"type": "resize", "cols": 120, "rows": 40}
    assert final.state is SessionState.CLOSED
    assert rec.statuses[-1] is final


async def test_pty_input_that_looks_like_a_resize_is_not_eaten_by_the_server() -> None:
    frames: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            frames.append(message)

    async with ws_server(handler) as url:
        rec = Recorder()
        session = make_session(f"{url}/pty/x/ws", "pty", rec)
        task = session.start()
        paste = b'{"type":"resize","cols":1,"rows":1}'
        session.send_input(paste)
        await rec.until(lambda: SessionState.CONNECTED in rec.states)
        await rec.until(lambda: "".join(frames[1:]) == paste.decode())
        await session.close()
        await task

    input_frames = frames[1:]
    assert "".join(input_frames) == paste.decode()
    assert all(not f.startswith("{") or not f.endswith("}") for f in input_frames)


async def test_pty_close_exit_is_final_and_reports_exit() -> None:
    connections = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.recv()  # the size
        await ws.send("bye\r\n")
        await ws.close(1000, "exit")

    async with ws_server(handler) as url:
        rec = Recorder()
        final = await make_session(f"{url}/pty/x/ws", "pty", rec).run()

    assert final.state is SessionState.EXITED
    assert final.close_code == 1000
    assert "exited" in final.message.lower()
    assert bytes(rec.output) == b"bye\r\n"
    assert connections == 1


async def test_pty_exit_reason_with_code_is_parsed() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.close(1000, "exit 3")

    async with ws_server(handler) as url:
        final = await make_session(f"{url}/pty/x/ws", "pty", Recorder()).run()
    assert final.state is SessionState.EXITED
    assert final.exit_code == 3
    assert "code 3" in final.message


async def test_invalid_token_close_is_not_retried() -> None:
    connections = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.close(1008, "Invalid token")

    async with ws_server(handler) as url:
        rec = Recorder()
        final = await make_session(f"{url}/pty/x/ws?token=bad", "pty", rec).run()

    assert final.state is SessionState.FAILED
    assert final.close_code == 1008
    assert "Invalid token" in final.message
    assert connections == 1
    assert SessionState.RECONNECTING not in rec.states


async def test_http_403_on_upgrade_fails_with_clear_message() -> None:
    def refuse(connection, request):
        return connection.respond(HTTPStatus.FORBIDDEN, "sandbox belongs to someone else\n")

    async def handler(ws: ServerConnection) -> None:
        raise AssertionError("the upgrade should have been refused")

    async with ws_server(handler, process_request=refuse) as url:
        final = await make_session(f"{url}/v1/sandboxes/x/ws/terminal", "cf", Recorder()).run()

    assert final.state is SessionState.FAILED
    assert "HTTP 403" in final.message
    assert "someone else" in final.message


async def test_reconnects_on_drop_and_loses_no_typed_input() -> None:
    received: list[str] = []
    paths: list[str] = []
    first_input = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        paths.append(ws.request.path)
        async for message in ws:
            if message.startswith('{"type": "resize"'):
                continue
            received.append(message)
            if len(paths) == 1:
                first_input.set()
                ws.transport.abort()  # an abrupt drop: no close frame
                return

    async with ws_server(handler) as url:
        rec = Recorder()
        typed_while_down = False

        def on_status(status: SessionStatus) -> None:
            nonlocal typed_while_down
            rec.on_status(status)
            if status.state is SessionState.RECONNECTING and not typed_while_down:
                typed_while_down = True
                session.send_input(b"typed-while-down;")
                session.send_input(b"more;")

        session = TerminalSession(
            f"{url}/pty/x/ws?token=t&sessionId=key-1",
            "pty",
            on_output=rec.on_output,
            on_status=on_status,
            backoff_base=0.05,
        )
        task = session.start()
        session.send_input(b"first;")
        await asyncio.wait_for(first_input.wait(), 10)
        await rec.until(lambda: "".join(received) == "first;typed-while-down;more;")
        await session.close()
        await task

    assert paths == ["/pty/x/ws?token=t&sessionId=key-1"] * 2
    assert session.connections == 2
    assert session.pending_input == 0
    reconnecting = [s for s in rec.statuses if s.state is SessionState.RECONNECTING]
    assert reconnecting and reconnecting[0].attempt == 1
    assert "reconnecting in" in reconnecting[0].message


async def test_size_is_resent_after_reconnect() -> None:
    sizes: list[list[dict]] = []

    async def handler(ws: ServerConnection) -> None:
        mine: list[dict] = []
        sizes.append(mine)
        async for message in ws:
            mine.append(json.loads(message))
            if len(sizes) == 1:
                await ws.close(1001, "going away")
                return

    async with ws_server(handler) as url:
        rec = Recorder()
        session = make_session(f"{url}/pty/x/ws", "pty", rec, size=(90, 20))
        task = session.start()
        await rec.until(lambda: len(sizes) == 2 and len(sizes[1]) == 1)
        await session.close()
        await task

    assert sizes[0] == [{"type": "resize", "cols": 90, "rows": 20}]
    assert sizes[1] == [{"type": "resize", "cols": 90, "rows": 20}]


async def test_gives_up_after_max_attempts_with_a_reason() -> None:
    async def handler(ws: ServerConnection) -> None:
        return

    async with ws_server(handler) as url:
        pass  # the server is gone: its port now refuses connections
    rec = Recorder()
    final = await make_session(f"{url}/pty/x/ws", "pty", rec, max_attempts=2).run()

    assert final.state is SessionState.FAILED
    assert "Gave up after 2 reconnect attempts" in final.message
    assert "refused" in final.message.lower()
    assert [s.attempt for s in rec.statuses if s.state is SessionState.RECONNECTING] == [1, 2]


async def test_close_during_backoff_stops_promptly() -> None:
    async def handler(ws: ServerConnection) -> None:
        return

    async with ws_server(handler) as url:
        pass
    rec = Recorder()
    session = make_session(f"{url}/pty/x/ws", "pty", rec, backoff_base=30.0)
    task = session.start()
    await rec.until(lambda: SessionState.RECONNECTING in rec.states)
    await session.close()
    final = await asyncio.wait_for(task, 5)
    assert final.state is SessionState.CLOSED


async def test_pause_output_stops_reading_until_resumed() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        for i in range(5):
            await ws.send(f"{i};")
        await ws.wait_closed()

    async with ws_server(handler) as url:
        rec = Recorder()
        session = make_session(f"{url}/pty/x/ws", "pty", rec)
        session.pause_output()
        task = session.start()
        await rec.until(lambda: SessionState.CONNECTED in rec.states)
        for _ in range(20):
            await asyncio.sleep(0.01)
        paused_output = bytes(rec.output)
        session.resume_output()
        await rec.until(lambda: rec.output == b"0;1;2;3;4;")
        await session.close()
        await task

    assert paused_output == b""


# --------------------------------------------------------------------------- cf dialect


async def test_cf_replay_then_ready_then_size_binary_input_and_exit_code() -> None:
    frames: list[str | bytes] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(b"replayed output\r\n")
        # Nothing may be sent by the client before "ready".
        try:
            early = await asyncio.wait_for(ws.recv(), 0.2)
        except TimeoutError:
            early = None
        frames.append(("early", early))
        await ws.send(json.dumps({"type": "ready"}))
        async for message in ws:
            frames.append(message)
            if isinstance(message, bytes):
                await ws.send(b"got:" + message)
                if message == b"exit\r":
                    await ws.send(json.dumps({"type": "exit", "code": 3}))

    async with ws_server(handler) as url:
        rec = Recorder()
        session = make_session(f"{url}/v1/sandboxes/x/ws/terminal?t=t&session=s", "cf", rec,
                               size=(132, 43))
        session.send_input(b"ls\r")  # typed before the socket is even open
        task = session.start()
        await rec.until(lambda: b"got:ls\r" in rec.output)
        session.send_input(b"exit\r")
        final = await asyncio.wait_for(task, 10)

    assert frames[0] == ("early", None)
    assert json.loads(frames[1]) == {"type": "resize", "cols": 132, "rows": 43}
    assert frames[2:] == [b"ls\r", b"exit\r"]
    assert rec.output.startswith(b"replayed output\r\n")
    assert final.state is SessionState.EXITED
    assert final.exit_code == 3
    assert final.message == "Process exited with code 3"
    assert session.connections == 1


async def test_cf_error_status_is_reported_and_explains_the_close() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "error", "message": "Sandbox is not running"}))
        await ws.close(1011, "")

    async with ws_server(handler) as url:
        rec = Recorder()
        final = await make_session(f"{url}/v1/sandboxes/x/ws/terminal", "cf", rec).run()

    assert SessionState.ERROR in rec.states
    assert final.state is SessionState.FAILED
    assert "Sandbox is not running" in final.message


async def test_cf_reconnect_replay_overlap_is_not_shown_twice() -> None:
    history = bytearray()
    connections = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        if connections == 2:
            history.extend(b"three\r\n")  # printed while the client was away
        await ws.send(bytes(history))  # the ring-buffer replay
        await ws.send(json.dumps({"type": "ready"}))
        if connections == 1:
            for line in (b"one\r\n", b"two\r\n"):
                history.extend(line)
                await ws.send(line)
            await ws.recv()  # the size
            ws.transport.abort()
            return
        await ws.send(b"four\r\n")
        await ws.wait_closed()

    async with ws_server(handler) as url:
        rec = Recorder()
        session = make_session(f"{url}/v1/sandboxes/x/ws/terminal?session=k", "cf", rec)
        task = session.start()
        await rec.until(lambda: b"four" in rec.output)
        await session.close()
        await task

    assert bytes(rec.output) == b"one\r\ntwo\r\nthree\r\nfour\r\n"


async def test_cf_acks_count_what_was_processed_on_this_socket_only() -> None:
    received: list[list[dict]] = []
    asked: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        asked.append(ws.request.path)
        controls: list[dict] = []
        received.append(controls)
        first = len(received) == 1
        await ws.send(b"old\r\n" if first else b"old\r\n" + b"x" * 300 + b"new\r\n")  # the replay
        await ws.send(json.dumps({"type": "ready", "flow": "ack", "window": 1000}))
        if first:
            await ws.send(b"x" * 300)
        async for message in ws:
            if isinstance(message, str):
                controls.append(json.loads(message))
                if first and sum(c.get("bytes", 0) for c in controls if c["type"] == "ack") >= 100:
                    ws.transport.abort()  # drop while 205 bytes are still unprocessed
                    return

    async with ws_server(handler) as url:
        rec = Recorder()
        session = make_session(f"{url}/v1/sandboxes/x/ws/terminal?session=k", "cf", rec, acknowledge=True)
        task = session.start()
        await rec.until(lambda: len(rec.output) >= 305)
        assert session.acknowledging
        session.consumed(105)  # the replay and 100 of the 300 bytes
        await rec.until(lambda: len(received) == 2 and session.acknowledging)
        await rec.until(lambda: b"new" in rec.output)
        # The second replay repeats the 305 bytes shown before (skipped, and acknowledged at
        # once); what is processed next first finishes the old socket's 200 unprocessed
        # bytes, which count for nothing on this socket, then the 5 new ones.
        session.consumed(200 + 5)
        await rec.until(lambda: sum(c.get("bytes", 0) for c in received[1] if c["type"] == "ack") == 310)
        await session.close()
        await task

    assert all("flow=ack" in path for path in asked)
    first_acks = [c["bytes"] for c in received[0] if c["type"] == "ack"]
    assert sum(first_acks) == 105


async def test_cf_no_acks_unless_the_server_confirms() -> None:
    controls: list[dict] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "ready"}))  # an upstream worker: no flow field
        await ws.send(b"output\r\n")
        async for message in ws:
            if isinstance(message, str):
                controls.append(json.loads(message))

    async with ws_server(handler) as url:
        rec = Recorder()
        session = make_session(f"{url}/v1/sandboxes/x/ws/terminal?session=k", "cf", rec, acknowledge=True)
        task = session.start()
        await rec.until(lambda: b"output" in rec.output)
        session.consumed(8)
        session.send_input(b"typed")
        await rec.until(lambda: any(c["type"] == "resize" for c in controls))
        await session.close()
        await task

    assert not session.acknowledging
    assert [c["type"] for c in controls] == ["resize"]


# --------------------------------------------------------------------------- helpers


def test_replay_overlap_examples() -> None:
    assert replay_overlap(b"", b"abc") == 0
    assert replay_overlap(b"xxabc", b"abcdef") == 3
    assert replay_overlap(b"abc", b"abc") == 3
    assert replay_overlap(b"abc", b"zzz") == 0
    assert replay_overlap(b"aaaa", b"aaab") == 3


@given(
    st.binary(max_size=300),
    st.integers(min_value=0, max_value=300),
    st.binary(max_size=100),
)
def test_replay_overlap_never_drops_new_output(prefix: bytes, cut: int, fresh: bytes) -> None:
    # The server replays a tail of (what we saw + what is new); after cutting the overlap,
    # what we saw plus the rest must end with the new bytes.
    seen = prefix
    full = seen + fresh
    replay = full[max(0, len(full) - max(cut, len(fresh))):]
    skip = replay_overlap(seen, replay)
    assert (seen + replay[skip:]).endswith(fresh)
    assert seen.endswith(replay[:skip])
    # The longest overlap is at least the true one, so nothing already seen is shown twice.
    assert skip >= len(replay) - len(fresh)


def test_unknown_dialect_is_rejected() -> None:
    with pytest.raises(ValueError, match="dialect"):
        TerminalSession("ws://127.0.0.1:1/", "telnet", on_output=lambda b: None)  # type: ignore[arg-type]
