"""One guard between every widget and the terminal: no control character from data reaches it.

Rich and Textual strip only BEL, BS, VT, FF and CR from text; ESC and the rest pass through to
the terminal as they are. A sandbox name, an event message, a file path or an error message
from a server (hosted, self-hosted or a sandbox writing into our own records) could then set the
clipboard (OSC 52), clear the screen, retitle the window or reorder what the user reads (bidi
overrides). Cleaning each field where it is shown would miss the next field someone adds, so
every line every widget renders passes through :func:`clean_strip` on its way out.

Only zero-width characters are removed (controls have no cell width in Rich), so a cleaned
line keeps its width and the layout is unchanged. Textual's own escape sequences are written
after this point and are untouched.
"""

from __future__ import annotations

import re

from rich.segment import Segment
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

# C0 and C1 controls (TAB too: a widget never means one to reach the terminal), DEL, and the
# bidirectional formatting characters that make text read in an order other than its own.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` without the characters a terminal would act on rather than show."""
    return UNSAFE.sub("", text) if UNSAFE.search(text) else text


def clean_strip(strip: Strip) -> Strip:
    """``strip`` as it is when it is safe (the usual case: one search), else a cleaned copy."""
    if not UNSAFE.search(strip.text):
        return strip
    segments = [
        segment if segment.control else Segment(clean_text(segment.text), segment.style)
        for segment in strip
    ]
    return Strip(segments, strip.cell_length)


_installed = False


def install() -> None:
    """Route every widget's rendered lines through :func:`clean_strip` (idempotent)."""
    global _installed
    if _installed:
        return
    render_lines = Widget.render_lines

    def safe_render_lines(self: Widget, crop: Region) -> list[Strip]:
        return [clean_strip(strip) for strip in render_lines(self, crop)]

    Widget.render_lines = safe_render_lines  # type: ignore[method-assign]
    _installed = True
