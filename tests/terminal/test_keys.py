"""keys.py: Textual key names, pastes and mouse events to the bytes xterm would send."""

from __future__ import annotations

import pytest

from pocketenv_tui.terminal.keys import encode_key, encode_mouse, encode_paste

KEY_CASES = [
    # (key, character, app_cursor, expected)
    ("a", "a", False, b"a"),
    ("A", "A", False, b"A"),
    ("shift+a", "A", False, b"A"),
    ("exclamation_mark", "!", False, b"!"),
    ("space", " ", False, b" "),
    ("é", "é", False, "é".encode()),
    ("ctrl+c", "\x03", False, b"\x03"),
    ("ctrl+a", None, False, b"\x01"),
    ("ctrl+z", "\x1a", False, b"\x1a"),
    ("ctrl+shift+a", None, False, b"\x01"),
    ("ctrl+space", None, False, b"\x00"),
    ("ctrl+@", "\x00", False, b"\x00"),
    ("ctrl+backslash", None, False, b"\x1c"),
    ("ctrl+right_square_bracket", None, False, b"\x1d"),
    ("ctrl+circumflex_accent", None, False, b"\x1e"),
    ("ctrl+underscore", None, False, b"\x1f"),
    ("alt+x", "x", False, b"\x1bx"),
    ("alt+shift+x", "X", False, b"\x1bX"),
    ("meta+x", "x", False, b"\x1bx"),
    ("ctrl+alt+c", None, False, b"\x1b\x03"),
    ("enter", "\r", False, b"\r"),
    ("alt+enter", None, False, b"\x1b\r"),
    ("tab", "\t", False, b"\t"),
    ("shift+tab", None, False, b"\x1b[Z"),
    ("escape", "\x1b", False, b"\x1b"),
    ("backspace", "\x7f", False, b"\x7f"),
    ("ctrl+backspace", None, False, b"\x08"),
    ("alt+backspace", None, False, b"\x1b\x7f"),
    ("up", None, False, b"\x1b[A"),
    ("down", None, False, b"\x1b[B"),
    ("right", None, False, b"\x1b[C"),
    ("left", None, False, b"\x1b[D"),
    ("home", None, False, b"\x1b[H"),
    ("end", None, False, b"\x1b[F"),
    ("up", None, True, b"\x1bOA"),
    ("left", None, True, b"\x1bOD"),
    ("home", None, True, b"\x1bOH"),
    ("end", None, True, b"\x1bOF"),
    ("shift+up", None, False, b"\x1b[1;2A"),
    ("alt+down", None, False, b"\x1b[1;3B"),
    ("ctrl+right", None, False, b"\x1b[1;5C"),
    ("ctrl+right", None, True, b"\x1b[1;5C"),
    ("ctrl+shift+left", None, False, b"\x1b[1;6D"),
    ("ctrl+home", None, False, b"\x1b[1;5H"),
    ("insert", None, False, b"\x1b[2~"),
    ("delete", None, False, b"\x1b[3~"),
    ("pageup", None, False, b"\x1b[5~"),
    ("pagedown", None, False, b"\x1b[6~"),
    ("shift+pageup", None, False, b"\x1b[5;2~"),
    ("ctrl+delete", None, False, b"\x1b[3;5~"),
    ("f1", None, False, b"\x1bOP"),
    ("f4", None, False, b"\x1bOS"),
    ("f5", None, False, b"\x1b[15~"),
    ("f6", None, False, b"\x1b[17~"),
    ("f10", None, False, b"\x1b[21~"),
    ("f11", None, False, b"\x1b[23~"),
    ("f12", None, False, b"\x1b[24~"),
    ("shift+f1", None, False, b"\x1b[1;2P"),
    ("ctrl+f5", None, False, b"\x1b[15;5~"),
    ("f13", None, False, b"\x1b[1;2P"),
    ("f17", None, False, b"\x1b[15;2~"),
    ("unknown_key", None, False, None),
    ("shift", None, False, None),
]


@pytest.mark.parametrize(("key", "character", "app_cursor", "expected"), KEY_CASES)
def test_encode_key(
    key: str, character: str | None, app_cursor: bool, expected: bytes | None
) -> None:
    assert encode_key(key, character, app_cursor=app_cursor) == expected


def test_paste_plain_turns_newlines_into_cr() -> None:
    assert encode_paste("ls\nwho\r\nend", bracketed=False) == b"ls\rwho\rend"


def test_paste_bracketed_is_wrapped() -> None:
    assert encode_paste("a\nb", bracketed=True) == b"\x1b[200~a\rb\x1b[201~"


def test_paste_cannot_close_the_bracket_early() -> None:
    data = encode_paste("x\x1b[201~rm -rf /\n", bracketed=True)
    assert data == b"\x1b[200~xrm -rf /\r\x1b[201~"
    assert data.count(b"\x1b[201~") == 1


def test_paste_utf8() -> None:
    assert encode_paste("héllo 中", bracketed=False) == "héllo 中".encode()


MOUSE_CASES = [
    # (kind, button, x, y, modifiers, mode, sgr, expected)
    ("press", 1, 0, 0, {}, None, False, None),
    ("press", 1, 0, 0, {}, 1000, True, b"\x1b[<0;1;1M"),
    ("release", 1, 4, 2, {}, 1000, True, b"\x1b[<0;5;3m"),
    ("press", 3, 9, 9, {}, 1000, True, b"\x1b[<2;10;10M"),
    ("press", 2, 0, 0, {"shift": True, "ctrl": True}, 1000, True, b"\x1b[<21;1;1M"),
    ("press", 1, 0, 0, {"meta": True}, 1000, True, b"\x1b[<8;1;1M"),
    ("scroll_up", 0, 3, 4, {}, 1000, True, b"\x1b[<64;4;5M"),
    ("scroll_down", 0, 3, 4, {}, 1000, True, b"\x1b[<65;4;5M"),
    ("move", 1, 1, 1, {}, 1000, True, None),
    ("move", 1, 1, 1, {}, 1002, True, b"\x1b[<32;2;2M"),
    ("move", 0, 1, 1, {}, 1002, True, None),
    ("move", 0, 1, 1, {}, 1003, True, b"\x1b[<35;2;2M"),
    ("press", 1, 0, 0, {}, 1000, False, b"\x1b[M !!"),
    ("release", 1, 0, 0, {}, 1000, False, b"\x1b[M#!!"),
    ("scroll_up", 0, 0, 0, {}, 1000, False, b"\x1b[M`!!"),
    ("press", 1, 300, 0, {}, 1000, False, None),
    ("press", 1, 300, 0, {}, 1000, True, b"\x1b[<0;301;1M"),
    ("press", 1, 2, 3, {"shift": True}, 9, False, b"\x1b[M #$"),
    ("release", 1, 2, 3, {}, 9, False, None),
    ("move", 1, 2, 3, {}, 9, False, None),
    ("press", 0, 2, 3, {}, 1000, True, None),
    ("hover", 1, 2, 3, {}, 1003, True, None),
]


@pytest.mark.parametrize(
    ("kind", "button", "x", "y", "mods", "mode", "sgr", "expected"), MOUSE_CASES
)
def test_encode_mouse(kind, button, x, y, mods, mode, sgr, expected) -> None:
    assert encode_mouse(kind, button, x, y, mode=mode, sgr=sgr, **mods) == expected
