"""Colour and attribute mapping from screen cells to Rich segments."""

from __future__ import annotations

import pytest
from rich.color import Color
from rich.style import Style as RichStyle

from pocketenv_tui.terminal.screen.style import Style, apply_sgr
from pocketenv_tui.terminal.widget.render import (
    StyleCache,
    build_strip,
    overlay,
    to_rich_color,
    to_rich_style,
)


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ("black", 0), ("red", 1), ("green", 2), ("brown", 3), ("blue", 4),
        ("magenta", 5), ("cyan", 6), ("white", 7), ("brightblack", 8), ("brightred", 9),
        ("brightbrown", 11), ("brightmagenta", 13), ("brightwhite", 15),
    ],
)
def test_pyte_colour_names_map_to_ansi_numbers(name: str, number: int) -> None:
    assert to_rich_color(name) == Color.from_ansi(number)


def test_default_and_unknown_colours_leave_the_theme_in_charge() -> None:
    assert to_rich_color("default") is None
    assert to_rich_color("no-such-colour") is None


def test_hex_colours_are_truecolour() -> None:
    assert to_rich_color("ff8700") == Color.from_rgb(255, 135, 0)


def test_every_sgr_colour_parses() -> None:
    # Whatever the screen produces for SGR 30-37, 40-47, 90-97, 100-107, 38;5;n, 48;5;n.
    params = [(n,) for n in [*range(30, 38), *range(40, 48), *range(90, 98), *range(100, 108)]]
    params += [(38, 5, n) for n in range(256)] + [(48, 5, n) for n in range(256)]
    for p in params:
        style = apply_sgr(Style(), p)
        colour = style.fg if style.fg != "default" else style.bg
        assert to_rich_color(colour) is not None, (p, colour)


def test_attributes_are_all_mapped() -> None:
    style = Style(fg="red", bg="0000ff", bold=True, italics=True, underscore=True,
                  strikethrough=True, reverse=True, blink=True)
    rich = to_rich_style(style)
    assert rich.color == Color.from_ansi(1)
    assert rich.bgcolor == Color.from_rgb(0, 0, 255)
    assert (rich.bold, rich.italic, rich.underline, rich.strike, rich.reverse, rich.blink) == (
        True, True, True, True, True, True
    )
    plain = to_rich_style(Style())
    assert plain.color is None and plain.bgcolor is None and not plain.bold


def test_default_colours_come_from_the_base_style() -> None:
    base = RichStyle(color="#e5e5e5", bgcolor="#06051d")
    cache = StyleCache(base)
    assert cache.get(Style()).bgcolor == base.bgcolor
    red = cache.get(Style(fg="red"))
    assert red.color == Color.from_ansi(1) and red.bgcolor == base.bgcolor
    assert cache.get(Style(fg="red")) is red  # cached


def test_strip_is_padded_to_width_and_handles_wide_cells() -> None:
    cache = StyleCache(RichStyle(bgcolor="#000000"))
    strip = build_strip([("a中", Style()), ("", Style()), ("b", Style(fg="red"))], 10, cache)
    assert strip.cell_length == 10
    assert strip.text.startswith("a中b")
    cropped = build_strip([("x" * 20, Style())], 5, cache)
    assert cropped.text == "xxxxx"


def test_a_row_of_known_width_builds_the_same_strip_without_measuring() -> None:
    from pocketenv_tui.terminal.screen import TerminalScreen

    cache = StyleCache(RichStyle(bgcolor="#000000"))
    screen = TerminalScreen(12, 3)
    screen.feed("a中\x1b[31mb🙂e\u0301\r\n\x1b[7mreverse wide 漢字\r\nplain".encode())
    for y in range(screen.lines):
        runs = screen.line_runs(y)
        for width in (12, 8, 15):  # the widget's width may lag the screen's during a resize
            known = build_strip(runs, width, cache, screen.columns)
            measured = build_strip(runs, width, cache)
            assert known.cell_length == measured.cell_length == width
            assert list(known) == list(measured)


def test_overlay_reverses_only_the_given_cells() -> None:
    cache = StyleCache(RichStyle())
    strip = build_strip([("hello", Style())], 8, cache)
    marked = overlay(strip, 1, 3)
    assert marked.cell_length == 8
    assert marked.text == strip.text
    styles = [(seg.text, bool(seg.style and seg.style.reverse)) for seg in marked]
    assert ("el", True) in styles
    assert all(not rev for text, rev in styles if text != "el")
    # A cell already in reverse video toggles back, so the cursor stays visible on it.
    rev = build_strip([("ab", Style(reverse=True))], 2, cache)
    assert not list(overlay(rev, 0, 1).crop(0, 1))[0].style.reverse
