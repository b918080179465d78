"""The terminal widget and session against a real local backend: a real bash on a real PTY."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from rich.color import Color
from textual.app import App, ComposeResult

from pocketenv_tui.terminal.session import SessionState, SessionStatus, TerminalSession
from pocketenv_tui.terminal.widget import TerminalView
from tests.terminal.conftest import terminal_url

pytestmark = pytest.mark.timeout(180)


class ShellApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TerminalView()


async def wait_for(pilot, predicate: Callable[[], bool], what: str, tries: int = 400) -> None:
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.05)
    view = pilot.app.query_one(TerminalView)
    screen = "\n".join(line.rstrip() for line in view.terminal.display)
    raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")


def screen_text(view: TerminalView) -> str:
    return "\n".join(line.rstrip() for line in view.terminal.display)


async def run(pilot, view: TerminalView, command: str, expect: str, *, line: bool = False) -> None:
    """Type a command as keys and wait for ``expect`` on the screen (as a whole line if
    ``line``)."""
    for ch in command:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")
    if line:
        await wait_for(pilot, lambda: expect in screen_text(view).splitlines(), repr(expect))
    else:
        await wait_for(pilot, lambda: expect in screen_text(view), repr(expect))


@contextlib.asynccontextmanager
async def shell(backend, sandbox_id: str, dialect: str) -> AsyncIterator[tuple]:
    app = ShellApp()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(TerminalView)
        view.focus()
        await pilot.pause()
        view.connect(terminal_url(backend, sandbox_id, dialect, uuid.uuid4().hex), dialect)
        await run(pilot, view, "echo ready-$((40+2))", "ready-42")
        yield pilot, view


@pytest.mark.parametrize("dialect", ["cf", "pty"])
async def test_colours_resize_and_exit_code(local_backend, sandbox, dialect: str) -> None:
    async with shell(local_backend, sandbox, dialect) as (pilot, view):
        await run(pilot, view, r"printf '\033[31mRED\033[0m \033[1;44mBOLD\033[0m\n'", "RED BOLD")
        styles = {}
        for y in range(view.size.height):
            for seg in view.render_line(y):
                if seg.text in ("RED", "BOLD"):
                    styles[seg.text] = seg.style
        assert styles["RED"].color == Color.from_ansi(1)
        assert styles["BOLD"].bold and styles["BOLD"].bgcolor == Color.from_ansi(4)

        rows, cols = view.size.height, view.size.width
        await run(pilot, view, "stty size", f"{rows} {cols}", line=True)

        await pilot.resize_terminal(84, 22)
        await wait_for(pilot, lambda: view.terminal.columns == 82, "local resize")
        await run(pilot, view, "clear; stty size", "20 82", line=True)

        await run(pilot, view, "exit 3", "exited")
        await wait_for(pilot, lambda: view.status is not None and view.status.final, "exit")
        assert view.status.state is SessionState.EXITED
        if dialect == "cf":
            assert view.status.exit_code == 3
            assert "code 3" in str(view.border_subtitle)
        else:
            assert "exited" in str(view.border_subtitle).lower()


FULL_SCREEN_PROGRAMS = [
    # (command line, keys that quit it, text that shows it is drawn)
    ("seq 1 500 | less", ["q"], "1\n2\n3"),
    ("vim -u NONE -N", ["escape", "colon", "q", "enter"], "~\n~"),
    # htop redraws in place with colours, line drawing and cursor moves; .ci/run installs it.
    ("htop", ["q"], "F10Quit"),
]


@pytest.mark.parametrize(("program", "quit_keys", "drawn"), FULL_SCREEN_PROGRAMS)
async def test_full_screen_program_in_and_out_restores_the_screen(
    local_backend, sandbox, program: str, quit_keys: list[str], drawn: str
) -> None:
    if shutil.which(program.split()[0]) is None:
        pytest.skip(f"{program.split()[0]} is not installed (.ci/run installs it)")
    async with shell(local_backend, sandbox, "cf") as (pilot, view):
        await run(pilot, view, "echo before-$((6*7))", "before-42")
        before = screen_text(view)

        for ch in program:
            await pilot.press(ch if ch != " " else "space")
        await pilot.press("enter")
        await wait_for(pilot, lambda: view.terminal.alternate_screen, "the alternate screen")
        await wait_for(pilot, lambda: drawn in screen_text(view), f"{program}'s screen")
        assert "before-42" not in screen_text(view)

        await pilot.press(*quit_keys)
        await wait_for(pilot, lambda: not view.terminal.alternate_screen, "leaving")
        await wait_for(pilot, lambda: program in screen_text(view), "the command line back")
        after = screen_text(view)
        # Everything that was on the screen before is back where it was.
        assert after.startswith(before.rstrip())


async def test_session_reconnects_to_the_same_shell_without_losing_input(
    local_backend, sandbox
) -> None:
    """A TCP relay between client and backend is cut mid-session; keys typed while it is
    down reach the same shell after the reconnect."""
    relays: list[asyncio.StreamWriter] = []
    host, port = local_backend.url.removeprefix("http://").rsplit(":", 1)

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        relays.extend([writer, up_writer])

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    relay_port = server.sockets[0].getsockname()[1]
    output = bytearray()
    statuses: list[SessionStatus] = []
    key = uuid.uuid4().hex
    url = terminal_url(local_backend, sandbox, "cf", key).replace(
        f":{port}/", f":{relay_port}/", 1
    )

    def on_status(status: SessionStatus) -> None:
        statuses.append(status)
        if status.state is SessionState.RECONNECTING and len(statuses) < 6:
            session.send_input(b"echo after-$MARK\r")  # typed while the link is down

    session = TerminalSession(
        url, "cf", on_output=output.extend, on_status=on_status, backoff_base=0.2
    )

    async def until(needle: bytes) -> None:
        for _ in range(400):
            if needle in output:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{needle!r} never arrived; got {bytes(output[-400:])!r}")

    try:
        task = session.start()
        session.send_input(b"export MARK=$((20+3)); echo set-$MARK\r")
        await until(b"set-23")
        for writer in relays:
            writer.transport.abort()  # the network drops: no close frame either way
        await until(b"after-23")
        assert session.connections == 2
        assert any(s.state is SessionState.RECONNECTING for s in statuses)
        # The replay after reconnecting did not repeat what had already arrived.
        assert output.count(b"set-23") == 1
    finally:
        await session.close()
        await task
        server.close()
        await server.wait_closed()
