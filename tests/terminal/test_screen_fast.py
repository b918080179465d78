"""The batch fast paths (terminal/screen/fast.py) against the screen's one-sequence-at-a-time paths.

A screen with ``fast_paths = False`` sends every sequence and text run through the screen's
methods one by one and non-ASCII text through the per-character path. For any output and
any chunking, a normal screen must report exactly the same ``display``, ``line_runs``
(every row, scrollback included), ``history_display``, cursor, dirty rows and last character
(for REP). Also checked: recycling of style ids and cell placeholders between feeds.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pocketenv_tui.terminal.screen import TerminalScreen


class SlowScreen(TerminalScreen):
    fast_paths = False


def _pair(columns: int, lines: int, history: int) -> tuple[TerminalScreen, TerminalScreen]:
    fast = TerminalScreen(columns, lines, history=history)
    slow = SlowScreen(columns, lines, history=history)
    fast.strict_errors = slow.strict_errors = True
    return fast, slow


def _state(screen: TerminalScreen) -> tuple[object, ...]:
    cursor = screen.cursor
    return (
        screen.display,
        screen.history_display,
        [screen.line_runs(y) for y in range(-screen.history_size, screen.lines)],
        (cursor.x, cursor.y, cursor.hidden, cursor.attrs),
        screen.take_dirty(),
        screen._last_char,
        sorted(screen.mode),
        screen.alternate_screen,
    )


def _feed_both(data: bytes, cuts: list[int], columns: int, lines: int, history: int) -> None:
    fast, slow = _pair(columns, lines, history)
    try:
        slow.feed(data)
    except Exception:
        return  # pyte itself fails on this input (e.g. origin mode without margins)
    slow, start = SlowScreen(columns, lines, history=history), 0
    slow.strict_errors = True
    for cut in sorted({min(cut, len(data)) for cut in cuts}) + [len(data)]:
        fast.feed(data[start:cut])
        slow.feed(data[start:cut])
        start = cut
        assert _state(fast) == _state(slow)


_SGR = st.sampled_from(
    [
        "",
        "0",
        "1",
        "1;31",
        "7",
        "22;39",
        "38;5;196",
        "48;5;17",
        "38;2;10;20;30",
        "48;2;255;0;9",
        "4:3",
    ]
).map(lambda params: f"\x1b[{params}m")
_TEXT = st.sampled_from(
    [
        "a",
        "hello world ",
        "x" * 25,
        "é",
        "Жук",
        "中文",
        "한",
        "🙂🚀",
        "❤️",
        "e\u0301",
        "a\u0308\u0302",
        "\u0301",
        "\ufe0f",
        "─│┌",
        "✅️",
        "q\u0301",
        "\U00100001",
        "\x01",
        "👨\u200d👩",
        "\u1100\u1161",
    ]
)
_CONTROL = st.sampled_from(
    [
        "\r\n",
        "\r\n",
        "\r",
        "\n",
        "\t",
        "\x08",
        "\x07",
        "\x0e",
        "\x0f",
        "\x1b(0",
        "\x1b(B",
        "\x1b7",
        "\x1b8",
        "\x1bM",
        "\x1bE",
        "\x1b#8",
        "\x1b]0;t\x07",
    ]
)
_CSI = st.one_of(
    st.builds(lambda y, x: f"\x1b[{y};{x}H", st.integers(0, 30), st.integers(0, 30)),
    st.sampled_from(
        [
            "\x1b[H",
            "\x1b[K",
            "\x1b[0K",
            "\x1b[1K",
            "\x1b[2K",
            "\x1b[J",
            "\x1b[2J",
            "\x1b[A",
            "\x1b[2B",
            "\x1b[C",
            "\x1b[9D",
            "\x1b[5G",
            "\x1b[3d",
            "\x1b[?25l",
            "\x1b[?25h",
            "\x1b[4h",
            "\x1b[4l",
            "\x1b[?7l",
            "\x1b[?7h",
            "\x1b[2;4r",
            "\x1b[r",
            "\x1b[20h",
            "\x1b[20l",
            "\x1b[2@",
            "\x1b[P",
            "\x1b[3X",
            "\x1b[L",
            "\x1b[M",
            "\x1b[S",
            "\x1b[T",
            "\x1b[3b",
            "\x1b[?1049h",
            "\x1b[?1049l",
            "\x1b[?5h",
            "\x1b[?5l",
        ]
    ),
)
_stream = st.lists(st.one_of(_SGR, _TEXT, _TEXT, _TEXT, _CONTROL, _CONTROL, _CSI), max_size=60).map(
    "".join
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=_stream,
    size=st.tuples(st.integers(2, 24), st.integers(1, 8)),
    history=st.sampled_from([0, 5, 100]),
    cuts=st.lists(st.integers(0, 400), max_size=5),
)
def test_fast_paths_match_the_exact_paths(text, size, history, cuts) -> None:
    _feed_both(text.encode(), cuts, size[0], size[1], history)


def _colour_lines(rng: random.Random, count: int) -> str:
    out = []
    for _ in range(count):
        segments = []
        for _ in range(rng.randint(1, 8)):
            sgr = rng.choice(
                [
                    f"1;{rng.randint(30, 37)}",
                    f"38;5;{rng.randint(0, 255)}",
                    "0",
                    "",
                    f"38;2;{rng.randint(0, 300)};{rng.randint(0, 255)};{rng.randint(0, 255)}",
                    f"48;2;{rng.randint(0, 255)};1;2",
                    f"48;5;{rng.randint(0, 255)};7",
                ]
            )
            segments.append(
                f"\x1b[{sgr}m" + "w" * rng.randint(0, 30) + rng.choice(["\x1b[0m", "", "\x1b[m"])
            )
        out.append(" ".join(segments) + "\r\n")
    return "".join(out)


def _unicode_lines(rng: random.Random, count: int) -> str:
    pieces = [
        "漢字仮名",
        "한국어",
        "🙂",
        "🚀📦",
        "❤️",
        "Grüße",
        "Съешь",
        "e\u0301",
        "a\u0308o\u0302",
        "┌─┐",
        "lib_core9.py",
        "✅",
        "x" * 40,
        "q\u0301\u0302",
    ]
    return "".join(
        " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 9))) + "\r\n"
        for _ in range(count)
    )


def _frames(rng: random.Random, count: int, columns: int, lines: int) -> str:
    out = []
    for _ in range(count):
        out.append("\x1b[?25l\x1b[H")
        for row in range(1, lines + 1):
            colour = rng.choice(
                ["\x1b[0m", "\x1b[1;37m", "\x1b[36m", "\x1b[7m", "\x1b[30;42m", "\x1b[44m"]
            )
            text = "".join(rng.choice("abc |%0123") for _ in range(rng.randint(0, columns + 5)))
            end = rng.choice(["\x1b[K", "", "\x1b[0m"])
            out.append(f"\x1b[{row};{rng.choice([1, 1, 3])}H{colour}{text}{end}")
        out.append(f"\x1b[0m\x1b[{lines};{columns}H\x1b[?25h")
    return "".join(out)


def test_shell_colour_unicode_and_full_screen_output_match() -> None:
    """Output shaped like the throughput benchmark's corpora, cut at random places."""
    rng = random.Random(7)
    for columns, lines in ((80, 24), (20, 5), (7, 3)):
        for text in (
            _colour_lines(rng, 300),
            _unicode_lines(rng, 300),
            _frames(rng, 20, columns, lines),
            _colour_lines(rng, 50) + _frames(rng, 3, columns, lines) + _unicode_lines(rng, 50),
        ):
            data = text.encode()
            cuts = [rng.randint(0, len(data)) for _ in range(12)]
            _feed_both(data, cuts, columns, lines, 50)


def test_whole_lines_and_single_bytes_give_the_same_screen() -> None:
    rng = random.Random(3)
    data = (_colour_lines(rng, 60) + _unicode_lines(rng, 60)).encode()
    whole = TerminalScreen(30, 6, history=200)
    whole.feed(data)
    bytewise = TerminalScreen(30, 6, history=200)
    for index in range(len(data)):
        bytewise.feed(data[index : index + 1])
    assert _state(whole) == _state(bytewise)


def test_style_ids_are_recycled_between_feeds() -> None:
    """Truecolour output mints a style per colour: ids no row uses any more come back."""
    small = TerminalScreen(12, 3, history=4)
    small._ids.limit = 64
    big = SlowScreen(12, 3, history=4)
    rng = random.Random(5)
    for _ in range(200):
        chunk = (
            "".join(
                f"\x1b[38;2;{rng.randint(0, 255)};{rng.randint(0, 255)};9m{rng.choice('ab')}"
                for _ in range(6)
            )
            + "\r\n"
        )
        small.feed(chunk.encode())
        big.feed(chunk.encode())
        assert _state(small) == _state(big)
    assert len(small._ids.styles) <= 64


def test_cell_placeholders_are_recycled_between_feeds() -> None:
    """Cells of several code points get placeholders; unused ones come back."""
    small = TerminalScreen(10, 2, history=2)
    small._codec.limit = 16
    big = SlowScreen(10, 2, history=2)
    marks = ["\u0301", "\u0308", "\u0302", "\u0303", "\ufe0f", "\u0323"]
    rng = random.Random(9)
    for _ in range(150):
        chunk = (
            "".join(rng.choice("qxz") + rng.choice(marks) + rng.choice(marks) for _ in range(4))
            + "\r\n"
        )
        small.feed(chunk.encode())
        big.feed(chunk.encode())
        assert _state(small) == _state(big)
    assert len(small._codec.cells) <= 16


def test_rep_after_a_batch_repeats_the_last_character() -> None:
    for text in ("ab\r\ncd\r\n\x1b[3b", "x\x1b[31mé\x1b[2b", "中\x1b[0m\x1b[b", "e\u0301\x1b[2b"):
        fast, slow = _pair(10, 3, 10)
        fast.feed(text.encode())
        slow.feed(text.encode())
        assert _state(fast) == _state(slow)


def test_plain_lines_scrolled_in_bulk_match_line_by_line(monkeypatch) -> None:
    # The bulk path (fast._scroll_in_plain) takes batches of plain ASCII lines once
    # the cursor reaches the bottom row: seq, cat of a log. Start it from every awkward spot:
    # mid-row, above the bottom, on a coloured background, with a full or zero-length
    # scrollback, on the alternate screen; lines empty, short and exactly a row wide.
    from pocketenv_tui.terminal.screen import fast as screen_fast

    bulk = screen_fast._scroll_in_plain
    batches: list[int] = []
    monkeypatch.setattr(
        screen_fast, "_scroll_in_plain", lambda screen, *lines: (batches.append(len(lines[0])), bulk(screen, *lines))
    )
    rng = random.Random(12)
    words = ["", "1", "2026-12-02 INFO ok", "x" * 10, "y" * 9]
    for columns, lines, history in ((10, 4, 5), (10, 4, 0), (12, 6, 100)):
        for prefix in ("", "start", "\x1b[2;3Hmid", "\x1b[44m\x1b[2J", "\x1b[?1049h\x1b[4;1H", "\x1b[41mred "):
            body = "".join(rng.choice(words)[:columns] + "\r\n" for _ in range(60))
            data = (prefix + body + "tail").encode()
            _feed_both(data, [len(prefix), len(prefix) + 37, len(data) // 2], columns, lines, history)
    assert len(batches) > 20, "the bulk path ran"


def test_lines_with_tabs_match_the_screens_own_tab_handling(monkeypatch) -> None:
    # `cat -n`, `ls`, make and TSV logs print tabs inside lines: in bulk they become spaces
    # only where that is exactly what a tab leaves; anywhere else they go through tab().
    rng = random.Random(7)
    pieces = ["", "\t", "a\tb", "     12\tpocketenv", "\x1b[31mred\x1b[0m\tplain", "x" * 9 + "\t|", "\t\t\t\tend"]
    prefixes = (
        "",  # default tab stops, default style
        "\x1b[32m",  # a colour: tabs skip cells whose style differs from the text's
        "\x1b[44m",  # a background: blank rows are filled with it
        "\x1b[3g\x1b[1;5H\x1bH\x1b[1;1H",  # tab stops cleared, one set at column 5
        "\x1b[4h",  # insert mode
        "\x1b[2;5r",  # margins
        "some text ",
    )
    from pocketenv_tui.terminal.screen import fast as screen_fast

    bulk = screen_fast._scroll_in_plain
    tabbed_batches: list[int] = []

    def counting(screen, lines, written):  # type: ignore[no-untyped-def]
        tabbed_batches.extend(1 for line in written if "\t" in line)
        return bulk(screen, lines, written)

    monkeypatch.setattr(screen_fast, "_scroll_in_plain", counting)
    short = pieces[:4]  # every line fits a 20-column row once its tabs are expanded
    for columns, lines, history in ((20, 4, 6), (33, 5, 0)):
        for prefix in prefixes:
            for choices in (pieces, short):
                body = "".join(rng.choice(choices) + "\r\n" for _ in range(50))
                data = (prefix + body).encode()
                _feed_both(data, [len(prefix), len(prefix) + 29, len(data) - 7], columns, lines, history)
    assert tabbed_batches, "lines with tabs went through the bulk path too"
