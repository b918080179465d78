"""TerminalScreen behaviour beyond pyte: scrollback, alternate screen, replies, flags, dirt."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wcwidth import wcwidth

from pocketenv_tui.terminal.screen import TerminalScreen
from pocketenv_tui.terminal.screen.style import DEFAULT_STYLE, Style

# Raise for a longer hunt: SCREEN_FUZZ_EXAMPLES=5000 pytest tests/terminal/test_screen.py
FUZZ_EXAMPLES = int(os.environ.get("SCREEN_FUZZ_EXAMPLES", "300"))


def make(columns: int = 10, lines: int = 3, history: int = 100) -> TerminalScreen:
    screen = TerminalScreen(columns, lines, history=history)
    screen.strict_errors = True
    return screen


def feed(screen: TerminalScreen, text: str) -> TerminalScreen:
    screen.feed(text.encode())
    return screen


def runs_width(runs: list[tuple[str, Style]]) -> int:
    return sum(max(wcwidth(char), 0) for text, _ in runs for char in text)


# ---------------------------------------------------------------- scrollback
def test_lines_scrolled_off_the_top_go_to_the_scrollback() -> None:
    screen = feed(make(), "one\r\ntwo\r\nthree\r\nfour\r\nfive")
    assert screen.display == ["three     ", "four      ", "five      "]
    assert screen.history_size == 2
    assert screen.history_display == ["one       ", "two       "]
    assert screen.line_runs(-1) == [("two       ", DEFAULT_STYLE)]
    assert screen.line_runs(-2) == [("one       ", DEFAULT_STYLE)]
    with pytest.raises(IndexError):
        screen.line_runs(-3)


def test_scrollback_is_bounded() -> None:
    screen = make(history=5)
    feed(screen, "\r\n".join(str(n) for n in range(50)))
    assert screen.history_size == 5
    assert [row.strip() for row in screen.history_display] == ["42", "43", "44", "45", "46"]


def test_scroll_region_does_not_feed_the_scrollback() -> None:
    screen = feed(make(lines=5), "\x1b[2;4r\x1b[4;1Ha\nb\nc\n")
    assert screen.history_size == 0
    assert screen.display[4] == " " * 10


def test_clear_scrollback_with_ed3() -> None:
    screen = feed(make(), "1\r\n2\r\n3\r\n4\r\n")
    assert screen.history_size
    feed(screen, "\x1b[3J")
    assert screen.history_size == 0


# ------------------------------------------------------------ alternate screen
def test_1049_restores_the_shell_screen_and_cursor() -> None:
    screen = feed(make(), "$ vim\r\n")
    cursor = (screen.cursor_x, screen.cursor_y)
    feed(screen, "\x1b[?1049h\x1b[H\x1b[2Jvim text\x1b[3;5H")
    assert screen.alternate_screen
    assert screen.display[0] == "vim text  "
    assert screen.history_size == 0
    feed(screen, "\x1b[?1049l")
    assert not screen.alternate_screen
    assert screen.display == ["$ vim     ", " " * 10, " " * 10]
    assert (screen.cursor_x, screen.cursor_y) == cursor


def test_alternate_screen_scrolling_keeps_the_main_scrollback() -> None:
    screen = feed(make(), "a\r\nb\r\nc\r\nd\r\n")
    before = screen.history_display
    feed(screen, "\x1b[?1049h" + "x\r\n" * 20)
    assert screen.history_size == 0
    feed(screen, "\x1b[?1049l")
    assert screen.history_display == before


def test_47_keeps_and_1047_clears_the_alternate_buffer() -> None:
    screen = feed(make(), "main\x1b[?47halt\x1b[?47l")
    assert screen.display[0] == "main      "
    feed(screen, "\x1b[?47h")
    assert screen.display[0] == "    alt   "
    feed(screen, "\x1b[?47l\x1b[?1047h")
    assert screen.display[0].startswith("    alt")
    feed(screen, "\x1b[?1047l\x1b[?1047h")
    assert screen.display[0] == " " * 10


# ---------------------------------------------------------- replies and flags
def test_device_status_and_attribute_queries_are_answered() -> None:
    screen = feed(make(), "ab\r\ncd\x1b[6n\x1b[5n\x1b[c\x1b[>c\x1b[?6n")
    assert screen.take_replies() == b"\x1b[2;3R\x1b[0n\x1b[?1;2c\x1b[>1;10;0c\x1b[?2;3R"
    assert screen.take_replies() == b""


def test_default_colour_queries_are_answered_with_the_query_terminator() -> None:
    screen = make()
    screen.default_colors = ((0xC0, 0xC5, 0xCE), (0x1E, 0x1E, 0x2E))
    feed(screen, "\x1b]10;?\x07\x1b]11;?\x1b\\")
    assert screen.take_replies() == b"\x1b]10;rgb:c0c0/c5c5/cece\x07\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\"
    # Split anywhere, including inside the terminator; a title or a colour being set is no query.
    for piece in ("\x1b]1", "1;?\x1b", "\\", "\x1b]2;title\x07\x1b]11;#000000\x07"):
        feed(screen, piece)
    assert screen.take_replies() == b"\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\"


def test_cursor_report_clamps_the_pending_wrap_column() -> None:
    screen = feed(make(columns=4), "abcd\x1b[6n")
    assert screen.take_replies() == b"\x1b[1;4R"


def test_mode_flags() -> None:
    screen = make()
    assert not screen.bracketed_paste and not screen.app_cursor_keys
    assert screen.mouse_mode is None and not screen.mouse_sgr
    feed(screen, "\x1b[?2004h\x1b[?1h\x1b[?1000h\x1b[?1006h")
    assert screen.bracketed_paste and screen.app_cursor_keys and screen.mouse_sgr
    assert screen.mouse_mode == 1000
    feed(screen, "\x1b[?1003h")
    assert screen.mouse_mode == 1003
    feed(screen, "\x1b[?1003l\x1b[?2004l\x1b[?1l\x1b[?1006l")
    assert screen.mouse_mode is None
    assert not (screen.bracketed_paste or screen.app_cursor_keys or screen.mouse_sgr)
    feed(screen, "\x1b[?9h")
    assert screen.mouse_mode == 9


def test_cursor_visibility_and_title() -> None:
    screen = feed(make(), "\x1b[?25l\x1b]0;my title\x07")
    assert not screen.cursor_visible
    assert screen.title == "my title"
    feed(screen, "\x1b[?25h\x1b]2;other\x1b\\")
    assert screen.cursor_visible
    assert screen.title == "other"


def test_soft_reset_and_bell() -> None:
    screen = feed(make(), "\x1b[?25l\x1b[4h\x07\x1b[!p")
    assert screen.cursor_visible
    assert screen.bells == 1


# --------------------------------------------------------------- dirty rows
def test_take_dirty_reports_changed_rows_once() -> None:
    screen = make(lines=5)
    assert screen.take_dirty() == set(range(5))
    feed(screen, "\x1b[3;1Hx")
    assert screen.take_dirty() == {0, 2}  # the cursor left row 0 and drew on row 2
    assert screen.take_dirty() == set()
    feed(screen, "\x1b[3;5Hy")
    assert screen.take_dirty() == {2}


def test_scrolling_marks_every_row() -> None:
    screen = make(lines=4)
    screen.take_dirty()
    feed(screen, "\n\n\n\n")
    assert screen.dirty_all
    assert screen.take_dirty() == set(range(4))
    assert not screen.dirty_all


def test_generation_bumps_on_feed_and_resize() -> None:
    screen = make()
    start = screen.generation
    feed(screen, "x")
    screen.resize(5, 12)
    assert screen.generation >= start + 2
    screen.feed(b"")
    assert screen.generation >= start + 2


# --------------------------------------------------------------- line runs
def test_line_runs_merge_equal_styles() -> None:
    screen = feed(make(), "ab\x1b[31mcd\x1b[1mef\x1b[0mg")
    runs = screen.line_runs(0)
    assert [text for text, _ in runs] == ["ab", "cd", "ef", "g   "]
    assert runs[1][1].fg == "red" and not runs[1][1].bold
    assert runs[2][1].fg == "red" and runs[2][1].bold
    assert runs[3][1] is DEFAULT_STYLE


def test_colour_forms() -> None:
    screen = feed(
        make(columns=12),
        "\x1b[38;5;196ma\x1b[48;2;1;2;3mb\x1b[0;105mc\x1b[38:2::255:128:0md\x1b[4:3me\x1b[93mf",
    )
    styles = [style for _, style in screen.line_runs(0)]
    assert styles[0].fg == "ff0000"
    assert styles[1].bg == "010203"
    assert styles[2].bg == "brightmagenta"  # pyte spells it "bfightmagenta"
    assert styles[3].fg == "ff8000"
    assert styles[4].underscore
    assert styles[5].fg == "brightbrown"


def test_wide_characters_take_two_cells() -> None:
    screen = feed(make(columns=6), "中a文")
    assert screen.display[0] == "中a文 "
    runs = screen.line_runs(0)
    assert "".join(text for text, _ in runs) == "中a文 "
    assert runs_width(runs) == 6


def test_line_runs_always_span_the_width() -> None:
    # Half of an overwritten wide char, a wide char forced into the last column.
    screen = feed(make(columns=5), "中中\r1\x1b[?7l\x1b[1;5H文")
    assert runs_width(screen.line_runs(0)) == 5


def test_reverse_video_mode_flips_runs() -> None:
    screen = feed(make(), "\x1b[?5hx")
    assert all(style.reverse for _, style in screen.line_runs(0))
    feed(screen, "\x1b[?5l")
    assert not any(style.reverse for _, style in screen.line_runs(0))


# ------------------------------------------------- what pyte gets wrong
def test_utf8_split_across_chunks() -> None:
    screen = make()
    data = "é中🙂".encode()
    for byte in data:
        screen.feed(bytes([byte]))
    assert screen.display[0] == "é中🙂" + " " * 5


def test_text_after_a_variation_selector_is_kept() -> None:
    assert feed(make(columns=12), "❤️ ok\x01 yes").display[0] == "❤️ ok yes" + " " * 4


def test_dec_line_drawing_in_utf8() -> None:
    assert feed(make(), "\x1b(0lqk\x1b(Bx").display[0] == "┌─┐x      "


def test_dcs_and_apc_strings_are_swallowed() -> None:
    screen = make()
    feed(screen, "\x1bP+q544e\x1b\\a\x1b_Gf=1;AAAA\x1b")
    feed(screen, "\\b")
    assert screen.display[0] == "ab        "


def test_csi_with_intermediates_prints_nothing() -> None:
    assert feed(make(), "\x1b[2 q\x1b[?2004$p\x1b[>4;2mok").display[0] == "ok        "


def test_scroll_up_down_repeat_and_back_tab() -> None:
    screen = feed(make(lines=4), "a\r\nb\r\nc\r\nd\x1b[S")
    assert [row[0] for row in screen.display] == ["b", "c", "d", " "]
    feed(screen, "\x1b[2T")
    assert [row[0] for row in screen.display] == [" ", " ", "b", "c"]
    feed(screen, "\x1b[1;1H=\x1b[4b")
    assert screen.display[0].startswith("=====")
    screen = feed(make(columns=20), "\x1b[1;12H\x1b[Z*")
    assert screen.display[0].index("*") == 8


def test_delete_lines_on_untouched_rows() -> None:
    screen = feed(make(lines=4), "top\x1b[1;1H\x1b[M")
    assert screen.display[0] == " " * 10


# -------------------------------------------------------------------- resize
def test_resize_keeps_the_cursor_row_visible() -> None:
    screen = feed(make(lines=6), "1\r\n2\r\n3\r\n4\r\n5\r\n$ ")
    screen.resize(3, 10)
    assert screen.display == ["4         ", "5         ", "$         "]
    assert (screen.cursor_x, screen.cursor_y) == (2, 2)
    assert screen.history_display == ["1         ", "2         ", "3         "]
    screen.resize(5, 4)
    assert screen.display == ["4   ", "5   ", "$   ", "    ", "    "]
    assert screen.take_dirty() == set(range(5))
    assert runs_width(screen.line_runs(-1)) == 4


def test_resize_then_draw_uses_new_width() -> None:
    screen = make(columns=5, lines=2)
    screen.resize(2, 8)
    feed(screen, "12345678X")
    assert screen.display == ["12345678", "X       "]


# ------------------------------------------------------------ robustness
_sequences = st.one_of(
    st.binary(max_size=60),
    st.builds(
        lambda intro, params, inter, final: (intro + params + inter + final).encode(
            "utf-8", "replace"
        ),
        st.sampled_from(
            ["\x1b[", "\x9b", "\x1b[?", "\x1b[>", "\x1b]", "\x1bP", "\x1b", "\x1b(", "\x1b#"]
        ),
        st.text(alphabet="0123456789;:", max_size=12),
        st.text(alphabet=" !\"#$%&'()*+,-./", max_size=2),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    ),
    st.text(max_size=20).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"\x1b[?1049h",
            b"\x1b[?1049l",
            b"\x1b[?47h",
            b"\x1b[?3h",
            b"\x1b[4h",
            b"\x1b%@",
            b"\x1b%G",
            b"\x0e",
            b"\x0f",
        ]
    ),
)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    chunks=st.lists(_sequences, max_size=30),
    size=st.tuples(st.integers(2, 30), st.integers(1, 10)),
    resize=st.one_of(st.none(), st.tuples(st.integers(1, 12), st.integers(2, 30))),
)
def test_random_bytes_and_sequences_never_raise(chunks, size, resize) -> None:
    columns, lines = size
    screen = make(columns, lines, history=20)
    for index, chunk in enumerate(chunks):
        screen.feed(chunk)
        if resize and index == len(chunks) // 2:
            screen.resize(*resize)
    screen.take_dirty()
    screen.take_replies()
    for y in range(-screen.history_size, screen.lines):
        assert runs_width(screen.line_runs(y)) == screen.columns
    assert len(screen.display) == screen.lines
    assert 0 <= screen.cursor_x < screen.columns and 0 <= screen.cursor_y < screen.lines


def test_resize_while_on_the_alternate_screen_keeps_the_prompt_row() -> None:
    screen = feed(make(lines=6), "1\r\n2\r\n3\r\n4\r\n$ \x1b[?1049h\x1b[2Jfull")
    screen.resize(3, 10)
    feed(screen, "\x1b[?1049l")
    assert screen.display[screen.cursor_y].startswith("$")
    assert (screen.cursor_x, screen.cursor_y) == (2, 2)


def test_feed_text_for_text_frames() -> None:
    screen = make()
    screen.feed_text("héllo\x1b[")
    screen.feed_text("31mx")
    assert screen.display[0] == "héllox    "
    assert screen.line_runs(0)[1] == ("x", screen.line_runs(0)[1][1])
    assert screen.line_runs(0)[1][1].fg == "red"


class _BrokenBell(TerminalScreen):
    def bell(self, *args: object) -> None:
        raise RuntimeError("handler failure")


def test_a_failing_handler_does_not_stop_the_stream() -> None:
    screen = _BrokenBell(10, 2)
    screen.feed(b"a\x07b\x1b[1;5Hc")
    assert screen.display[0] == "ab  c     "
    assert screen.parse_errors == 1
    strict = _BrokenBell(10, 2)
    strict.strict_errors = True
    with pytest.raises(RuntimeError):
        strict.feed(b"\x07")


def test_origin_mode_without_margins_addresses_the_whole_screen() -> None:
    # Found by the chunk-boundary property test: pyte asserts on VPA in origin mode when no
    # margins are set; xterm takes the whole screen as the region.
    screen = TerminalScreen(2, 1)
    screen.strict_errors = True
    screen.feed(b"\x1b[?6h\x1b[d")
    assert screen.cursor.y == 0
    tall = TerminalScreen(10, 5)
    tall.strict_errors = True
    tall.feed(b"\x1b[?6h\x1b[3dX")
    assert tall.display[2].startswith("X")
