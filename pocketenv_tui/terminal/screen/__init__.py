"""The terminal emulator: a pyte screen with bounded scrollback, fast paths and cell styles.

- ``emulator``: :class:`TerminalScreen`, the pyte.Screen the widget shows (modes, replies,
  the alternate screen, scrolling regions);
- ``parser``: the byte stream to screen calls, with its own fast tokenizer;
- ``fast``: batch paths for plain text and SGR runs, checked against the one-at-a-time ones;
- ``rows``: row storage and the style ids of its cells;
- ``style``: cell attributes and SGR;
- ``text``: putting text into rows; ``width``: cell widths of characters.
"""

from .emulator import TerminalScreen

__all__ = ["TerminalScreen"]
