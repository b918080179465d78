"""ControlStripper: terminal output as plain text, whatever a sandbox prints."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pocketenv_tui.terminal.plain_text import MAX_SEQUENCE, ControlStripper, strip_controls

KEPT_CONTROLS = set("\n\r\b\t")


def is_clean(text: str) -> bool:
    return not any(
        (ord(ch) < 0x20 and ch not in KEPT_CONTROLS) or 0x7F <= ord(ch) <= 0x9F or ch in "\u202e\u2066\u200b"
        for ch in text
    )


def test_colours_titles_clipboard_and_cursor_moves_are_removed():
    text = "\x1b]0;pwned\x07\x1b[1;31mred\x1b[0m \x1b]52;c;aGk=\x1b\\ok\x1b[2J\x1b[H\x1b(B\x1b7!\n"
    assert strip_controls(text) == "red ok!\n"


def test_eight_bit_introducers_and_strings_are_removed():
    assert strip_controls("a\x9b31mb\x9d0;title\x9cc\x90q\x1b\\d") == "abcd"


def test_layout_characters_are_kept_and_other_controls_dropped():
    assert strip_controls("a\tb\r\nc\bd\x00\x07\x0c\x7fe") == "a\tb\r\nc\bde"


def test_invisible_format_characters_are_dropped():
    assert strip_controls("\u202eevil\u2066x\u200by\ufeff") == "evilxy"


def test_a_sequence_split_across_chunks_is_still_removed():
    stripper = ControlStripper()
    assert "".join(stripper.feed(part) for part in ["ok \x1b", "[3", "1mred\x1b]0;ti", "tle\x07 done"]) == "ok red done"


def test_an_unterminated_sequence_hides_a_bounded_amount():
    text = "\x1b]0;" + "x" * (MAX_SEQUENCE + 10) + "visible"
    assert strip_controls(text).endswith("visible")


def test_a_control_inside_a_sequence_ends_it_and_newlines_survive():
    assert strip_controls("\x1b[31\nnext") == "\nnext"


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2100), max_size=300), st.integers(1, 20))
def test_output_is_always_clean_and_chunking_does_not_matter(text, size):
    whole = strip_controls(text)
    assert is_clean(whole)
    stripper = ControlStripper()
    assert "".join(stripper.feed(text[i : i + size]) for i in range(0, len(text), size)) == whole
