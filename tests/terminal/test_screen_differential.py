"""TerminalScreen against stock pyte: same ``display`` and cursor for the same output.

Hypothesis builds streams from the sequences both implement (text, wide and combining
characters, C0 controls, cursor movement, erase/insert/delete, SGR, margins, modes, tabs,
save/restore) and compares the two screens. The reference is stock ``pyte.Screen`` with two
fixes, where TerminalScreen implements the documented (xterm) behaviour:
- pyte 0.8.2's ``delete_lines`` leaves a row untouched when the row below it was never
  materialised in its sparse buffer (so ``CSI M`` results depend on whether ``display`` was
  read earlier);
- its ``insert_characters`` moves the character that should fall off the right margin to the
  column just past it, where a later ``CSI P`` pulls it back on screen (``0`` ``CR``
  ``CSI 2 @`` ``CSI P`` on a 2-column line shows `` 0`` instead of blanks).

Inputs on which pyte itself raises (its ``display`` fails on half of an overwritten wide
character) are skipped: the requirement is equality on inputs pyte handles.
"""

from __future__ import annotations

import pyte
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyte.screens import Margins

from pocketenv_tui.terminal.screen import TerminalScreen


class ReferenceScreen(pyte.Screen):
    """Stock pyte with ``delete_lines`` and ``insert_characters`` fixed (see module docstring)."""

    def insert_characters(self, count=None):
        self.dirty.add(self.cursor.y)
        count = count or 1
        line = self.buffer[self.cursor.y]
        for x in range(self.columns, self.cursor.x - 1, -1):
            if x + count < self.columns:  # pyte: <=, which keeps one character off screen
                line[x + count] = line[x]
            line.pop(x, None)

    def delete_lines(self, count=None):
        count = count or 1
        top, bottom = self.margins or Margins(0, self.lines - 1)
        if top <= self.cursor.y <= bottom:
            self.dirty.update(range(self.cursor.y, self.lines))
            for y in range(self.cursor.y, bottom + 1):
                if y + count <= bottom and y + count in self.buffer:
                    self.buffer[y] = self.buffer.pop(y + count)
                else:
                    self.buffer.pop(y, None)
            self.carriage_return()


def _strict_screen(columns: int, lines: int) -> TerminalScreen:
    screen = TerminalScreen(columns, lines, history=50)
    screen.strict_errors = True
    return screen


def reference_state(data: bytes, columns: int, lines: int):
    screen = ReferenceScreen(columns, lines)
    pyte.ByteStream(screen).feed(data)
    return screen.display, (screen.cursor.x, screen.cursor.y, screen.cursor.hidden)


def our_state(screen: TerminalScreen):
    return screen.display, (screen.cursor.x, screen.cursor.y, screen.cursor.hidden)


_numbers = st.integers(min_value=0, max_value=30).map(str)
_optional_number = st.one_of(st.just(""), _numbers)

_csi = st.one_of(
    st.builds(lambda a, b: f"\x1b[{a};{b}H", _optional_number, _optional_number),
    st.builds(lambda n, f: f"\x1b[{n}{f}", _optional_number, st.sampled_from("ABCDEFGdae'")),
    st.builds(
        lambda n, f: f"\x1b[{n}{f}",
        st.sampled_from(["", "0", "1", "2", "3"]),
        st.sampled_from("JK"),
    ),
    st.builds(lambda n, f: f"\x1b[{n}{f}", _optional_number, st.sampled_from("@PXLM")),
    st.builds(lambda a, b: f"\x1b[{a};{b}r", _optional_number, _optional_number),
    st.just("\x1b[r"),
    st.builds(
        lambda ps: "\x1b[" + ";".join(ps) + "m",
        st.lists(
            st.sampled_from(
                [
                    "0",
                    "1",
                    "3",
                    "4",
                    "7",
                    "22",
                    "27",
                    "31",
                    "42",
                    "39",
                    "49",
                    "93",
                    "105",
                    "38;5;196",
                    "48;5;17",
                    "38;2;10;20;30",
                    "48;2;255;0;9",
                ]
            ),
            max_size=4,
        ),
    ),
    st.builds(
        lambda private, mode, on: f"\x1b[{'?' if private else ''}{mode}{'h' if on else 'l'}",
        st.just(True),
        st.sampled_from(["5", "6", "7", "25"]),
        st.booleans(),
    ),
    st.builds(
        lambda mode, on: f"\x1b[{mode}{'h' if on else 'l'}",
        st.sampled_from(["4", "20"]),
        st.booleans(),
    ),
    st.sampled_from(["\x1b[g", "\x1b[0g", "\x1b[3g"]),
)
_escapes = st.sampled_from(["\x1bD", "\x1bE", "\x1bM", "\x1b7", "\x1b8", "\x1bH", "\x1b#8"])
_controls = st.sampled_from(["\r", "\n", "\r\n", "\x08", "\t", "\x0b", "\x0c", "\x07"])
_ascii_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40
)
_unicode_text = st.lists(
    st.sampled_from(["a", "é", "ß", "Ж", "中", "文", "한", "🙂", "e\u0301", "\u0301", "─", "│"]),
    min_size=1,
    max_size=20,
).map("".join)

pieces = st.lists(
    st.one_of(_ascii_text, _ascii_text, _unicode_text, _controls, _csi, _csi, _escapes),
    max_size=40,
).map("".join)

sizes = st.tuples(st.integers(min_value=2, max_value=30), st.integers(min_value=1, max_value=12))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=pieces, size=sizes)
def test_display_and_cursor_match_pyte(text: str, size: tuple[int, int]) -> None:
    columns, lines = size
    data = text.encode()
    try:
        expected = reference_state(data, columns, lines)
    except Exception:
        return  # pyte cannot handle this input itself
    screen = _strict_screen(columns, lines)
    screen.feed(data)
    assert our_state(screen) == expected


@settings(max_examples=200, deadline=None)
@given(text=pieces, size=sizes, cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8))
def test_chunk_boundaries_do_not_matter(text: str, size: tuple[int, int], cuts: list[int]) -> None:
    columns, lines = size
    data = text.encode()
    whole = _strict_screen(columns, lines)
    whole.feed(data)
    split = _strict_screen(columns, lines)
    start = 0
    for cut in sorted({min(cut, len(data)) for cut in cuts}) + [len(data)]:
        split.feed(data[start:cut])
        start = cut
    assert our_state(split) == our_state(whole)
    assert [split.line_runs(y) for y in range(lines)] == [whole.line_runs(y) for y in range(lines)]
    assert split.history_display == whole.history_display


def test_bulk_output_matches_pyte() -> None:
    lines = [f"line {n:04d} " + "x" * (n % 97) for n in range(600)]
    data = "\r\n".join(lines).encode()
    expected = reference_state(data, 80, 24)
    screen = _strict_screen(80, 24)
    for start in range(0, len(data), 1000):
        screen.feed(data[start : start + 1000])
    assert our_state(screen) == expected


def test_insert_characters_push_text_off_the_right_margin() -> None:
    """The case Hypothesis found where stock pyte is wrong (see the module docstring)."""
    data = b"0\r\x1b[2@\x1b[P"
    screen = _strict_screen(2, 1)
    screen.feed(data)
    assert screen.display == ["  "]
    assert reference_state(data, 2, 1)[0] == ["  "]
    stock = pyte.Screen(2, 1)
    pyte.ByteStream(stock).feed(data)
    assert stock.display == [" 0"]  # why the reference overrides insert_characters
