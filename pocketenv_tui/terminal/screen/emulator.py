"""A fast terminal screen on pyte's parser: scrollback, alternate screen, dirty rows.

:class:`TerminalScreen` keeps pyte's behaviour (for the same output, ``display`` equals
``pyte.Screen(columns, lines).display``, checked by differential tests) but stores cells
compactly: each row is an immutable pair of strings, one code point per cell for the text
and one per cell for the style id (see :mod:`~pocketenv_tui.terminal.screen.rows`). Drawing a
run of text is a few string slices, a line feed at the bottom rotates a row tuple into a
bounded scrollback deque, and :class:`~pocketenv_tui.terminal.screen.parser.FastStream`
hands whole runs and complete escape sequences to the screen without pyte's per-character
generator; the commonest of them go through the batch loops of
:mod:`~pocketenv_tui.terminal.screen.fast`, and non-ASCII text is laid out a run at a time
by :mod:`~pocketenv_tui.terminal.screen.text`. ``fast_paths = False`` turns the batches off
(the reference the tests compare them with).

Additions over pyte: the alternate screen (modes 47, 1047, 1049), answers to DSR/DA queries
(:meth:`TerminalScreen.take_replies`), bracketed paste / application cursor / mouse flags,
dirty-row tracking with a generation counter, SU/SD/REP/CBT/CHT, DEC line drawing in UTF-8.

Deliberate differences from stock pyte 0.8.2 (each is a pyte bug or an xterm behaviour a
remote shell relies on):
- A control or zero-width character inside a text run does not drop the rest of the run;
  zero-width characters (ZWJ, variation selectors) join the previous cell.
- ``CSI M`` (delete lines) works even on rows pyte never materialised.
- Scrollback only collects rows scrolled off the top of the whole screen (not off a scroll
  region, not on the alternate screen).
- Erasing, inserting and scrolling fill with the current background colour (xterm's
  ``bce``); pyte uses the full cursor attributes or the default.
- DECCOLM (``CSI ? 3 h``) clears the screen but never resizes it: the size belongs to the
  widget. :meth:`resize` keeps the cursor row visible (pushing rows above it into the
  scrollback) instead of pyte's cutting from the top.
- DECSCNM (whole-screen reverse video) is applied when reading, so ``line_runs`` flips
  ``reverse`` on every run while it is set.
- NUL passed to :meth:`TerminalScreen.draw` directly is ignored (the parser never draws it;
  pyte would join it to the previous cell).
"""

from __future__ import annotations

import unicodedata
from collections import deque
from typing import Any

import pyte
from pyte import charsets as cs
from pyte import modes as mo
from pyte.screens import Cursor, Margins

from . import text as screen_text
from .cursor import CursorMoves
from .modes import ScreenModes
from .parser import FastStream
from .rows import (
    DEFAULT_ID,
    STUB,
    CellCodec,
    Row,
    StyleIds,
    drawable_cells,
    style_runs,
    visible_text,
)
from .style import DEFAULT_STYLE, Style, apply_sgr, reversed_style
from .width import char_width, run_matcher

__all__ = ["Style", "TerminalScreen"]

# Private modes as pyte stores them (shifted left by five).
_APP_CURSOR = 1 << 5
_MOUSE_SGR = 1006 << 5
_BRACKETED_PASTE = 2004 << 5

RGB = tuple[int, int, int]


class TerminalScreen(ScreenModes, CursorMoves, pyte.Screen):
    """A terminal screen of ``columns`` x ``lines`` cells with ``history`` rows of scrollback.

    Feed it the remote's output with :meth:`feed` (bytes; UTF-8 sequences may be split
    across calls) or :meth:`feed_text`. Read it with :attr:`display`, :meth:`line_runs`,
    the cursor attributes and the mode flags; after each feed, :meth:`take_dirty` says which
    rows to repaint and :meth:`take_replies` returns bytes to send back to the remote.

    Dirty rows: :meth:`take_dirty` returns every row index that changed since the previous
    call, which after a scroll, a resize, a reset or an alternate-screen switch is simply
    every row. It also includes the row the cursor left and the row it is on whenever the
    cursor moved or was shown or hidden, so a widget that repaints those rows draws the
    cursor correctly too. :attr:`generation` increases with every feed and resize.
    """

    #: Raise parser/handler errors instead of skipping the offending sequence (tests).
    strict_errors = False
    #: Batch whole lines and token blocks (fast.py); False sends every sequence and
    #: text run through the screen's methods one by one, and non-ASCII text through the
    #: per-character path: the reference the fast paths are tested against.
    fast_paths = True

    def __init__(self, columns: int, lines: int, history: int = 10000) -> None:
        # pyte.Screen.__init__ builds its dict-of-dicts buffer; this class replaces every
        # method that touches cells, so it sets up only the state pyte's cursor code uses.
        self.columns = max(2, int(columns))
        self.lines = max(1, int(lines))
        self.savepoints: list[Any] = []
        self.dirty: set[int] = set()
        self.mode: set[int] = set()
        self.margins: Margins | None = None
        self._history: deque[Row] = deque(maxlen=max(0, int(history)))
        self._main_rows: list[Row] = []
        self._alt_rows: list[Row] | None = None
        self._rows: list[Row] = self._main_rows
        self._ids = StyleIds()
        self._codec = CellCodec()
        # Per-width caches: blank rows by fill style id, CUP targets by parameter text.
        self._blank_rows: dict[str, Row] = {}
        self._cup_targets: dict[str, tuple[int, int]] = {}
        self._blank_text = " " * self.columns
        self.alternate_screen = False
        self.mouse_mode: int | None = None
        self.app_keypad = False
        self.generation = 0
        self.bells = 0
        #: What ``OSC 10 ; ?`` and ``OSC 11 ; ?`` answer: the default foreground and background
        #: as RGB. The widget sets them from its theme; programs such as vim use the answer to
        #: choose light or dark colours.
        self.default_colors: tuple[RGB, RGB] = ((0xE5, 0xE5, 0xE5), (0x00, 0x00, 0x00))
        self._replies: list[str] = []
        self._dirty_all = True
        self._reported_cursor: tuple[int, int, bool] | None = None
        self._alt_saved: tuple[Cursor, str, str, int] | None = None
        self._sco_saved: tuple[int, int] | None = None
        self._last_char = " "
        self.reset()
        self._stream = FastStream(self)

    # ------------------------------------------------------------------ input
    def feed(self, data: bytes) -> None:  # type: ignore[override]
        """Parse remote output; multi-byte UTF-8 may be split across calls."""
        if data:
            self._compact_tables()
            self._stream.feed(bytes(data))
            self.generation += 1

    def feed_text(self, text: str) -> None:
        """Parse remote output that has already been decoded (text WebSocket frames)."""
        if text:
            self._compact_tables()
            self._stream.feed_text(text)
            self.generation += 1

    def _all_rows(self) -> list[Row]:
        return [*self._history, *self._main_rows, *(self._alt_rows or [])]

    def _compact_tables(self) -> None:
        # Between feeds no style id or placeholder is held outside the rows, so ids no row
        # uses can be recycled; within a feed the tables only grow.
        if self._ids.needs_compaction():
            self._ids.compact((sty for _, sty in self._all_rows()), [self.cursor.attrs])  # type: ignore[list-item]
        if self._codec.needs_compaction():
            self._codec.compact(text for text, _ in self._all_rows())

    # ------------------------------------------------------------- read side
    @property
    def cursor_x(self) -> int:
        # pyte parks the cursor one past the last column after writing there (the
        # pending wrap); a widget wants a cell it can draw.
        return min(self.cursor.x, self.columns - 1)

    @property
    def cursor_y(self) -> int:
        return self.cursor.y

    @property
    def cursor_visible(self) -> bool:
        return not self.cursor.hidden

    @property
    def history_size(self) -> int:
        return 0 if self.alternate_screen else len(self._history)

    @property
    def history_limit(self) -> int:
        return self._history.maxlen or 0

    @property
    def bracketed_paste(self) -> bool:
        return _BRACKETED_PASTE in self.mode

    @property
    def app_cursor_keys(self) -> bool:
        return _APP_CURSOR in self.mode

    @property
    def mouse_sgr(self) -> bool:
        return _MOUSE_SGR in self.mode

    @property
    def parse_errors(self) -> int:
        """Sequences skipped because a handler failed (see ``strict_errors``)."""
        return self._stream.errors

    @property
    def reverse_video(self) -> bool:
        return mo.DECSCNM in self.mode

    @property
    def display(self) -> list[str]:  # type: ignore[override]
        codec = self._codec
        return [visible_text(codec, text) for text, _ in self._rows]

    @property
    def history_display(self) -> list[str]:
        """Scrollback rows as text, oldest first (empty on the alternate screen)."""
        if self.alternate_screen:
            return []
        codec = self._codec
        return [visible_text(codec, text) for text, _ in self._history]

    def line_runs(self, y: int) -> list[tuple[str, Style]]:
        """Row ``y`` as (text, style) runs; negative ``y`` reads the scrollback.

        ``y`` ranges over ``[-history_size, lines)``; -1 is the newest scrollback row.
        Consecutive cells with equal styles are merged. A wide character's second cell
        contributes "" (as in pyte), and cells pyte would leave inconsistent (half of an
        overwritten wide character, a wide character in the last column, a lone
        combining mark) are drawn as one blank cell, so the runs always span exactly
        ``columns`` cells. Scrollback rows recorded at another width are cut or padded.
        """
        if y < 0:
            if self.alternate_screen or -y > len(self._history):
                raise IndexError(f"scrollback row {y} out of range")
            row = self._history[y]
        else:
            row = self._rows[y]
        columns = self.columns
        text, sty = row
        if len(text) != columns:
            pad = columns - len(text)
            text = text[:columns] + " " * pad
            sty = sty[:columns] + DEFAULT_ID * pad
        cells = drawable_cells(self._codec, text)
        styles = self._ids.styles
        # Equal styles have equal ids, so a run of one id is a run of one style.
        if isinstance(cells, str):
            runs = [(cells[start:stop], styles[ord(sid)]) for start, stop, sid in style_runs(sty)]
        else:
            runs = [
                ("".join(cells[start:stop]), styles[ord(sid)])
                for start, stop, sid in style_runs(sty)
            ]
        if mo.DECSCNM in self.mode:
            runs = [(text, reversed_style(style)) for text, style in runs]
        return runs

    def take_dirty(self) -> set[int]:
        """Rows (0..lines-1) to repaint since the last call; clears the record."""
        lines = self.lines
        if self._dirty_all:
            result = set(range(lines))
        else:
            result = {y for y in self.dirty if 0 <= y < lines}
        cursor = (self.cursor.y, self.cursor_x, self.cursor.hidden)
        if cursor != self._reported_cursor:
            if self._reported_cursor is not None and self._reported_cursor[0] < lines:
                result.add(self._reported_cursor[0])
            if 0 <= cursor[0] < lines:
                result.add(cursor[0])
            self._reported_cursor = cursor
        self.dirty.clear()
        self._dirty_all = False
        return result

    @property
    def dirty_all(self) -> bool:
        """True when the next :meth:`take_dirty` will report every row."""
        return self._dirty_all

    def take_replies(self) -> bytes:
        """Answers to the remote's queries (DSR, DA) to send back; clears them."""
        if not self._replies:
            return b""
        data = "".join(self._replies).encode()
        self._replies.clear()
        return data

    # ------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        self._dirty_all = True
        self.margins = None
        self.mode = {mo.DECAWM, mo.DECTCEM}
        self.title = ""
        self.icon_name = ""
        self.charset = 0
        self.g0_charset = cs.LAT1_MAP
        # xterm starts G1 as ASCII too (pyte picks DEC graphics), so a stray SO in
        # binary output does not turn the rest of the session into line drawing.
        self.g1_charset = cs.LAT1_MAP
        self.tabstops = set(range(8, self.columns, 8))
        self.cursor = Cursor(0, 0, DEFAULT_STYLE)  # type: ignore[arg-type]
        self.saved_columns = None
        self.mouse_mode = None
        self.app_keypad = False
        if self.alternate_screen:
            self._rows = self._main_rows
            self.alternate_screen = False
        self._main_rows[:] = [self._blank(DEFAULT_ID)] * self.lines
        self._alt_rows = None
        self._alt_saved = None

    def soft_reset(self) -> None:
        """DECSTR (``CSI ! p``): modes and attributes back to defaults, text kept."""
        self.margins = None
        self.mode.difference_update({mo.IRM, mo.DECOM, _APP_CURSOR})
        self.mode.update({mo.DECAWM, mo.DECTCEM})
        self.cursor.hidden = False
        self.cursor.attrs = DEFAULT_STYLE  # type: ignore[assignment]
        self.charset = 0
        self.g0_charset = self.g1_charset = cs.LAT1_MAP
        self.app_keypad = False

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        """Change the size, keeping the cursor row on screen; marks every row dirty."""
        lines = max(1, int(lines or self.lines))
        columns = max(2, int(columns or self.columns))
        if lines == self.lines and columns == self.columns:
            return
        old_columns = self.columns
        self._blank_rows.clear()
        self._cup_targets.clear()
        self._blank_text = " " * columns
        blank = (self._blank_text, DEFAULT_ID * columns)
        if columns != old_columns:
            for rows in (self._main_rows, self._alt_rows or []):
                rows[:] = [_set_row_width(row, columns) for row in rows]
        if lines != self.lines:
            for rows in (self._main_rows, self._alt_rows):
                if rows is None:
                    continue
                active = rows is self._rows
                if active:
                    cursor_y = self.cursor.y
                elif self._alt_saved is not None:
                    # The main screen behind a full-screen program: keep the row its
                    # saved cursor (the shell prompt) will return to.
                    cursor_y = self._alt_saved[0].y
                else:
                    cursor_y = 0
                drop = min(max(0, cursor_y - (lines - 1)), len(rows))
                if drop:
                    removed = rows[:drop]
                    del rows[:drop]
                    if rows is self._main_rows:
                        self._history.extend(removed)
                del rows[lines:]
                rows.extend([blank] * (lines - len(rows)))
                if active:
                    self.cursor.y -= drop
                elif self._alt_saved is not None:
                    self._alt_saved[0].y -= drop
        self.lines = lines
        self.columns = columns
        if columns > old_columns:
            self.tabstops.update(range(old_columns - old_columns % 8 + 8, columns, 8))
        self.tabstops = {stop for stop in self.tabstops if stop < columns}
        self.margins = None
        self.cursor.x = min(self.cursor.x, columns - 1)
        self.cursor.y = min(max(self.cursor.y, 0), lines - 1)
        self._dirty_all = True
        self.generation += 1

    # ------------------------------------------------------------- drawing
    def _blank(self, fill: str) -> Row:
        """The blank row of the current width in style ``fill`` (rows are immutable)."""
        row = self._blank_rows.get(fill)
        if row is None:
            if len(self._blank_rows) >= 256:  # truecolour backgrounds: keep the cache small
                self._blank_rows.clear()
            row = self._blank_rows[fill] = (self._blank_text, fill * self.columns)
        return row

    def _cursor_id(self) -> str:
        return self._ids.id_of(self.cursor.attrs)  # type: ignore[arg-type]

    def _fill_id(self) -> str:
        return self._ids.fill_of(self._cursor_id())

    def _put_cells(self, y: int, x: int, cells: str, sid: str) -> None:
        """Write encoded ``cells`` (they fit) at column ``x`` of row ``y`` in style ``sid``."""
        rows = self._rows
        text, sty = rows[y]
        stop = x + len(cells)
        rows[y] = (text[:x] + cells + text[stop:], sty[:x] + sid * len(cells) + sty[stop:])

    def draw(self, data: str) -> None:
        table = self.g1_charset if self.charset else self.g0_charset
        if table is not cs.LAT1_MAP:
            data = data.translate(table)
        if mo.IRM in self.mode:
            for char in data:
                self._draw_char(char)
            return
        if not data:
            return
        if data.isascii() and data.isprintable():
            self._put_narrow(data, 0, len(data))
        elif self.fast_paths:
            screen_text.put_text(self, data)
        else:
            self._draw_segments(data)

    def _draw_segments(self, data: str) -> None:
        """Draw any text run by runs of one width (the exact path behind ``put_text``)."""
        run = run_matcher()
        pos = 0
        end = len(data)
        while pos < end:
            match = run(data, pos)
            if match is None:
                self._draw_char(data[pos])
                pos += 1
            elif match.lastindex == 1:
                stop = match.end()
                self._put_narrow(data, pos, stop)
                pos = stop
            else:
                stop = match.end()
                self._put_wide(data, pos, stop)
                pos = stop

    def _put_narrow(self, data: str, start: int, end: int) -> None:
        """Write one-cell characters data[start:end] with pyte's wrapping rules."""
        cursor = self.cursor
        columns = self.columns
        sid = self._cursor_id()
        x = cursor.x
        if x + end - start <= columns:
            # The common case: the run fits on the cursor's row.
            self._put_cells(cursor.y, x, data[start:end], sid)
            x += end - start
            start = end
        while start < end:
            if x >= columns:
                if mo.DECAWM in self.mode:
                    self.dirty.add(cursor.y)
                    cursor.x = 0
                    self.linefeed()
                    x = cursor.x
                else:
                    # Without autowrap every further character lands on the last cell.
                    x = columns - 1
                    start = end - 1
            count = min(columns - x, end - start)
            self._put_cells(cursor.y, x, data[start : start + count], sid)
            x += count
            start += count
        cursor.x = x
        self._last_char = data[end - 1]
        self.dirty.add(cursor.y)

    def _put_wide(self, data: str, start: int, end: int) -> None:
        """Write two-cell characters, each followed by pyte's "" stub cell."""
        cursor = self.cursor
        sid = self._cursor_id()
        encode = self._codec.encode
        while start < end:
            columns = self.columns
            x = cursor.x
            room = (columns - x) // 2
            if x >= columns or room == 0:
                self._draw_char(data[start])  # wrap or last-column cases: pyte's rules
                start += 1
                continue
            count = min(room, end - start)
            chunk = data[start : start + count]
            if max(chunk) >= "\U00100000":  # placeholder range: escape through the codec
                chunk = "".join(map(encode, chunk))
            self._put_cells(cursor.y, x, STUB.join(chunk) + STUB, sid)
            cursor.x = x + 2 * count
            start += count
            self.dirty.add(cursor.y)
        self._last_char = data[end - 1]

    def _draw_char(self, char: str) -> None:
        """pyte's per-character ``draw`` step, for everything the fast paths skip."""
        width = char_width(char)
        if width < 0 or char == STUB:
            return  # unprintable: ignored (pyte would drop the rest of the run)
        cursor = self.cursor
        columns = self.columns
        if cursor.x >= columns:
            if mo.DECAWM in self.mode:
                self.dirty.add(cursor.y)
                cursor.x = 0
                self.linefeed()
            elif width > 0:
                cursor.x = columns - width
        if mo.IRM in self.mode and width > 0:
            self.insert_characters(width)
        x = cursor.x
        y = cursor.y
        if width == 1:
            self._put_cells(y, x, self._codec.encode(char), self._cursor_id())
            self._last_char = char
        elif width == 2:
            cell = self._codec.encode(char)
            self._put_cells(y, x, cell + STUB if x + 1 < columns else cell, self._cursor_id())
            self._last_char = char
        else:
            # Zero width: joins the previous cell, on the row above at the left edge.
            if x:
                self._combine(y, x - 1, char)
            elif y:
                self._combine(y - 1, columns - 1, char)
                self.dirty.add(y - 1)
        if width > 0:
            cursor.x = min(x + width, columns)
        self.dirty.add(y)

    def _combine(self, y: int, x: int, char: str) -> None:
        codec = self._codec
        text, sty = self._rows[y]
        cell = codec.encode(unicodedata.normalize("NFC", codec.decode(text[x]) + char))
        self._rows[y] = (text[:x] + cell + text[x + 1 :], sty)

    def repeat_last_char(self, count: int | None = None, *_: Any, **__: Any) -> None:
        """REP (``CSI n b``): draw the last printed character n more times."""
        self.draw(self._last_char * min(max(count or 1, 1), self.columns * self.lines))

    # ----------------------------------------------------------- scrolling
    def _region(self) -> tuple[int, int]:
        margins = self.margins
        if margins is None:
            return 0, self.lines - 1
        return margins.top, margins.bottom

    def _scroll_up(self, top: int, bottom: int, count: int) -> None:
        rows = self._rows
        count = min(count, bottom - top + 1)
        keep = top == 0 and not self.alternate_screen and self._history.maxlen != 0
        blank = self._blank(self._fill_id())
        for _ in range(count):
            row = rows.pop(top)
            if keep:
                self._history.append(row)
            rows.insert(bottom, blank)
        self._mark_rows(top, bottom)

    def _scroll_down(self, top: int, bottom: int, count: int) -> None:
        rows = self._rows
        count = min(count, bottom - top + 1)
        blank = self._blank(self._fill_id())
        for _ in range(count):
            del rows[bottom]
            rows.insert(top, blank)
        self._mark_rows(top, bottom)

    def _mark_rows(self, top: int, bottom: int) -> None:
        if top == 0 and bottom == self.lines - 1:
            self._dirty_all = True
        else:
            self.dirty.update(range(top, bottom + 1))

    def index(self) -> None:
        top, bottom = self._region()
        cursor = self.cursor
        if cursor.y == bottom:
            self._scroll_up(top, bottom, 1)
        else:
            # pyte's cursor_down, including its clamp to the bottom margin.
            cursor.y = min(cursor.y + 1, bottom)

    def reverse_index(self) -> None:
        top, bottom = self._region()
        cursor = self.cursor
        if cursor.y == top:
            self._scroll_down(top, bottom, 1)
        else:
            cursor.y = max(cursor.y - 1, top)

    def linefeed(self) -> None:
        cursor = self.cursor
        if self.margins is not None:
            self.index()
        elif cursor.y < self.lines - 1:
            cursor.y += 1
        else:
            # index() at the bottom of a screen without margins, inlined: wrapped text
            # scrolls once per row.
            rows = self._rows
            row = rows.pop(0)
            if not self.alternate_screen and self._history.maxlen != 0:
                self._history.append(row)
            rows.append(self._blank(self._fill_id()))
            self._dirty_all = True
        if mo.LNM in self.mode:
            cursor.x = 0

    def scroll_up(self, count: int | None = None, *_: Any, **__: Any) -> None:
        """SU (``CSI n S``): scroll the region up; the cursor stays."""
        top, bottom = self._region()
        self._scroll_up(top, bottom, max(count or 1, 1))

    def scroll_down(self, count: int | None = None, *_: Any, **__: Any) -> None:
        """SD (``CSI n T``): scroll the region down; the cursor stays."""
        top, bottom = self._region()
        self._scroll_down(top, bottom, max(count or 1, 1))

    def insert_lines(self, count: int | None = None, *_: Any, **__: Any) -> None:
        top, bottom = self._region()
        y = self.cursor.y
        if top <= y <= bottom:
            count = min(count or 1, bottom - y + 1)
            rows = self._rows
            del rows[bottom + 1 - count : bottom + 1]
            rows[y:y] = [self._blank(self._fill_id())] * count
            self.dirty.update(range(y, self.lines))
            self.cursor.x = 0

    def delete_lines(self, count: int | None = None, *_: Any, **__: Any) -> None:
        top, bottom = self._region()
        y = self.cursor.y
        if top <= y <= bottom:
            count = min(count or 1, bottom - y + 1)
            rows = self._rows
            del rows[y : y + count]
            rows[bottom + 1 - count : bottom + 1 - count] = [self._blank(self._fill_id())] * count
            self.dirty.update(range(y, self.lines))
            self.cursor.x = 0

    # ----------------------------------------------------- editing a row
    def insert_characters(self, count: int | None = None, *_: Any, **__: Any) -> None:
        cursor = self.cursor
        self.dirty.add(cursor.y)
        x = cursor.x
        columns = self.columns
        if x >= columns:
            return
        count = min(count or 1, columns - x)
        text, sty = self._rows[cursor.y]
        fill = self._fill_id()
        self._rows[cursor.y] = (
            (text[:x] + " " * count + text[x:])[:columns],
            (sty[:x] + fill * count + sty[x:])[:columns],
        )

    def delete_characters(self, count: int | None = None, *_: Any, **__: Any) -> None:
        cursor = self.cursor
        self.dirty.add(cursor.y)
        x = cursor.x
        columns = self.columns
        if x >= columns:
            return
        count = min(count or 1, columns - x)
        text, sty = self._rows[cursor.y]
        fill = self._fill_id()
        self._rows[cursor.y] = (
            text[:x] + text[x + count :] + " " * count,
            sty[:x] + sty[x + count :] + fill * count,
        )

    def erase_characters(self, count: int | None = None, *_: Any, **__: Any) -> None:
        cursor = self.cursor
        self.dirty.add(cursor.y)
        x = cursor.x
        stop = min(x + (count or 1), self.columns)
        if stop > x:
            self._erase(cursor.y, x, stop)

    def _erase(self, y: int, start: int, stop: int) -> None:
        count = stop - start
        if count > 0:
            text, sty = self._rows[y]
            fill = self._fill_id()
            self._rows[y] = (
                text[:start] + " " * count + text[stop:],
                sty[:start] + fill * count + sty[stop:],
            )

    def erase_in_line(self, how: int = 0, *_: Any, **__: Any) -> None:
        cursor = self.cursor
        self.dirty.add(cursor.y)
        columns = self.columns
        if how == 0:
            start, stop = min(cursor.x, columns), columns
        elif how == 1:
            start, stop = 0, min(cursor.x + 1, columns)
        elif how == 2:
            start, stop = 0, columns
        else:
            return
        self._erase(cursor.y, start, stop)

    def erase_in_display(self, how: int = 0, *_: Any, **__: Any) -> None:
        cursor = self.cursor
        if how == 0:
            interval = range(cursor.y + 1, self.lines)
        elif how == 1:
            interval = range(cursor.y)
        elif how in (2, 3):
            interval = range(self.lines)
            if how == 3 and not self.alternate_screen:
                self._history.clear()
        else:
            return
        rows = self._rows
        blank = self._blank(self._fill_id())
        for y in interval:
            rows[y] = blank
        self.dirty.update(interval)
        if how in (0, 1):
            self.erase_in_line(how)

    def alignment_display(self) -> None:
        self._dirty_all = True
        rows = self._rows
        rows[:] = [("E" * self.columns, sty) for _, sty in rows]

    # ------------------------------------------------------- attributes
    def select_graphic_rendition(self, *attrs: int, **kwargs: Any) -> None:
        if kwargs.get("private"):
            return  # CSI ? ... m is an xterm query form, not an attribute change
        self.cursor.attrs = apply_sgr(self.cursor.attrs, attrs)  # type: ignore[arg-type,assignment]

    def __repr__(self) -> str:
        return f"TerminalScreen({self.columns}, {self.lines}, history={self.history_limit})"


def _set_row_width(row: Row, columns: int) -> Row:
    text, sty = row
    have = len(text)
    if have > columns:
        return text[:columns], sty[:columns]
    if have < columns:
        return text + " " * (columns - have), sty + DEFAULT_ID * (columns - have)
    return row
