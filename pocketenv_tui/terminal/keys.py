"""Keyboard, paste and mouse input for the remote PTY, as xterm would send it.

Pure functions over Textual's key names (``textual.events.Key.key`` / ``.character``),
so they are tested without Textual. The encodings follow xterm with ``TERM=xterm-256color``:

- Printable characters are sent as UTF-8; ``alt+`` (or ``meta+``) prefixes ESC.
- ``ctrl+letter`` and the punctuation controls become C0 bytes (``ctrl+space`` is NUL).
- Cursor keys and home/end use ``CSI x`` normally and ``SS3 x`` when the remote enabled
  application cursor keys (DECCKM); with modifiers they use ``CSI 1 ; m x`` where
  m = 1 + shift(1) + alt(2) + ctrl(4).
- insert/delete/pageup/pagedown are ``CSI n ~``; F1-F4 ``SS3 P..S``; F5-F12 ``CSI n ~``;
  F13-F24 are shift+F1..F12, as xterm sends them.
- Pastes become CR-terminated lines, wrapped in ``CSI 200~ .. CSI 201~`` when bracketed
  paste is on (any end marker inside the text is removed so a paste cannot end early).
- Mouse reports go out only in the mode the remote asked for: X10 (9) presses only; 1000
  presses, releases and wheel; 1002 adds drags; 1003 all motion. SGR (1006) form when
  enabled, the legacy ``CSI M`` byte form otherwise (which cannot address cells past 223).
"""

from __future__ import annotations

__all__ = ["encode_key", "encode_mouse", "encode_paste"]

ESC = "\x1b"
CSI = "\x1b["
SS3 = "\x1bO"

_MODIFIER_NAMES = {"shift", "ctrl", "alt", "meta", "super", "hyper"}

# Cursor keys: final byte. Normal mode CSI x, application mode SS3 x.
_CURSOR_KEYS = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}

# Keys sent as CSI n ~.
_TILDE_KEYS = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}

# F1-F4: SS3 x without modifiers, CSI 1 ; m x with them.
_SS3_FUNCTION_KEYS = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}

# Textual's names for control keys that are not ctrl+letter.
_CONTROL_NAMES = {
    "@": "\x00",
    "space": "\x00",
    "at": "\x00",
    "2": "\x00",
    "left_square_bracket": "\x1b",
    "[": "\x1b",
    "3": "\x1b",
    "backslash": "\x1c",
    "\\": "\x1c",
    "4": "\x1c",
    "right_square_bracket": "\x1d",
    "]": "\x1d",
    "5": "\x1d",
    "circumflex_accent": "\x1e",
    "^": "\x1e",
    "6": "\x1e",
    "underscore": "\x1f",
    "_": "\x1f",
    "minus": "\x1f",
    "7": "\x1f",
    "slash": "\x1f",
    "8": "\x7f",
    "question_mark": "\x7f",
}

# Keys with one fixed byte (alt adds ESC in front).
_PLAIN_KEYS = {
    "enter": "\r",
    "return": "\r",
    "tab": "\t",
    "escape": ESC,
    "backspace": "\x7f",
    "space": " ",
    "newline": "\n",
}


def _split(key: str) -> tuple[set[str], str]:
    """Modifiers and base name of a Textual key such as ``ctrl+shift+up``."""
    parts = key.split("+")
    modifiers: set[str] = set()
    while len(parts) > 1 and parts[0] in _MODIFIER_NAMES:
        modifiers.add(parts.pop(0))
    # "ctrl++" style names leave an empty base; the key itself was "+".
    base = "+".join(parts) or "+"
    return modifiers, base


def _modifier_param(modifiers: set[str]) -> int:
    value = 1
    if "shift" in modifiers:
        value += 1
    if "alt" in modifiers or "meta" in modifiers:
        value += 2
    if "ctrl" in modifiers:
        value += 4
    return value


def encode_key(key: str, character: str | None, *, app_cursor: bool = False) -> bytes | None:
    """Bytes the remote expects for a Textual key event, or None if it has no encoding."""
    modifiers, base = _split(key)
    alt = "alt" in modifiers or "meta" in modifiers
    param = _modifier_param(modifiers)

    if base.startswith("f") and base[1:].isdigit() and 13 <= int(base[1:]) <= 24:
        # xterm sends F13-F24 as shift+F1-F12.
        base = f"f{int(base[1:]) - 12}"
        modifiers.add("shift")
        param = _modifier_param(modifiers)

    if base in _CURSOR_KEYS:
        final = _CURSOR_KEYS[base]
        if param > 1:
            return f"{CSI}1;{param}{final}".encode()
        return f"{SS3 if app_cursor else CSI}{final}".encode()
    if base in _TILDE_KEYS:
        number = _TILDE_KEYS[base]
        suffix = f";{param}" if param > 1 else ""
        return f"{CSI}{number}{suffix}~".encode()
    if base in _SS3_FUNCTION_KEYS:
        final = _SS3_FUNCTION_KEYS[base]
        if param > 1:
            return f"{CSI}1;{param}{final}".encode()
        return f"{SS3}{final}".encode()

    prefix = ESC if alt else ""
    if base == "tab" and "shift" in modifiers:
        return f"{CSI}Z".encode()
    if base == "backspace" and "ctrl" in modifiers:
        return (prefix + "\x08").encode()
    if "ctrl" in modifiers:
        control = _control_byte(base)
        if control is not None:
            return (prefix + control).encode()
    if base in _PLAIN_KEYS:
        return (prefix + _PLAIN_KEYS[base]).encode()
    if character:
        return (prefix + character).encode("utf-8", "surrogatepass")
    return None


def _control_byte(base: str) -> str | None:
    if len(base) == 1 and base.isascii() and base.isalpha():
        return chr(ord(base.lower()) & 0x1F)
    return _CONTROL_NAMES.get(base)


_PASTE_START = "\x1b[200~"
_PASTE_END = "\x1b[201~"


def encode_paste(text: str, *, bracketed: bool) -> bytes:
    """A paste as the remote should receive it: newlines as CR, bracketed if enabled."""
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    if bracketed:
        # A pasted end marker would let the rest of the paste run as typed commands.
        text = text.replace(_PASTE_END, "").replace(_PASTE_START, "")
        text = f"{_PASTE_START}{text}{_PASTE_END}"
    return text.encode("utf-8", "surrogatepass")


# Textual numbers buttons 1 left, 2 middle, 3 right; xterm 0, 1, 2.
_BUTTON_CODES = {1: 0, 2: 1, 3: 2}
_LEGACY_LIMIT = 223  # 32 + value must fit in one byte


def encode_mouse(
    kind: str,
    button: int,
    x: int,
    y: int,
    *,
    shift: bool = False,
    meta: bool = False,
    ctrl: bool = False,
    mode: int | None,
    sgr: bool,
) -> bytes | None:
    """A mouse report (``x``/``y`` 0-based cells), or None if the mode does not want it.

    ``kind`` is "press", "release", "move", "scroll_up" or "scroll_down"; ``button`` uses
    Textual's numbering (0 none, 1 left, 2 middle, 3 right).
    """
    if mode not in (9, 1000, 1002, 1003) or x < 0 or y < 0:
        return None
    pressed = _BUTTON_CODES.get(button)
    if kind == "press":
        if pressed is None:
            return None
        code = pressed
    elif kind in ("scroll_up", "scroll_down"):
        code = 64 if kind == "scroll_up" else 65
    elif kind == "release":
        if mode == 9:
            return None  # X10 reports presses only
        code = pressed if (sgr and pressed is not None) else 3
    elif kind == "move":
        if mode == 1003 or (mode == 1002 and pressed is not None):
            code = 32 + (pressed if pressed is not None else 3)
        else:
            return None
    else:
        return None
    if mode != 9:
        # X10 mode carries no modifier bits.
        code += (4 if shift else 0) + (8 if meta else 0) + (16 if ctrl else 0)
    column, row = x + 1, y + 1
    if sgr:
        final = "m" if kind == "release" else "M"
        return f"{CSI}<{code};{column};{row}{final}".encode()
    if column > _LEGACY_LIMIT or row > _LEGACY_LIMIT:
        return None
    return b"\x1b[M" + bytes((32 + code, 32 + column, 32 + row))
