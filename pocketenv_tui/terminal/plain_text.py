"""Terminal output as plain text: what is left once every control sequence is taken out.

For output shown as text rather than run through the terminal emulator (exec output, logs).
That output comes from a sandbox and is hostile: an escape sequence passed on to the real
terminal could retitle the window, move the cursor, rewrite the screen, or (OSC 52) set the
clipboard. :class:`ControlStripper` removes, across chunk boundaries:

- ESC sequences: CSI (``ESC [``, colours and cursor moves), OSC (``ESC ]`` up to BEL or ST),
  DCS, SOS, PM and APC strings, and two- or three-character escapes (``ESC ( B``);
- the same introduced by 8-bit C1 characters (U+009B is a CSI to some terminals);
- every other C0 and C1 control except newline, carriage return, backspace and tab, which
  are kept for the caller to lay out; and the invisible format characters that can make
  text read differently from what it is (bidirectional overrides, zero-width characters).

An unterminated sequence swallows at most ``MAX_SEQUENCE`` characters, so a stray ESC
cannot hide the rest of the output.
"""

from __future__ import annotations

import re

MAX_SEQUENCE = 4096

_ESC = "\x1b"
# A run of characters that are kept as they are (the fast path).
_KEPT_RUN = re.compile(
    "[^\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]+"
)
_STRING_INTRODUCERS = frozenset("]PX^_")  # OSC, DCS, SOS, PM, APC after ESC
_C1_STRINGS = frozenset("\x90\x98\x9d\x9e\x9f")
_C1_CSI = "\x9b"
_C1_ST = "\x9c"
_BEL = "\x07"

_TEXT, _ESCAPE, _INTERMEDIATE, _CSI, _STRING, _STRING_ESCAPE = range(6)


class ControlStripper:
    """Feed chunks of decoded output; get back the text without control sequences."""

    def __init__(self) -> None:
        self._state = _TEXT
        self._swallowed = 0

    def feed(self, text: str) -> str:
        kept: list[str] = []
        position = 0
        end = len(text)
        while position < end:
            if self._state == _TEXT:
                run = _KEPT_RUN.match(text, position)
                if run is not None:
                    kept.append(run.group())
                    position = run.end()
                    continue
                self._start(text[position])
            else:
                self._step(text[position], kept)
            position += 1
        return "".join(kept)

    def _start(self, char: str) -> None:
        """A character outside the kept runs, met in plain text."""
        if char == _ESC:
            self._enter(_ESCAPE)
        elif char == _C1_CSI:
            self._enter(_CSI)
        elif char in _C1_STRINGS:
            self._enter(_STRING)
        # Anything else (other controls, format characters) is dropped.

    def _enter(self, state: int) -> None:
        self._state = state
        self._swallowed = 0

    def _step(self, char: str, kept: list[str]) -> None:
        self._swallowed += 1
        if self._swallowed > MAX_SEQUENCE:
            self._state = _TEXT
            kept.append(self.feed(char))
            return
        code = ord(char)
        state = self._state
        if state in (_STRING, _STRING_ESCAPE):
            if char == _BEL or char == _C1_ST or (state == _STRING_ESCAPE and char == "\\"):
                self._state = _TEXT
            else:
                self._state = _STRING_ESCAPE if char == _ESC else _STRING
            return
        if char == _ESC:
            self._enter(_ESCAPE)
        elif code < 0x20:
            # Terminals carry out a C0 control met inside a sequence and abandon the sequence.
            self._state = _TEXT
            kept.append(self.feed(char))
        elif state == _ESCAPE:
            if char == "[":
                self._enter(_CSI)
            elif char in _STRING_INTRODUCERS:
                self._enter(_STRING)
            elif 0x20 <= code <= 0x2F:
                self._state = _INTERMEDIATE
            else:
                self._state = _TEXT  # a two-character escape (ESC 7, ESC M, ESC c, ...)
        elif state == _INTERMEDIATE:
            if not 0x20 <= code <= 0x2F:
                self._state = _TEXT
        elif state == _CSI and not 0x20 <= code <= 0x3F:
            self._state = _TEXT  # the final byte (or garbage: the sequence ends either way)


def strip_controls(text: str) -> str:
    """``text`` without control sequences (one piece, no state kept)."""
    return ControlStripper().feed(text)
