"""Row storage for :class:`~pocketenv_tui.terminal.screen.TerminalScreen`.

A row is an immutable pair of equally long strings ``(text, sty)``: one code point per cell.
Strings make the hot paths cheap: writing a run of text is a couple of slices and
concatenations done in C, a blank row is one shared tuple, and scrolling moves tuples
between a list and the scrollback deque without copying cells.

``text[x]`` encodes cell x:

- ``"\\x00"`` is the empty cell pyte leaves right of a wide character (``""`` in pyte); the
  parser never draws NUL, so it cannot clash with real text;
- a code point of the placeholder range (plane 16) stands for a cell of several code points
  (a base character with combining marks that NFC does not compose, an emoji with a
  variation selector) or for a real plane-16 character; :class:`CellCodec` keeps the table;
- any other code point is the cell's text itself.

``sty[x]`` is the id of cell x's :class:`Style`: ``chr(n)`` for the n-th style of
:class:`StyleIds`. Equal styles always get the same id, so runs of equal styles are runs of
equal characters.

Both tables only grow while a feed runs and are compacted (ids no live row uses are
recycled) between feeds; see :meth:`StyleIds.compact`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .parser import sgr_text_step
from .style import DEFAULT_STYLE, Style, intern_style
from .width import char_width

__all__ = ["STUB", "CellCodec", "Row", "SgrState", "StyleIds", "drawable_cells", "visible_text"]

Row = tuple[str, str]

STUB = "\x00"
DEFAULT_ID = "\x00"
PLACEHOLDER_BASE = 0x100000
PLACEHOLDER_LIMIT = 0x10FFFE - PLACEHOLDER_BASE
_FIRST_PLACEHOLDER = chr(PLACEHOLDER_BASE)
_TRANSITIONS_LIMIT = 65536
# Compact the style table once it holds this many ids, or twice the ids live at the last
# compaction (so a session with many live styles does not compact on every feed).
_COMPACT_MIN = 65536
_SAME_STYLE = re.compile(r"(.)\1*", re.S)


_HEX = [f"{value:02x}" for value in range(256)]
# (style, SGR parameter text) -> style, shared by every screen of the process (each screen's
# automaton starts empty; a new shell tab then need not recompute the same transitions).
_STEPS: dict[tuple[Style, str], Style] = {}
_STEPS_LIMIT = 131072


def _direct_colour(current: Style, params: str) -> Style | None:
    """``CSI 38;2;r;g;b m`` and friends (one colour, nothing else) without the general
    SGR machinery: truecolour output makes every transition new, so this path is hot."""
    parts = params.split(";")
    if len(parts) != 5 or parts[1] != "2" or (parts[0] != "38" and parts[0] != "48"):
        return None
    if not (parts[2].isdigit() and parts[3].isdigit() and parts[4].isdigit()):
        return None
    # The same clamp and spelling as style.compute_sgr.
    colour = (
        _HEX[min(int(parts[2]), 255)]
        + _HEX[min(int(parts[3]), 255)]
        + _HEX[min(int(parts[4]), 255)]
    )
    if parts[0] == "38":
        return tuple.__new__(Style, (colour, *current[1:]))
    return tuple.__new__(Style, (current[0], colour, *current[2:]))


class SgrState(dict[str, "SgrState"]):
    """One style as a state of the SGR automaton: ``state[params]`` is the state after
    ``CSI params m``. Transitions are computed on first use (``__missing__``) and are then
    one dict lookup keyed by the raw parameter text (no parsing, no Style hashing)."""

    __slots__ = ("default", "fill", "ids", "sid")

    def __init__(self, ids: StyleIds, sid: str, default: SgrState | None) -> None:
        self.ids = ids
        self.sid = sid
        #: Id of the style erased cells get while this one is current (xterm's bce).
        self.fill = DEFAULT_ID if ids.styles[ord(sid)].bg == "default" else ids.fill_of(sid)
        self.default = self if default is None else default
        # SGR 0 (the commonest sequence) leads to the default style from anywhere.
        self["0"] = self[""] = self.default

    def __missing__(self, params: str) -> SgrState:
        ids = self.ids
        current = ids.styles[ord(self.sid)]
        key = (current, params)
        style = _STEPS.get(key)
        if style is None:
            style = _direct_colour(current, params) or sgr_text_step(current, params)
            if len(_STEPS) >= _STEPS_LIMIT:
                _STEPS.clear()
            _STEPS[key] = style
        state = ids.state(ids.id_of(style))
        if len(self) >= _TRANSITIONS_LIMIT:
            # Truecolour output mints endless distinct transitions.
            self.clear()
            self["0"] = self[""] = self.default
        self[params] = state
        return state


class StyleIds:
    """Styles <-> one-character ids, and the SGR automaton over them (:class:`SgrState`)."""

    #: Ids are code points; tests lower this to exercise compaction.
    limit = 0x110000

    def __init__(self) -> None:
        self.ids: dict[Style, str] = {DEFAULT_STYLE: DEFAULT_ID}
        self.styles: list[Style] = [DEFAULT_STYLE]
        self.free: list[int] = []
        #: style id -> id of the style erased cells get (xterm's bce: background only).
        self.fill: dict[str, str] = {DEFAULT_ID: DEFAULT_ID}
        self.states: dict[str, SgrState] = {}
        self._live = 0
        self._last_style = DEFAULT_STYLE
        self._last_id = DEFAULT_ID

    def id_of(self, style: Style) -> str:
        if style is self._last_style:
            return self._last_id
        sid = self.ids.get(style)
        if sid is None:
            if self.free:
                index = self.free.pop()
                self.styles[index] = style
            elif len(self.styles) < self.limit:
                index = len(self.styles)
                self.styles.append(style)
            else:
                # Every id is taken within one feed (millions of truecolour cells): the
                # cell loses its colours rather than corrupting another style.
                return DEFAULT_ID
            sid = chr(index)
            self.ids[style] = sid
        self._last_style = style
        self._last_id = sid
        return sid

    def style(self, sid: str) -> Style:
        return self.styles[ord(sid)]

    def state(self, sid: str) -> SgrState:
        state = self.states.get(sid)
        if state is None:
            default = self.states.get(DEFAULT_ID)
            if default is None:
                default = self.states[DEFAULT_ID] = SgrState(self, DEFAULT_ID, None)
            state = default if sid == DEFAULT_ID else SgrState(self, sid, default)
            self.states[sid] = state
        return state

    def after_sgr(self, sid: str, params: str) -> str:
        """Id of the style after ``CSI params m`` applied to style ``sid``."""
        return self.state(sid)[params].sid

    def fill_of(self, sid: str) -> str:
        """Id of the style blank cells get when erased while ``sid`` is current."""
        fill = self.fill.get(sid)
        if fill is None:
            bg = self.styles[ord(sid)].bg
            fill = DEFAULT_ID if bg == "default" else self.id_of(intern_style(Style(bg=bg)))
            self.fill[sid] = fill
        return fill

    def needs_compaction(self) -> bool:
        threshold = min(max(_COMPACT_MIN, 2 * self._live), self.limit // 2)
        return len(self.styles) - len(self.free) > threshold

    def compact(self, sty_strings: Iterable[str], keep: Iterable[Style]) -> None:
        """Recycle the ids no row uses; ``keep`` are styles still referenced elsewhere."""
        used = {DEFAULT_ID}
        for sty in sty_strings:
            used.update(sty)
        used.update(self.ids[style] for style in keep if style in self.ids)
        self._live = len(used)
        self.free = [index for index in range(len(self.styles)) if chr(index) not in used]
        for index in self.free:
            style = self.styles[index]
            if self.ids.get(style) == chr(index):  # not freed before
                del self.ids[style]
            self.styles[index] = DEFAULT_STYLE
        self.free.reverse()  # hand out low ids first: strings stay narrow
        self.states.clear()
        self.fill = {DEFAULT_ID: DEFAULT_ID}
        self._last_style = DEFAULT_STYLE
        self._last_id = DEFAULT_ID


class CellCodec:
    """Cells of several code points (or in the placeholder range) <-> placeholders."""

    #: Placeholders available; tests lower this to exercise compaction.
    limit = PLACEHOLDER_LIMIT

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.cells: list[str] = []
        self.free: list[int] = []
        #: encoded cell + zero-width characters -> encoded cell they make (see ``join``).
        self.joined: dict[str, str] = {}

    def join(self, key: str) -> str:
        """The encoded cell ``key[0]`` becomes when the characters ``key[1:]`` join it.

        NFC of the cell plus all the marks equals NFC applied mark by mark (canonical
        equivalence), which is what drawing them one at a time does.
        """
        cell = self.encode(unicodedata.normalize("NFC", self.decode(key[0]) + key[1:]))
        if len(self.joined) >= 65536:
            self.joined.clear()
        self.joined[key] = cell
        return cell

    def encode(self, cell: str) -> str:
        """The one code point that stands for ``cell`` in a row's text."""
        if len(cell) == 1 and cell < _FIRST_PLACEHOLDER and cell != STUB:
            return cell
        if not cell:
            return STUB
        code = self.codes.get(cell)
        if code is None:
            if self.free:
                index = self.free.pop()
                self.cells[index] = cell
            elif len(self.cells) < self.limit:
                index = len(self.cells)
                self.cells.append(cell)
            else:
                return self.encode(cell[0])  # table full within one feed: keep the base
            code = chr(PLACEHOLDER_BASE + index)
            self.codes[cell] = code
        return code

    def decode(self, code: str) -> str:
        if code == STUB:
            return ""
        if code >= _FIRST_PLACEHOLDER:
            return self.cells[ord(code) - PLACEHOLDER_BASE]
        return code

    def cells_of(self, text: str) -> list[str]:
        """The cells of a row's text as pyte would hold them."""
        if text.isascii():
            return ["" if char == STUB else char for char in text]
        decode = self.decode
        return [decode(char) for char in text]

    def needs_compaction(self) -> bool:
        return len(self.cells) - len(self.free) > self.limit // 2

    def compact(self, texts: Iterable[str]) -> None:
        used: set[str] = set()
        for text in texts:
            if not text.isascii() and max(text) >= _FIRST_PLACEHOLDER:
                used.update(char for char in text if char >= _FIRST_PLACEHOLDER)
        self.free = [
            index for index in range(len(self.cells)) if chr(PLACEHOLDER_BASE + index) not in used
        ]
        for index in self.free:
            cell = self.cells[index]
            if self.codes.get(cell) == chr(PLACEHOLDER_BASE + index):  # not freed before
                del self.codes[cell]
            self.cells[index] = ""
        self.free.reverse()
        self.joined.clear()  # keys and values may name recycled placeholders


def visible_text(codec: CellCodec, text: str) -> str:
    """A row as pyte's ``display`` shows it: the cell after a wide character is skipped."""
    if text.isascii():
        return text.replace(STUB, "") if STUB in text else text
    out: list[str] = []
    skip = False
    for cell in codec.cells_of(text):
        if skip:
            skip = False
            continue
        out.append(cell)
        skip = bool(cell) and char_width(cell[0]) == 2
    return "".join(out)


def drawable_cells(codec: CellCodec, text: str) -> list[str] | str:
    """Cells fit for drawing: one cell each, "" only right of a wide character.

    Plain ASCII rows come back as the string itself (each character is a cell).
    """
    if text.isascii() and STUB not in text:
        return text
    out = codec.cells_of(text)
    columns = len(out)
    x = 0
    while x < columns:
        cell = out[x]
        width = char_width(cell[0]) if cell else 0
        if width == 2:
            if x + 1 < columns:
                out[x + 1] = ""
                x += 2
                continue
            out[x] = " "  # a wide character cannot show in the last cell
        elif width <= 0:
            out[x] = " " + cell if cell else " "
        x += 1
    return out


def style_runs(sty: str) -> list[tuple[int, int, str]]:
    """(start, stop, style id) for each run of equal styles in ``sty``."""
    return [(match.start(), match.end(), match.group(1)) for match in _SAME_STYLE.finditer(sty)]
