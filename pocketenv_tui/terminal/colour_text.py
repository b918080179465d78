"""Terminal output as coloured text: like :mod:`.plain_text`, but colours survive.

A service's log is worth reading in its own colours, yet it is as hostile as any other output
from a sandbox. :class:`ColourKeeper` strips exactly what :class:`~.plain_text.ControlStripper`
strips, except Select Graphic Rendition (``CSI params m``: colours, bold, underline...) with
plain numeric parameters, which it passes on re-written in the 7-bit form ``ESC [ params m``
(an 8-bit ``U+009B`` introducer included). Whatever reads the result sees nothing but text and
well-formed SGR, so a colour parser (Rich's ``AnsiDecoder``) can take it as it is. Cursor moves,
title changes, OSC 52 and every other sequence are dropped, across chunk boundaries as there.
"""

from __future__ import annotations

import re

from pocketenv_tui.terminal.plain_text import _CSI, _ESC, _TEXT, MAX_SEQUENCE, ControlStripper

# Digits with ";" or ":" (ITU sub-parameters, 38:2::r:g:b): no private markers (?, >, <, =),
# whose meanings are the terminal's own, and nothing long enough to be anything but abuse.
_SGR_PARAMS = re.compile(r"[0-9;:]{0,64}")


class ColourKeeper(ControlStripper):
    """Feed chunks of decoded output; get back text with only SGR sequences left in it."""

    def __init__(self) -> None:
        super().__init__()
        self._params: list[str] = []

    def _enter(self, state: int) -> None:
        super()._enter(state)
        if state == _CSI:
            self._params = []

    def _step(self, char: str, kept: list[str]) -> None:
        # Inside a CSI, parameter and intermediate bytes are collected and the final byte
        # decides; every other case (ESC, a C0 control, an over-long sequence) is the
        # stripper's, which abandons the sequence exactly as it would without colours.
        if self._state == _CSI and char != _ESC and ord(char) >= 0x20 and self._swallowed < MAX_SEQUENCE:
            self._swallowed += 1
            if 0x20 <= ord(char) <= 0x3F:
                if len(self._params) <= 64:
                    self._params.append(char)
                return
            self._state = _TEXT
            params = "".join(self._params)
            if char == "m" and _SGR_PARAMS.fullmatch(params):
                kept.append(f"{_ESC}[{params}m")
            return
        super()._step(char, kept)


def keep_colours(text: str) -> str:
    """``text`` with every control sequence but SGR taken out (one piece, no state kept)."""
    return ColourKeeper().feed(text)
