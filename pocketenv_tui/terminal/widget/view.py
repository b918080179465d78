"""A Textual widget that shows a :class:`TerminalScreen` and talks to a shell.

Rendering uses the line API: ``render_line`` returns a cached Strip per visible row, and only
rows the screen reports dirty (plus the rows the cursor left and entered) are dropped from
the cache and refreshed, as one Region per run of consecutive rows.

Output never reaches the screen directly. ``write`` (the session's ``on_output``) only
appends to an inbox; a pump task parses the inbox in slices of bounded time (8 ms) and
yields to the event loop between slices, so key presses keep flowing during a flood. Each
slice only records which rows changed; they are handed to Textual (which paints at most
once per frame) at once when output is quiet, so an echoed key shows without delay, and at
most ``FLOOD_FPS`` times a second while output keeps coming, so a flood spends its time
parsing rather than repainting a screen nobody can read at that speed. A repaint costs the
same whatever the number of bytes behind it: each visible row is built once, from the cell
runs, with its width known.

Flow control: the session asks the server for acknowledged flow control, and after each
slice the widget reports the bytes it parsed (:meth:`TerminalSession.consumed`), so a server
that agreed (the local backend) never has more than its window of output on the way. Against
any server, when the inbox grows past a high-water mark the session stops reading the socket
(which pushes back on the server) until the inbox drains to the low-water mark.

Keys: the widget consumes every key except the leave key (``ctrl+]``), including Tab, ctrl+c
and the App's priority bindings such as ctrl+q and ctrl+p. It does that through
``check_consume_key``: Textual drops ancestor bindings (priority ones too) for keys the
focused widget says it consumes, so they reach ``on_key`` and go to the shell. Pressing
``ctrl+]`` posts :class:`TerminalView.Left` and gives focus back to the app; from there the
app's own keys (ctrl+q to quit) work again. ``app_keys`` lets an app reserve more keys.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.worker import Worker

from ..keys import encode_key, encode_paste
from ..screen import TerminalScreen
from ..session import Dialect, Opener, SessionState, SessionStatus, TerminalSession
from .pointer import PointerInput
from .render import StyleCache, build_strip, overlay

LEAVE_KEY = "ctrl+right_square_bracket"
LEAVE_HINT = "ctrl+] to leave"

SLICE_BUDGET = 0.008  # seconds of parsing before yielding to keys and painting
FEED_SLICE = 64 * 1024
MAX_FEED_PER_SLICE = 256 * 1024
INBOX_HIGH_WATER = 1024 * 1024
INBOX_LOW_WATER = 256 * 1024
RESIZE_DEBOUNCE = 0.1
FLOOD_FPS = 12
BULK_BYTES = 32 * 1024  # more output than this since the last repaint is a flood, not an echo
QUIET_AFTER = 0.01  # seconds without output after which a flood counts as over (repaint now)

_SCROLL_KEYS = {"shift+pageup", "shift+pagedown", "shift+home", "shift+end"}
_COPY_KEYS = {"ctrl+shift+c", "super+c"}


def _ranges(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted rows folded into (first, last) runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for row in sorted(rows):
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


class TerminalView(PointerInput, Widget, can_focus=True):
    """An interactive terminal: a TerminalScreen drawn with the line API, fed by a session."""

    ALLOW_SELECT = False  # our own cell selection replaces Textual's text selection here
    ALLOW_MAXIMIZE = True

    DEFAULT_CSS = """
    TerminalView {
        width: 1fr;
        height: 1fr;
        background: $background;
        color: $foreground;
        border: round $panel-lighten-2;
        border-title-align: left;
        border-subtitle-align: right;
        padding: 0;
    }
    TerminalView:focus {
        border: round $accent;
    }
    """

    class Left(Message):
        """The user pressed the leave key; the terminal no longer has focus."""

        def __init__(self, view: TerminalView) -> None:
            super().__init__()
            self.view = view

        @property
        def control(self) -> TerminalView:
            return self.view

    class StatusChanged(Message):
        """The session's status changed (connected, reconnecting, exited, ...)."""

        def __init__(self, view: TerminalView, status: SessionStatus) -> None:
            super().__init__()
            self.view = view
            self.status = status

        @property
        def control(self) -> TerminalView:
            return self.view

    def __init__(
        self,
        *,
        input_sink: Callable[[bytes], None] | None = None,
        history: int = 10000,
        app_keys: Iterable[str] = (),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.terminal = TerminalScreen(80, 24, history=history)
        self.session: TerminalSession | None = None
        self.status: SessionStatus | None = None
        self._input_sink = input_sink
        self._app_keys = {LEAVE_KEY, *app_keys}

        # Output waiting to be parsed, with whether it came from the session (and so is to
        # be acknowledged) or from the widget itself (status lines).
        self._inbox: deque[tuple[memoryview, bool]] = deque()
        self._inbox_size = 0
        self._reading_paused = False
        self._output_ready = asyncio.Event()
        self._pump_worker: Worker[None] | None = None
        self._resize_timer: Timer | None = None
        self._sized = False

        self._paint_rows: set[int] = set()  # screen rows changed since the last repaint
        self._paint_cursor: set[int] = set()  # rows the cursor left or entered
        self._paint_all = False
        self._paint_timer: asyncio.TimerHandle | None = None
        self._last_paint = 0.0
        self._bytes_since_paint = 0

        self._styles = StyleCache(RichStyle())
        self._strips: dict[int, Strip] = {}  # visible row -> strip without cursor/selection
        self._cursor: tuple[int, int, bool] = (0, 0, True)
        self._history_seen = 0
        self._title = ""

        self.scrollback_offset = 0  # lines scrolled back into history; 0 = following output
        self._selecting = False
        self._sel_anchor: tuple[int, int] | None = None  # (line, column); line < 0 = history
        self._sel_end: tuple[int, int] | None = None

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        self._take_theme_colors()
        self._update_border()
        self._pump_worker = self.run_worker(
            self._pump_loop, name="terminal-output", group="terminal-output", exclusive=True
        )

    async def on_unmount(self) -> None:
        if self._paint_timer is not None:
            self._paint_timer.cancel()
        if self.session is not None:
            await self.session.close()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Theme or focus styles changed: default colours come from here, so rebuild.
        if self.is_mounted:
            self._take_theme_colors()
            self._strips.clear()

    def _take_theme_colors(self) -> None:
        """The theme's colours become the cells' defaults and the answers to colour queries."""
        style = self.rich_style
        self._styles.reset(style)
        foreground, background = self.terminal.default_colors
        if style.color is not None:
            foreground = tuple(style.color.get_truecolor())  # type: ignore[assignment]
        if style.bgcolor is not None:
            background = tuple(style.bgcolor.get_truecolor())  # type: ignore[assignment]
        self.terminal.default_colors = (foreground, background)

    # ------------------------------------------------------------------ sessions
    def connect(
        self,
        url: str | Opener,
        dialect: Dialect,
        *,
        headers: dict[str, str] | None = None,
        **session_options: object,
    ) -> TerminalSession:
        """Open a shell session at ``url`` (or wherever an opener says, see
        :class:`TerminalSession`) and run it in a worker tied to this widget."""
        session_options.setdefault("acknowledge", True)
        fixed, opener = (url, None) if isinstance(url, str) else (None, url)
        session = TerminalSession(
            fixed,
            dialect,
            opener=opener,
            headers=headers,
            on_output=self.write_output,
            on_status=self.set_status,
            size=(self.terminal.columns, self.terminal.lines),
            **session_options,  # type: ignore[arg-type]
        )
        self.attach(session)
        self.run_worker(
            session.run, name="terminal-session", group="terminal-session",
            exclusive=True, exit_on_error=False,
        )
        return session

    def attach(self, session: TerminalSession) -> None:
        """Route keys, replies and resizes to ``session`` (its callbacks should be
        :meth:`write_output` and :meth:`set_status`); the caller runs it."""
        self.session = session
        session.resize(self.terminal.columns, self.terminal.lines)

    def set_status(self, status: SessionStatus) -> None:
        """Show a session status in the border and tell the app."""
        self.status = status
        if status.final:
            # Written after any output still queued, like a terminal printing it itself.
            self.write(f"\r\n\x1b[0;2m[{status.message}]\x1b[0m\r\n".encode())
        self._update_border()
        self.post_message(self.StatusChanged(self, status))

    # ------------------------------------------------------------------ output path
    def write(self, data: bytes) -> None:
        """Queue terminal output of our own (not the session's); parsed and drawn next frame."""
        self._queue(data, from_session=False)

    def write_output(self, data: bytes) -> None:
        """The session's output callback: queued like :meth:`write`, acknowledged once parsed."""
        self._queue(data, from_session=True)

    def _queue(self, data: bytes, *, from_session: bool) -> None:
        if not data:
            return
        self._inbox.append((memoryview(data), from_session))
        self._inbox_size += len(data)
        if (
            self.session is not None
            and not self._reading_paused
            and self._inbox_size > INBOX_HIGH_WATER
        ):
            self._reading_paused = True
            self.session.pause_output()
        self._output_ready.set()

    @property
    def pending_output(self) -> int:
        """Bytes written but not yet parsed."""
        return self._inbox_size

    async def _pump_loop(self) -> None:
        # Parse in slices of bounded time and yield in between, so key presses and the
        # compositor run during a flood. refresh() only marks regions; Textual paints at
        # most once per frame, however many slices ran since the last paint.
        while True:
            await self._output_ready.wait()
            self._output_ready.clear()
            while self._inbox:
                self._feed_slice()
                await asyncio.sleep(0)

    def _feed_slice(self) -> None:
        deadline = time.perf_counter() + SLICE_BUDGET
        fed = 0
        processed = 0  # of the session's bytes, to acknowledge
        feed = self.terminal.feed
        inbox = self._inbox
        while inbox and fed < MAX_FEED_PER_SLICE:
            # Chunks arrive as the PTY was read (often 4 KiB); one parse call per FEED_SLICE
            # bytes costs less than one per chunk.
            pieces: list[memoryview] = []
            size = 0
            while inbox and size < FEED_SLICE:
                view, from_session = inbox[0]
                room = FEED_SLICE - size
                if len(view) > room:
                    piece = view[:room]
                    inbox[0] = (view[room:], from_session)
                else:
                    piece = inbox.popleft()[0]
                pieces.append(piece)
                size += len(piece)
                if from_session:
                    processed += len(piece)
            feed(b"".join(pieces))
            fed += size
            self._inbox_size -= size
            if time.perf_counter() >= deadline:
                break
        self._bytes_since_paint += fed
        session = self.session
        if session is not None:
            if processed:
                session.consumed(processed)
            if self._reading_paused and self._inbox_size < INBOX_LOW_WATER:
                self._reading_paused = False
                session.resume_output()
        self._after_feed()

    def _after_feed(self) -> None:
        screen = self.terminal
        replies = screen.take_replies()
        if replies:
            self._send(replies, follow=False)
        dirty = screen.take_dirty()
        history = screen.history_size
        grown = history - self._history_seen
        self._history_seen = history
        if grown and self._sel_anchor is not None:
            self._clear_selection()
        if self.scrollback_offset:
            # Keep the lines the user scrolled to in place while new output arrives.
            self.scrollback_offset = max(0, min(history, self.scrollback_offset + max(0, grown)))
            if dirty or grown:
                self._paint_all = True
        elif dirty:
            self._paint_rows |= dirty
        cursor = (screen.cursor_x, screen.cursor_y, screen.cursor_visible)
        if cursor != self._cursor:
            self._paint_cursor |= {self._cursor[1], cursor[1]}
            self._cursor = cursor
        self._schedule_paint()
        if screen.title != self._title:
            self._title = screen.title
            self._update_border()

    def _schedule_paint(self) -> None:
        if not (self._paint_all or self._paint_rows or self._paint_cursor):
            return
        now = time.monotonic()
        if not (self._inbox or self._bytes_since_paint > BULK_BYTES):
            self._paint()  # an echo or a prompt: show it at once
            return
        # A flood: the next repaint a frame interval after the last one, or as soon as the
        # output has gone quiet for a moment (the flood ended), whichever comes first, but
        # never more often than 60 times a second.
        quiet = max(now + QUIET_AFTER, self._last_paint + 1 / 60)
        due = min(self._last_paint + 1 / FLOOD_FPS, quiet)
        if due <= now:
            self._paint()
            return
        if self._paint_timer is not None:
            self._paint_timer.cancel()
        # A bare loop timer: cheap enough to move on every slice (a Textual timer is a task).
        self._paint_timer = asyncio.get_running_loop().call_later(due - now, self._paint)

    def _paint(self) -> None:
        if self._paint_timer is not None:
            self._paint_timer.cancel()
            self._paint_timer = None
        self._last_paint = time.monotonic()
        self._bytes_since_paint = 0
        if self._paint_all:
            self._invalidate_all()
        else:
            if self._paint_rows:
                self._invalidate_rows(self._paint_rows)
            if self._paint_cursor:
                self._invalidate_rows(self._paint_cursor, keep_cache=True)
        self._paint_all = False
        self._paint_rows = set()
        self._paint_cursor = set()

    # ------------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        strip = self._strips.get(y)
        if strip is None or strip.cell_length != width:
            strip = self._build_row(y - self.scrollback_offset, width)
            self._strips[y] = strip
        line = y - self.scrollback_offset
        selected = self._selected_columns(line, width)
        if selected is not None:
            strip = overlay(strip, *selected)
        cursor_x, cursor_y, visible = self._cursor
        if visible and self.has_focus and line == cursor_y and not self.scrollback_offset:
            x = min(cursor_x, width - 1)
            strip = overlay(strip, x, x + 1)
        return strip

    def _build_row(self, line: int, width: int) -> Strip:
        screen = self.terminal
        if width <= 0:
            return Strip([])
        if -screen.history_size <= line < screen.lines:
            return build_strip(screen.line_runs(line), width, self._styles, screen.columns)
        return Strip([Segment(" " * width, self._styles.base)], width)

    def _invalidate_rows(self, rows: Iterable[int], *, keep_cache: bool = False) -> None:
        width = self.size.width
        offset = self.scrollback_offset
        height = self.size.height
        visible = [row + offset for row in rows if 0 <= row + offset < height]
        if not visible:
            return
        if not keep_cache:
            for row in visible:
                self._strips.pop(row, None)
        self.refresh(*(Region(0, a, width, b - a + 1) for a, b in _ranges(visible)))

    def _invalidate_all(self) -> None:
        self._strips.clear()
        self.refresh()

    def _update_border(self) -> None:
        title = self._title.strip()
        self.border_title = f"{title} · {LEAVE_HINT}" if title else LEAVE_HINT
        parts: list[str] = []
        if self.scrollback_offset:
            parts.append(f"scrollback {self.scrollback_offset}/{self.terminal.history_size}")
        if self.status is not None and self.status.state is not SessionState.CONNECTED:
            parts.append(self.status.message)
        self.border_subtitle = " · ".join(parts)

    # ------------------------------------------------------------------ input path
    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key not in self._app_keys

    def _send(self, data: bytes, *, follow: bool = True) -> None:
        if follow and self.scrollback_offset:
            self._scroll_to(0)  # typing returns to the live screen, as terminals do
        if self.session is not None:
            self.session.send_input(data)
        elif self._input_sink is not None:
            self._input_sink(data)

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key in self._app_keys:
            if key == LEAVE_KEY:
                event.stop()
                event.prevent_default()
                self.leave()
            return  # other app keys bubble on to the app's bindings
        event.stop()
        event.prevent_default()
        screen = self.terminal
        if key in _SCROLL_KEYS and screen.history_size and not screen.alternate_screen:
            page = max(1, self.size.height - 1)
            target = {
                "shift+pageup": self.scrollback_offset + page,
                "shift+pagedown": self.scrollback_offset - page,
                "shift+home": screen.history_size,
                "shift+end": 0,
            }[key]
            self._scroll_to(target)
            return
        if key in _COPY_KEYS and self._sel_anchor is not None:
            self.copy_selection()
            return
        data = encode_key(key, event.character, app_cursor=screen.app_cursor_keys)
        if data:
            self._send(data)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        if event.text:
            self._send(encode_paste(event.text, bracketed=self.terminal.bracketed_paste))

    def leave(self) -> None:
        """Give focus back to the app (what the leave key does)."""
        self.post_message(self.Left(self))
        self.screen.set_focus(None)

    def on_focus(self) -> None:
        self._invalidate_rows({self._cursor[1]}, keep_cache=True)

    def on_blur(self) -> None:
        self._invalidate_rows({self._cursor[1]}, keep_cache=True)

    # ------------------------------------------------------------------ resize
    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        if not self._sized:
            # The first real size must reach the remote before it draws a prompt.
            self._sized = True
            self._apply_resize()
            return
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(RESIZE_DEBOUNCE, self._apply_resize)

    def _apply_resize(self) -> None:
        self._resize_timer = None
        columns, lines = self.size.width, self.size.height
        if columns < 1 or lines < 1:
            return
        if (columns, lines) != (self.terminal.columns, self.terminal.lines):
            self.terminal.resize(lines, columns)
            self.terminal.take_dirty()
            if self.session is not None:
                self.session.resize(columns, lines)
            self._clear_selection()
        self.scrollback_offset = min(self.scrollback_offset, self.terminal.history_size)
        self._history_seen = self.terminal.history_size
        self._invalidate_all()

    # ------------------------------------------------------------------ scrollback
    def _scroll_to(self, offset: int) -> None:
        offset = max(0, min(self.terminal.history_size, offset))
        if offset != self.scrollback_offset:
            self.scrollback_offset = offset
            self._invalidate_all()
            self._update_border()
