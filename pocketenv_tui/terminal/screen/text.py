"""Drawing runs of non-ASCII text onto the string rows of ``rows``.

:func:`put_text` builds the cells of a whole run at once: ``special_splitter`` cuts it into
one-cell BMP pieces (each character a cell as it is) and "special" pieces, which are looked
up in a cache of their kind: all wide (each character gets its stub cell), all zero-width
(they join the cell before them, NFC-normalised, through ``CellCodec.join``) or mixed (looked
at character by character). The cells are then written with pyte's wrapping rules.

Where the order of wrapping and joining would matter (a zero-width character after a wide
one or at the start of the run, no autowrap, scroll margins) the screen's exact
per-character path decides, so the result is always what drawing one character after
another gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyte import modes as mo

from .rows import STUB
from .width import char_width, special_splitter, zero_or_wide_matcher

if TYPE_CHECKING:
    from .emulator import TerminalScreen

__all__ = ["put_text"]

# A special piece (see ``special_splitter``) -> its cells when all its characters are wide,
# "" when all are zero-width, _MIXED otherwise. Output repeats the same pieces (a word of
# CJK, an emoji, an accent), so this saves classifying them every time.
_MIXED = "\x01"
_KINDS: dict[str, str] = {}
_KINDS_LIMIT = 8192


def _kind(special: str) -> str:
    match = zero_or_wide_matcher()(special)
    if match is None:
        kind = _MIXED
    elif match.lastindex == 2:
        kind = STUB.join(special) + STUB
    else:
        kind = ""
    if len(_KINDS) >= _KINDS_LIMIT:
        _KINDS.clear()
    _KINDS[special] = kind
    return kind


def put_text(screen: TerminalScreen, data: str) -> None:
    """Draw ``data`` (any text without C0 controls the parser acts on) like pyte would."""
    if mo.DECAWM not in screen.mode or screen.margins is not None or screen.lines < 2:
        # Without autowrap, or where a wrap may not leave the previous row right above
        # the cursor, a combining mark at a wrap point is placed differently.
        screen._draw_segments(data)
        return
    codec = screen._codec
    join = codec.join
    joined = codec.joined
    parts = special_splitter()(data)
    specials = parts[1::2]
    kinds = list(map(_KINDS.get, specials))
    if None in kinds:
        kinds = [
            _kind(special) if kind is None else kind
            for special, kind in zip(specials, kinds, strict=True)
        ]
    if _MIXED in kinds:
        _put_text_mixed(screen, parts)
        return
    # Every special piece is all wide or all zero-width: the cells are the pieces with the
    # wide ones given their stubs and each zero-width one joined to the cell before it.
    if parts[-1]:
        last_base = parts[-1][-1]  # the usual case: the run ends with narrow text
    else:
        last_base = ""
        for index in range(len(parts) - 2, -1, -1):
            if index & 1:
                if kinds[index >> 1]:
                    last_base = parts[index][-1]
                    break
            elif parts[index]:
                last_base = parts[index][-1]
                break
    trailing_mark = False
    if "" in kinds:
        for index, kind in enumerate(kinds):
            if not kind:
                before = parts[2 * index]
                if not before:
                    # After a wide character or at the start of the run the mark's target
                    # depends on the cursor: the exact path decides.
                    _put_text_mixed(screen, parts)
                    return
                key = before[-1] + specials[index]
                parts[2 * index] = before[:-1] + (joined.get(key) or join(key))
        trailing_mark = not kinds[-1] and not parts[-1]
    parts[1::2] = kinds
    _place(screen, "".join(parts), trailing_mark, last_base)


def _put_text_mixed(screen: TerminalScreen, parts: list[str]) -> None:
    """``put_text`` for pieces of mixed widths, character by character where needed."""
    codec = screen._codec
    encode = codec.encode
    join = codec.join
    joined = codec.joined
    kinds = _KINDS
    out: list[str] = []  # encoded cells, in pieces
    joinable = False  # out[-1] ends with a narrow cell a zero-width character may join
    trailing_mark = False
    last_base = ""
    narrow = parts[0]
    if narrow:  # one-cell BMP characters: each one a cell as it is
        out.append(narrow)
        joinable = True
        last_base = narrow[-1]
    for index in range(1, len(parts), 2):
        special = parts[index]
        kind = kinds.get(special)
        if kind is None:
            kind = _kind(special)
        if not kind:
            if joinable:
                # Zero-width characters after a narrow cell join it.
                piece = out[-1]
                key = piece[-1] + special
                out[-1] = piece[:-1] + (joined.get(key) or join(key))
                trailing_mark = True
            else:
                _layout(screen, "".join(out), trailing_mark)
                out.clear()
                trailing_mark = False
                for char in special:
                    screen._draw_char(char)
        elif kind is not _MIXED:  # wide characters, each with its stub
            out.append(kind)
            joinable = trailing_mark = False
            last_base = special[-1]
        else:
            for char in special:
                width = char_width(char)
                if width == 1:
                    out.append(encode(char))
                    joinable = True
                    trailing_mark = False
                    last_base = char
                elif width == 2:
                    out.append(encode(char) + STUB)
                    joinable = trailing_mark = False
                    last_base = char
                elif width == 0:
                    if joinable and char != STUB:
                        piece = out[-1]
                        out[-1] = piece[:-1] + join(piece[-1] + char)
                        trailing_mark = True
                    else:
                        # After a wide character or at the start of the run the mark's
                        # target depends on the cursor: the exact path decides.
                        _layout(screen, "".join(out), trailing_mark)
                        out.clear()
                        joinable = trailing_mark = False
                        screen._draw_char(char)
                # width < 0: unprintable, ignored
        narrow = parts[index + 1]
        if narrow:
            out.append(narrow)
            joinable = True
            trailing_mark = False
            last_base = narrow[-1]
    _place(screen, "".join(out), trailing_mark, last_base)


def _place(screen: TerminalScreen, cells: str, trailing_mark: bool, last_base: str) -> None:
    """Write encoded ``cells`` at the cursor: in one piece when they fit, else laid out."""
    cursor = screen.cursor
    x = cursor.x
    if x + len(cells) < screen.columns:
        # Fits with room to spare: no wrap, and a trailing mark cannot be at a wrap point.
        if cells:
            screen._put_cells(cursor.y, x, cells, screen._cursor_id())
            cursor.x = x + len(cells)
            screen.dirty.add(cursor.y)
    else:
        _layout(screen, cells, trailing_mark)
    if last_base:
        screen._last_char = last_base


def _layout(screen: TerminalScreen, cells: str, trailing_mark: bool) -> None:
    """Write encoded ``cells`` at the cursor in its style, wrapping as pyte does."""
    if not cells:
        return
    cursor = screen.cursor
    columns = screen.columns
    sid = screen._cursor_id()
    put = screen._put_cells
    mark = screen.dirty.add
    count = len(cells)
    pos = 0
    x = cursor.x
    while pos < count:
        if x >= columns:
            mark(cursor.y)
            cursor.x = 0
            screen.linefeed()
            x = cursor.x
        piece = cells[pos : pos + columns - x]
        pos += len(piece)
        if pos < count and cells[pos] == STUB:
            pos += 1  # a wide character took the last cell: pyte drops its stub
        put(cursor.y, x, piece, sid)
        x += len(piece)
        mark(cursor.y)
    cursor.x = x
    if trailing_mark and x >= columns:
        # pyte wraps when a zero-width character arrives at the pending-wrap position
        # (and marks the row it lands on).
        mark(cursor.y)
        cursor.x = 0
        screen.linefeed()
        mark(cursor.y)
