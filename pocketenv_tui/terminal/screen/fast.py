"""Batch loops for the commonest terminal output, on the string rows of ``rows``.

:func:`run_lines` draws a block of whole lines of styled text (text and SGR), each ended by
CR LF: what a shell prints most of the time. No tokens are built: the parser splits the
block at CR LF and each line's SGR changes are split out with ``str.split``.

:func:`run_tokens` applies a batch of tokens found by one ``re.findall`` over a block of
other "simple" output (see ``parser``): styled text runs, optionally preceded by a
cursor position and followed by CR LF or erase-to-end-of-line, plain CSI cursor / erase /
SGR sequences, cursor hide/show and newlines; a row of a full-screen redraw ("move, draw,
erase") is one token.

Both keep the cursor and the style (an :class:`~.rows.SgrState`) in locals while the
batch runs and write rows with string slicing; anything unusual is handed to the screen's
own methods, whose behaviour (pyte's) is the reference the fast paths are tested against
(``TerminalScreen.fast_paths``). Non-ASCII text goes to :mod:`.text`.
"""

from __future__ import annotations

from itertools import islice, repeat
from typing import TYPE_CHECKING

from pyte import charsets as cs
from pyte import modes as mo

from .rows import SgrState
from .text import put_text

if TYPE_CHECKING:
    from .emulator import TerminalScreen

__all__ = ["run_lines", "run_tokens"]

Token = tuple[str, str, str, str, str, str]


def _cup_target(screen: TerminalScreen, key: str, params: str) -> tuple[int, int]:
    """(y, x) of CUP ``params`` without origin mode: pyte's 1-based, clamped rule."""
    numbers = screen._stream.params(params)
    line = numbers[0] or 1
    column = (numbers[1] or 1) if len(numbers) > 1 else 1
    target = (min(line, screen.lines) - 1, min(column, screen.columns) - 1)
    if len(screen._cup_targets) > 4096:
        screen._cup_targets.clear()
    screen._cup_targets[key] = target
    return target


def _styled(run: str, state: SgrState) -> tuple[str, str, SgrState]:
    """Split a styled run into (cells, style ids, state after it).

    Every ESC in a run starts "[ params m" and params hold no "m", so splitting on "ESC ["
    and partitioning each piece at its first "m" separates SGRs from text. (A plain loop:
    faster here than chaining map/zip/accumulate over the pieces.)
    """
    pieces = run.split("\x1b[")
    head = pieces[0]
    texts = [head]
    stys = [state.sid * len(head)]
    add_text = texts.append
    add_sty = stys.append
    for piece in islice(pieces, 1, None):
        params, _, text = piece.partition("m")
        state = state[params]
        if text:
            add_text(text)
            add_sty(state.sid * len(text))
    return "".join(texts), "".join(stys), state


def _draw_styled(screen: TerminalScreen, run: str, state: SgrState) -> SgrState:
    """Draw a styled run piece by piece with the screen's own ``draw``."""
    styles = screen._ids.styles
    pieces = run.split("\x1b[")
    screen.cursor.attrs = styles[ord(state.sid)]
    screen.draw(pieces[0])
    for index in range(1, len(pieces)):
        params, _, text = pieces[index].partition("m")
        state = state[params]
        screen.cursor.attrs = styles[ord(state.sid)]
        screen.draw(text)
    return state


def run_tokens(screen: TerminalScreen, tokens: list[Token]) -> None:
    """Apply ``(cup, run, end, params, final, newline)`` tokens (see ``parser``).

    A token is either a styled ``run`` (text and ``ESC [ ... m``), with an optional ``cup``
    (``ESC [ y ; x H``) before it and an optional ``end`` (CR LF or ``ESC [ K``) after it;
    or a CSI sequence ``ESC [ params final``; or a ``newline`` (CR LF, CR or LF).
    The result is the same as dispatching every piece to the screen on its own.
    """
    mode = screen.mode
    if (
        mo.IRM in mode
        or (screen.g1_charset if screen.charset else screen.g0_charset) is not cs.LAT1_MAP
    ):
        _run_tokens_slowly(screen, tokens)
        return
    ids = screen._ids
    styles = ids.styles
    cursor = screen.cursor
    rows = screen._rows
    columns = screen.columns
    bottom = screen.lines - 1
    blank_text = screen._blank_text
    mark = screen.dirty.add
    csi = screen._stream._csi_handlers
    params_of = screen._stream.params
    targets = screen._cup_targets
    margins = screen.margins
    origin = mo.DECOM in mode
    autowrap = mo.DECAWM in mode
    plain_lf = margins is None and mo.LNM not in mode
    history = screen._history
    keep = not screen.alternate_screen and history.maxlen != 0
    scrolled = False
    scroll_state = None  # the state the cached blank row below was made for
    scroll_blank = rows[0]
    last = ""  # the last text drawn here, for REP
    x = cursor.x
    y = cursor.y
    state = ids.state(ids.id_of(cursor.attrs))  # type: ignore[arg-type]
    try:
        for cup, run, end, params, final, newline in tokens:
            if run:
                if cup:
                    if origin:
                        cursor.x, cursor.y, x = x, y, -1
                        screen.cursor_position(*params_of(cup[2:-1]))
                        x, y = cursor.x, cursor.y
                    else:
                        target = targets.get(cup)
                        if target is None:
                            target = _cup_target(screen, cup, cup[2:-1])
                        y, x = target
                start_state = state
                if run[0] == "\x1b" and run.count("\x1b") == 1:
                    # One SGR, then text: the usual row of a full-screen redraw.
                    split = run.index("m")
                    state = state[run[2:split]]
                    cells = run[split + 1 :]
                    sty = ""
                elif "\x1b" in run:
                    cells, sty, state = _styled(run, state)
                else:
                    cells = run
                    sty = ""
                count = len(cells)
                if count:
                    stop = x + count
                    if stop <= columns and cells.isascii():
                        text, old_sty = rows[y]
                        if not sty:
                            sty = state.sid * count
                        if end and end[0] == "\x1b":  # ... ESC [ K: the rest of the row too
                            end = ""
                            if x:
                                rows[y] = (
                                    text[:x] + cells + blank_text[stop:],
                                    old_sty[:x] + sty + state.fill * (columns - stop),
                                )
                            else:  # a whole row: nothing of the old one stays
                                rows[y] = (
                                    cells + blank_text[stop:],
                                    sty + state.fill * (columns - stop),
                                )
                        elif x:
                            rows[y] = (
                                text[:x] + cells + text[stop:],
                                old_sty[:x] + sty + old_sty[stop:],
                            )
                        else:
                            rows[y] = (cells + text[stop:], sty + old_sty[stop:])
                        x = stop
                        mark(y)
                        last = cells
                    elif autowrap and cells.isascii():
                        x, y = _put_ascii_wrapping(screen, x, y, cells, sty or state.sid * count)
                        last = cells
                    else:
                        # Non-ASCII (or no autowrap): the screen's own drawing, piece by piece.
                        cursor.x, cursor.y, x = x, y, -1
                        if last:
                            screen._last_char = last[-1]
                            last = ""
                        state = _draw_styled(screen, run, start_state)
                        x, y = cursor.x, cursor.y
                        rows = screen._rows
                if not end:
                    continue
                if end == "\r\n":
                    newline = end
                else:
                    final = "K"
            if final:
                if final == "m":
                    state = state[params]
                elif final == "K" and (not params or params == "0"):
                    if x < columns:
                        text, old_sty = rows[y]
                        rows[y] = (
                            text[:x] + blank_text[x:],
                            old_sty[:x] + state.fill * (columns - x),
                        )
                    mark(y)
                elif (final == "H" or final == "f") and not origin:
                    target = targets.get(params)
                    if target is None:
                        target = _cup_target(screen, params, params)
                    y, x = target
                elif params == "?25":  # DECTCEM: nothing the batch keeps in locals
                    if final == "h":
                        screen.set_mode(25, private=True)
                    else:
                        screen.reset_mode(25, private=True)
                else:
                    attrs = styles[ord(state.sid)]
                    cursor.x, cursor.y, cursor.attrs, x = x, y, attrs, -1
                    csi[final](*params_of(params))
                    x, y = cursor.x, cursor.y
                    if cursor.attrs is not attrs:
                        state = ids.state(ids.id_of(cursor.attrs))  # type: ignore[arg-type]
                    rows = screen._rows
            elif newline == "\r\n" or (newline == "\n" and plain_lf):
                if newline == "\r\n":
                    x = 0
                if margins is not None:
                    cursor.x, cursor.y, cursor.attrs, x = x, y, styles[ord(state.sid)], -1
                    screen.linefeed()
                    x, y = cursor.x, cursor.y
                elif y < bottom:
                    y += 1
                else:
                    # The top row moves to the scrollback and a blank row comes in.
                    old = rows.pop(0)
                    if keep:
                        history.append(old)
                    if state is not scroll_state:
                        scroll_state = state
                        scroll_blank = screen._blank(state.fill)
                    rows.append(scroll_blank)
                    scrolled = True
            elif newline == "\r":
                x = 0
            else:
                cursor.x, cursor.y, cursor.attrs, x = x, y, styles[ord(state.sid)], -1
                screen.linefeed()
                x, y = cursor.x, cursor.y
    finally:
        # x is -1 while a screen method runs: if it raised, the cursor is what it left.
        if x >= 0:
            cursor.x = x
            cursor.y = y
            cursor.attrs = styles[ord(state.sid)]
        if last:
            screen._last_char = last[-1]
        if scrolled:
            screen._dirty_all = True


def _put_ascii_wrapping(
    screen: TerminalScreen, x: int, y: int, cells: str, sty: str
) -> tuple[int, int]:
    """Write printable ASCII ``cells`` (style ids ``sty``) at (x, y) with autowrap.

    Returns the new cursor position. Each wrap happens in the style of the character that
    wraps, as when drawing one character after another.
    """
    cursor = screen.cursor
    columns = screen.columns
    styles = screen._ids.styles
    mark = screen.dirty.add
    count = len(cells)
    pos = 0
    while pos < count:
        if x >= columns:
            mark(y)
            cursor.x, cursor.y, cursor.attrs = 0, y, styles[ord(sty[pos])]
            screen.linefeed()
            x, y = cursor.x, cursor.y
        stop = pos + columns - x
        piece = cells[pos:stop]
        end = x + len(piece)
        rows = screen._rows
        text, old_sty = rows[y]
        rows[y] = (text[:x] + piece + text[end:], old_sty[:x] + sty[pos:stop] + old_sty[end:])
        x = end
        pos = stop
    mark(y)
    return x, y


def run_lines(screen: TerminalScreen, lines: list[str]) -> None:
    """Draw ``lines`` of styled text (text and ``ESC [ ... m``), each followed by CR LF."""
    mode = screen.mode
    if (
        mo.IRM in mode
        or (screen.g1_charset if screen.charset else screen.g0_charset) is not cs.LAT1_MAP
        or screen.margins is not None
    ):
        crlf = ("", "", "", "", "", "\r\n")
        for line in lines:
            if "\t" in line:
                _draw_tabbed(screen, line)
                screen.carriage_return()
                screen.linefeed()
            else:
                run_tokens(screen, [("", line, "\r\n", "", "", "") if line else crlf])
        return
    if len(lines) > _BULK_MIN:
        plain = _plain(screen, lines)
        if plain is not None:
            # Lines until the cursor is at the start of the bottom row (and the first
            # line in bulk lands on a blank row when tabs skip cells), then the rest.
            cursor = screen.cursor
            if plain is lines:
                head = max(screen.lines - 1 - cursor.y, 1 if cursor.x else 0)
            else:  # one more line, so that the bulk starts on a row a line feed brought in
                head = screen.lines - cursor.y
            if head:
                _draw_lines(screen, lines[:head])
            if head < len(lines):
                _scroll_in_plain(screen, plain[head:], lines[head:])
            return
    _draw_lines(screen, lines)


_BULK_MIN = 8


def _plain(screen: TerminalScreen, lines: list[str]) -> list[str] | None:
    """``lines`` as the cells they fill when every one is printable ASCII without escapes
    that fits on a row, else None.

    Tabs count too when they can only mean spaces: stops every 8 columns and cells drawn
    in the same style a tab leaves (the blank rows' fill), so ``expandtabs`` gives the row.
    """
    joined = "".join(lines)
    if not joined.isascii():
        return None
    columns = screen.columns
    if "\t" in joined:
        ids = screen._ids
        state = ids.state(ids.id_of(screen.cursor.attrs))  # type: ignore[arg-type]
        if state.sid != state.fill or screen.tabstops != set(range(8, columns, 8)):
            return None
        lines = [line.expandtabs(8) for line in lines]
        joined = "".join(lines)
    if joined.isprintable() and max(map(len, lines)) <= columns:
        return lines
    return None


def _draw_tabbed(screen: TerminalScreen, line: str) -> SgrState:
    """A styled line with tabs through the screen's own methods (without its CR LF)."""
    ids = screen._ids
    state = ids.state(ids.id_of(screen.cursor.attrs))  # type: ignore[arg-type]
    for index, piece in enumerate(line.split("\t")):
        if index:
            screen.tab()
        if piece:
            state = _draw_styled(screen, piece, state)
    return state


def _scroll_in_plain(screen: TerminalScreen, lines: list[str], written: list[str]) -> None:
    """``lines`` drawn at the start of the bottom row, each followed by CR LF, as a batch.

    The cursor is at column 0 of the bottom row, no margins. The first line overwrites the
    start of the bottom row; every later one lands on the blank row the previous line feed
    brought in. So the rows that end up on screen and in the scrollback can be built in
    one go, and the screen's rows replaced by slicing instead of one pop and append a line:
    the result is the same as :func:`_draw_lines` gives, row for row. ``written`` is
    the lines as they came (with their tabs): the last character drawn comes from them.
    """
    ids = screen._ids
    cursor = screen.cursor
    state = ids.state(ids.id_of(cursor.attrs))  # type: ignore[arg-type]
    sid = state.sid
    fill = state.fill
    blank = screen._blank(fill)
    columns = screen.columns
    rows = screen._rows
    text, sty = rows[-1]
    first = lines[0]
    count = len(first)
    # A later line's row depends only on its text and length: blank rows are spaces, and
    # the style string of a line of n cells is one of columns + 1, made once per batch.
    style_of_length = [sid * n + fill * (columns - n) for n in range(columns + 1)]
    rest = lines[1:]
    built = [(first + text[count:], sid * count + sty[count:])]
    built += zip(
        map(str.ljust, rest, repeat(columns)),
        map(style_of_length.__getitem__, map(len, rest)),
        strict=True,
    )
    built.append(blank)
    scrolled = rows[:-1] + built
    height = screen.lines
    history = screen._history
    if not screen.alternate_screen and history.maxlen != 0:
        history.extend(scrolled[:-height])
    rows[:] = scrolled[-height:]
    cursor.x = 0
    cursor.y = height - 1
    for line in reversed(written):
        line = line.replace("\t", "")
        if line:
            screen._last_char = line[-1]
            break
    screen.dirty.add(height - 1)
    screen._dirty_all = True


def _draw_lines(screen: TerminalScreen, lines: list[str]) -> None:
    mode = screen.mode
    ids = screen._ids
    styles = ids.styles
    cursor = screen.cursor
    rows = screen._rows
    columns = screen.columns
    bottom = screen.lines - 1
    mark = screen.dirty.add
    history = screen._history
    keep = not screen.alternate_screen and history.maxlen != 0
    autowrap = mo.DECAWM in mode
    scrolled = False
    scroll_state = None  # the state the cached blank row below was made for
    scroll_blank = rows[0]
    last = ""  # the last text drawn here, for REP
    x = cursor.x
    y = cursor.y
    state = ids.state(ids.id_of(cursor.attrs))  # type: ignore[arg-type]
    try:
        for line in lines:
            start_state = state
            if "\t" in line:
                cells = ""  # drawn right here through the screen's own methods
                cursor.x, cursor.y, x = x, y, -1
                if last:
                    screen._last_char = last[-1]
                    last = ""
                cursor.attrs = styles[ord(state.sid)]
                state = _draw_tabbed(screen, line)
                x, y = cursor.x, cursor.y
            elif "\x1b" in line:
                cells, sty, state = _styled(line, state)
            else:
                cells = line
                sty = ""
            count = len(cells)
            if count:
                stop = x + count
                if stop <= columns and cells.isascii():
                    text, old_sty = rows[y]
                    if not sty:
                        sty = state.sid * count
                    if x:
                        rows[y] = (
                            text[:x] + cells + text[stop:],
                            old_sty[:x] + sty + old_sty[stop:],
                        )
                    else:
                        rows[y] = (cells + text[stop:], sty + old_sty[stop:])
                    x = stop
                    mark(y)
                    last = cells
                elif autowrap and cells.isascii():
                    x, y = _put_ascii_wrapping(screen, x, y, cells, sty or state.sid * count)
                    last = cells
                else:
                    cursor.x, cursor.y, x = x, y, -1
                    if last:
                        screen._last_char = last[-1]
                        last = ""
                    cursor.attrs = styles[ord(start_state.sid)]
                    if sty or not autowrap:
                        state = _draw_styled(screen, line, start_state)
                    else:
                        put_text(screen, line)  # what draw() does with non-ASCII text
                    x, y = cursor.x, cursor.y
            # CR LF
            x = 0
            if y < bottom:
                y += 1
            else:
                # The top row moves to the scrollback and a blank row comes in.
                old = rows.pop(0)
                if keep:
                    history.append(old)
                if state is not scroll_state:
                    scroll_state = state
                    scroll_blank = screen._blank(state.fill)
                rows.append(scroll_blank)
                scrolled = True
    finally:
        # x is -1 while a screen method runs: if it raised, the cursor is what it left.
        if x >= 0:
            cursor.x = x
            cursor.y = y
            cursor.attrs = styles[ord(state.sid)]
        if last:
            screen._last_char = last[-1]
        if scrolled:
            screen._dirty_all = True


def _run_tokens_slowly(screen: TerminalScreen, tokens: list[Token]) -> None:
    """The same tokens through the screen's methods (insert mode, other charsets)."""
    csi = screen._stream._csi_handlers
    params_of = screen._stream.params
    for cup, run, end, params, final, newline in tokens:
        if run:
            if cup:
                screen.cursor_position(*params_of(cup[2:-1]))
            pieces = run.split("\x1b[")
            screen.draw(pieces[0])
            for index in range(1, len(pieces)):
                params, _, text = pieces[index].partition("m")
                screen.select_graphic_rendition(*params_of(params))
                screen.draw(text)
            params = ""
            if end == "\r\n":
                newline = end
            elif end:
                screen.erase_in_line(0)
        if final == "m":
            screen.select_graphic_rendition(*params_of(params))
        elif params == "?25":
            (screen.set_mode if final == "h" else screen.reset_mode)(25, private=True)
        elif final:
            csi[final](*params_of(params))
        elif newline:
            if newline.startswith("\r"):
                screen.carriage_return()
            if newline.endswith("\n"):
                screen.linefeed()
