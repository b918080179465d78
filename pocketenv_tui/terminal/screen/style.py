"""Cell attributes for :class:`~pocketenv_tui.terminal.screen.TerminalScreen`.

A :class:`Style` is what pyte calls a ``Char`` minus its ``data``: colours follow pyte's
conventions (``"default"``, a colour name such as ``"red"``, ``"brown"`` for yellow,
``"brightblack"``, or six hex digits for 256-colour and truecolour) and the six boolean
flags have pyte's names. Every style the screen stores comes out of :func:`intern_style`
or :func:`apply_sgr`, so equal styles are normally the same object and comparing runs is
an identity check.
"""

from __future__ import annotations

from typing import NamedTuple

from pyte import graphics as g


class Style(NamedTuple):
    """Attributes shared by every cell drawn with the same SGR state."""

    fg: str = "default"
    bg: str = "default"
    bold: bool = False
    italics: bool = False
    underscore: bool = False
    strikethrough: bool = False
    reverse: bool = False
    blink: bool = False


_INTERNED: dict[Style, Style] = {}


def intern_style(style: Style) -> Style:
    """Return the canonical object equal to ``style``."""
    found = _INTERNED.get(style)
    if found is None:
        # Long sessions with truecolour gradients could mint many styles; past a bound we
        # stop interning new ones (equality still works, only identity sharing is lost).
        if len(_INTERNED) < 65536:
            _INTERNED[style] = style
        return style
    return found


DEFAULT_STYLE = intern_style(Style())

# pyte 0.8.2 spells SGR 105 "bfightmagenta"; a widget mapping "bright*" names would choke on
# it, so the table used here carries the intended name. Nothing else differs from pyte.
_BG_AIXTERM = {**g.BG_AIXTERM, 105: "brightmagenta"}
_FLAG_NAMES = frozenset(Style._fields[2:])

# (previous style, SGR parameters) -> resulting style. Programs repeat the same handful of
# SGR sequences thousands of times, so after warm-up applying one is a dict lookup.
_SGR_CACHE: dict[tuple[Style, tuple[int, ...]], Style] = {}
_SGR_CACHE_LIMIT = 65536


def apply_sgr(current: Style, params: tuple[int, ...]) -> Style:
    """The style after ``CSI params m`` is applied to ``current`` (pyte's semantics)."""
    key = (current, params)
    cached = _SGR_CACHE.get(key)
    if cached is not None:
        return cached
    result = compute_sgr(current, params)
    if len(_SGR_CACHE) >= _SGR_CACHE_LIMIT:
        _SGR_CACHE.clear()
    _SGR_CACHE[key] = result
    return result


_FIELD = {name: index for index, name in enumerate(Style._fields)}
# Every single-number SGR code pyte knows, as (field index, value).
_SIMPLE_CODES: dict[int, tuple[int, object]] = {
    **{code: (_FIELD["fg"], name) for code, name in g.FG_ANSI.items()},
    **{code: (_FIELD["bg"], name) for code, name in g.BG_ANSI.items()},
    **{code: (_FIELD["fg"], name) for code, name in g.FG_AIXTERM.items()},
    **{code: (_FIELD["bg"], name) for code, name in _BG_AIXTERM.items()},
    **{
        code: (_FIELD[name[1:]], name.startswith("+"))
        for code, name in g.TEXT.items()
        if name[1:] in _FLAG_NAMES
    },
}


def compute_sgr(current: Style, params: tuple[int, ...]) -> Style:
    """``apply_sgr`` without its cache."""
    if not params or params == (0,):
        return DEFAULT_STYLE
    values = list(current)
    index = 0
    count = len(params)
    while index < count:
        attr = params[index]
        index += 1
        simple = _SIMPLE_CODES.get(attr)
        if simple is not None:
            values[simple[0]] = simple[1]
        elif attr == 0:
            values = list(DEFAULT_STYLE)
        elif attr == g.FG_256 or attr == g.BG_256:
            field = 0 if attr == g.FG_256 else 1
            # Same tolerance as pyte: a truncated or out-of-range extended colour is
            # dropped, and whatever parameters were consumed stay consumed.
            if index >= count:
                break
            kind = params[index]
            index += 1
            if kind == 5:
                if index >= count:
                    break
                number = params[index]
                index += 1
                if number < len(g.FG_BG_256):
                    values[field] = g.FG_BG_256[number]
            elif kind == 2:
                if index + 3 > count:
                    break
                red, green, blue = params[index : index + 3]
                index += 3
                # pyte would format 300 as "12c"; clamping keeps the promised six
                # hex digits (colours never affect ``display``).
                values[field] = f"{min(red, 255):02x}{min(green, 255):02x}{min(blue, 255):02x}"
    return intern_style(Style._make(values))


def reversed_style(style: Style) -> Style:
    """``style`` with its reverse flag flipped (used for DECSCNM, whole-screen reverse)."""
    return intern_style(style._replace(reverse=not style.reverse))
