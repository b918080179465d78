"""Turning terminal cells into Rich segments: colour mapping, style cache, overlays.

Kept apart from the widget so the mapping rules can be tested without an App.

Colour names follow pyte: the eight ANSI names with ``"brown"`` for yellow, the same with a
``"bright"`` prefix for the aixterm colours 90-97/100-107, six hex digits for 256-colour and
truecolour, and ``"default"``. ANSI names become Rich *standard* colours (numbers 0-15) so
Textual renders them through the active theme's ANSI palette, exactly like the user's own
terminal would; ``"default"`` becomes no colour, so the widget's own (theme) foreground and
background show through.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Protocol

from rich.color import Color, ColorParseError
from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.strip import Strip

_BASE_NAMES = ("black", "red", "green", "brown", "blue", "magenta", "cyan", "white")
ANSI_INDEX: dict[str, int] = {}
for _i, _name in enumerate(_BASE_NAMES):
    ANSI_INDEX[_name] = _i
    ANSI_INDEX["bright" + _name] = _i + 8
# Spellings pyte never emits but a screen or a future pyte may: accept them all the same.
ANSI_INDEX.update({"yellow": 3, "brightyellow": 11, "bright_yellow": 11, "grey": 8, "gray": 8})
for _i, _name in enumerate(_BASE_NAMES):
    ANSI_INDEX["bright_" + _name] = _i + 8
# pyte 0.8.2 misspells SGR 105 as "bfightmagenta".
ANSI_INDEX["bfightmagenta"] = 13

_HEX = frozenset("0123456789abcdefABCDEF")


class CellStyle(Protocol):
    """What the widget needs from the screen's Style (see style.Style)."""

    fg: str
    bg: str
    bold: bool
    italics: bool
    underscore: bool
    strikethrough: bool
    reverse: bool
    blink: bool

    def __hash__(self) -> int: ...


def to_rich_color(name: str) -> Color | None:
    """A pyte colour name as a Rich colour; None for "default" (the theme decides)."""
    if not name or name == "default":
        return None
    index = ANSI_INDEX.get(name)
    if index is not None:
        return Color.from_ansi(index)
    if len(name) == 6 and _HEX.issuperset(name):
        return Color.from_rgb(int(name[0:2], 16), int(name[2:4], 16), int(name[4:6], 16))
    try:
        return Color.parse(name)
    except ColorParseError:
        return None  # an unknown name renders in the default colour rather than crashing


def to_rich_style(style: CellStyle) -> RichStyle:
    """The Rich style for one run of cells, without the widget's default colours."""
    return RichStyle(
        color=to_rich_color(style.fg),
        bgcolor=to_rich_color(style.bg),
        bold=style.bold or None,
        italic=style.italics or None,
        underline=style.underscore or None,
        strike=style.strikethrough or None,
        reverse=style.reverse or None,
        blink=style.blink or None,
    )


class StyleCache:
    """Rich styles per screen Style, combined with the widget's base (theme) style."""

    def __init__(self, base: RichStyle) -> None:
        self.base = base
        self._cache: dict[Hashable, RichStyle] = {}

    def reset(self, base: RichStyle) -> None:
        self.base = base
        self._cache.clear()

    def get(self, style: CellStyle) -> RichStyle:
        found = self._cache.get(style)
        if found is None:
            found = self.base + to_rich_style(style)
            if len(self._cache) > 8192:  # truecolour gradients can mint many styles
                self._cache.clear()
            self._cache[style] = found
        return found


def build_strip(
    runs: list[tuple[str, CellStyle]], width: int, styles: StyleCache, cells: int | None = None
) -> Strip:
    """One screen row as a Strip exactly ``width`` cells wide, padded with the base style.

    ``cells``, when given, is how many cells the runs span (a screen row always spans its
    ``columns``): then nothing measures the text again, which is most of the cost of a row
    when a flood repaints the whole screen every frame.
    """
    get = styles.get
    segments = [Segment(text, get(style)) for text, style in runs if text]
    if cells is not None:
        strip = Strip(segments, cells)
        return strip if cells == width else strip.adjust_cell_length(width, styles.base)
    return Strip(segments).adjust_cell_length(width, styles.base)


def _toggle_reverse(style: RichStyle | None) -> RichStyle:
    style = style or RichStyle()
    return style + RichStyle(reverse=not style.reverse)


def overlay(
    strip: Strip,
    start: int,
    end: int,
    change: Callable[[RichStyle | None], RichStyle] = _toggle_reverse,
) -> Strip:
    """``strip`` with cells [start, end) restyled by ``change`` (reverse video by default)."""
    width = strip.cell_length
    start, end = max(0, start), min(width, end)
    if start >= end:
        return strip
    left, middle, right = strip.divide([start, end, width])
    middle = Strip(
        [Segment(seg.text or " ", change(seg.style)) for seg in middle], end - start
    )
    return Strip.join([left, middle, right])
