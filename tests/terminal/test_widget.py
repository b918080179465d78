"""TerminalView in a headless App: keys, colours, cursor, scrollback, mouse, selection, resize."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rich.color import Color
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Button
from websockets.asyncio.server import ServerConnection, serve

from pocketenv_tui.terminal.session import SessionState
from pocketenv_tui.terminal.widget import LEAVE_HINT, TerminalView

STYLES = Path(__file__).resolve().parents[2] / "styles" / "terminal.tcss"


class TermApp(App[None]):
    CSS_PATH = str(STYLES)

    def __init__(self, with_sink: bool = True) -> None:
        super().__init__()
        self.sent = bytearray()
        self.left: list[TerminalView.Left] = []
        self.statuses: list[TerminalView.StatusChanged] = []
        self._with_sink = with_sink

    def compose(self) -> ComposeResult:
        yield Button("elsewhere")
        yield TerminalView(input_sink=self.sent.extend if self._with_sink else None)

    def on_terminal_view_left(self, message: TerminalView.Left) -> None:
        self.left.append(message)

    def on_terminal_view_status_changed(self, message: TerminalView.StatusChanged) -> None:
        self.statuses.append(message)


async def settle(pilot, view: TerminalView) -> None:
    """Let the frame timer parse everything written so far and repaint."""
    for _ in range(200):
        if not view.pending_output:
            break
        await pilot.pause(0.02)
    await pilot.pause()


async def focused_view(pilot) -> TerminalView:
    view = pilot.app.query_one(TerminalView)
    view.focus()
    await pilot.pause()
    return view


async def test_every_key_but_leave_goes_to_the_shell() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        await pilot.press("l", "s", "tab", "ctrl+c", "ctrl+q", "ctrl+p", "enter", "up")
        assert app.is_running  # ctrl+q went to the shell, not to App.quit
        assert bytes(app.sent) == b"ls\t\x03\x11\x10\r\x1b[A"
        assert app.focused is view  # tab did not move focus

        view.write(b"\x1b[?1h")  # application cursor keys (DECCKM)
        await settle(pilot, view)
        app.sent.clear()
        await pilot.press("up")
        assert bytes(app.sent) == b"\x1bOA"

        app.sent.clear()
        await pilot.press("ctrl+right_square_bracket")
        assert app.sent == b""
        assert app.focused is not view
        assert len(app.left) == 1 and app.left[0].view is view
        assert view.border_title == LEAVE_HINT


async def test_colour_queries_are_answered_with_the_theme_colours() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)

        async def answer() -> bytes:
            app.sent.clear()
            view.write(b"\x1b]11;?\x07")
            await settle(pilot, view)
            return bytes(app.sent)

        def expected() -> bytes:
            red, green, blue = view.rich_style.bgcolor.get_truecolor()
            return f"\x1b]11;rgb:{red:02x}{red:02x}/{green:02x}{green:02x}/{blue:02x}{blue:02x}\x07".encode()

        dark = await answer()
        assert dark == expected()
        app.theme = "textual-light"
        await pilot.pause()
        light = await answer()
        assert light == expected() and light != dark


async def test_ctrl_q_quits_once_the_terminal_is_left() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        await focused_view(pilot)
        await pilot.press("ctrl+right_square_bracket", "ctrl+q")
        await pilot.pause()
        assert not app.is_running
    assert app.sent == b""


async def test_colours_and_attributes_are_rendered() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        view.write(
            b"\x1b[31mred\x1b[0m \x1b[1;4;3mbiu\x1b[0m \x1b[7mrev\x1b[0m "
            b"\x1b[9mstrike\x1b[0m \x1b[38;2;1;2;3;48;5;196mtc\x1b[0m \x1b[93mbright\x1b[0m"
        )
        await settle(pilot, view)
        segments = {seg.text: seg.style for seg in view.render_line(0) if seg.text.strip()}
        base = view.rich_style

        assert segments["red"].color == Color.from_ansi(1)
        assert segments["red"].bgcolor == base.bgcolor  # "default" background = theme
        assert segments["biu"].bold and segments["biu"].underline and segments["biu"].italic
        assert segments["rev"].reverse
        assert segments["strike"].strike
        assert segments["tc"].color == Color.from_rgb(1, 2, 3)
        assert segments["tc"].bgcolor.triplet == (0xFF, 0x00, 0x00)
        assert segments["bright"].color == Color.from_ansi(11)
        assert view.render_line(0).cell_length == view.size.width


def cursor_cells(view: TerminalView, y: int) -> list[int]:
    x = 0
    cells = []
    for seg in view.render_line(y):
        if seg.style and seg.style.reverse:
            cells.extend(range(x, x + len(seg.text)))
        x += len(seg.text)
    return cells


async def test_cursor_drawn_only_when_focused_and_visible() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        view.write(b"$ ab")
        await settle(pilot, view)
        assert cursor_cells(view, 0) == [4]

        view.write(b"\x1b[?25l")  # DECTCEM off, as vim does while drawing
        await settle(pilot, view)
        assert cursor_cells(view, 0) == []

        view.write(b"\x1b[?25h\r\n")
        await settle(pilot, view)
        assert cursor_cells(view, 1) == [0]

        app.query_one(Button).focus()
        await pilot.pause()
        assert cursor_cells(view, 1) == []


async def test_scrollback_with_keys_and_wheel_and_typing_returns_to_bottom() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        view.write(b"".join(b"line %03d\r\n" % i for i in range(100)))
        await settle(pilot, view)
        height = view.size.height
        assert view.render_line(height - 2).text.startswith("line 099")

        await pilot.press("shift+pageup")
        assert view.scrollback_offset == height - 1
        assert view.render_line(height - 2).text.startswith(f"line {99 - height + 1:03d}")
        assert "scrollback" in str(view.border_subtitle)
        assert app.sent == b""  # scrolling is local

        view.post_message(events.MouseScrollUp(view, 3, 3, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert view.scrollback_offset == height - 1 + 3

        # New output while scrolled back does not move what the user is reading.
        before = view.render_line(0).text
        view.write(b"more\r\n")
        await settle(pilot, view)
        assert view.render_line(0).text == before

        await pilot.press("x")
        assert view.scrollback_offset == 0
        assert app.sent == b"x"


async def test_wheel_on_the_alternate_screen_sends_arrows() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        view.write(b"\x1b[?1049h")
        await settle(pilot, view)
        view.post_message(events.MouseScrollDown(view, 3, 3, 0, 0, 0, False, False, False))
        await pilot.pause()
        assert bytes(app.sent) == b"\x1b[B" * 3


async def test_mouse_is_forwarded_when_the_remote_asks_for_it() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        view.write(b"\x1b[?1000h\x1b[?1006h")
        await settle(pilot, view)
        await pilot.click(view, offset=(5, 3))  # content cell (4, 2): the border takes one
        sent = bytes(app.sent)
        assert sent.startswith(b"\x1b[<0;5;3M")
        assert b"\x1b[<0;5;3m" in sent


async def test_drag_selects_and_copies_text() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        view.write(b"hello world\r\nsecond line")
        await settle(pilot, view)
        await pilot.mouse_down(view, offset=(7, 1))  # cell (6, 0): "w"
        await pilot.hover(view, offset=(7, 2))  # cell (6, 1)
        await pilot.mouse_up(view, offset=(7, 2))
        await pilot.pause()
        assert app.clipboard == "world\nsecond"
        # The selected cells are drawn in reverse video.
        assert 6 in cursor_cells(view, 0)
        assert app.sent == b""


async def test_bracketed_paste() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        view.post_message(events.Paste("a\nb"))
        await pilot.pause()
        plain = bytes(app.sent)
        app.sent.clear()
        view.write(b"\x1b[?2004h")
        await settle(pilot, view)
        view.post_message(events.Paste("a\nb"))
        await pilot.pause()
        assert plain == b"a\rb"
        assert bytes(app.sent) == b"\x1b[200~" + plain + b"\x1b[201~"


async def test_device_status_reports_are_answered() -> None:
    app = TermApp()
    async with app.run_test(size=(60, 12)) as pilot:
        view = await focused_view(pilot)
        view.write(b"abc\x1b[6n")
        await settle(pilot, view)
        assert bytes(app.sent) == b"\x1b[1;4R"


async def test_session_gets_size_resizes_input_and_exit() -> None:
    frames: list[str] = []
    closing = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            frames.append(message)
            if message.startswith("{"):
                continue
            await ws.send(f"\x1b[32m{message}\x1b[0m")
            if message == "q":
                await closing.wait()
                await ws.close(1000, "exit")
                return

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        app = TermApp(with_sink=False)
        async with app.run_test(size=(80, 20)) as pilot:
            view = await focused_view(pilot)
            view.connect(f"ws://127.0.0.1:{port}/pty/x/ws?token=t", "pty")
            for _ in range(100):
                if frames:
                    break
                await pilot.pause(0.02)
            assert json.loads(frames[0]) == {
                "type": "resize", "cols": view.size.width, "rows": view.size.height
            }

            await pilot.press("h", "i")
            for _ in range(100):
                if "hi" in view.render_line(0).text:
                    break
                await pilot.pause(0.02)
            green = [s.style for s in view.render_line(0) if s.text.strip() == "hi"]
            assert green and green[0].color == Color.from_ansi(2)

            await pilot.resize_terminal(100, 30)
            for _ in range(100):
                if len([f for f in frames if f.startswith("{")]) >= 2:
                    break
                await pilot.pause(0.02)
            resizes = [json.loads(f) for f in frames if f.startswith("{")]
            size = {"type": "resize", "cols": view.size.width, "rows": view.size.height}
            assert resizes[-1] == size
            assert resizes[-1] != resizes[0]
            assert (view.terminal.columns, view.terminal.lines) == tuple(view.size)

            await pilot.press("q")
            closing.set()
            for _ in range(100):
                if view.status is not None and view.status.final:
                    break
                await pilot.pause(0.02)
            await settle(pilot, view)
            assert view.status.state is SessionState.EXITED
            assert "exited" in str(view.border_subtitle).lower()
            assert any(m.status.final for m in app.statuses)
            screen_text = "\n".join(view.terminal.display)
            assert "[Process exited]" in screen_text
