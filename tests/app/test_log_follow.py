"""The logs view's model, without Textual: what is new in each snapshot of a bounded log,
colours kept and every other control sequence dropped, the bound, and pausing."""

from __future__ import annotations

import pytest
from rich.style import Style

from pocketenv_tui.app.log_follow import (
    COLOUR_SLOTS,
    NAME_WIDTH_MAX,
    RESTARTED_NOTE,
    SKIPPED_NOTE,
    FollowedLog,
    ServiceTail,
    new_output,
    service_label,
    tail_overlap,
)
from pocketenv_tui.terminal.colour_text import ColourKeeper, keep_colours

RING = 64 * 1024  # what the local backend keeps of a service's log


class Ring:
    """A service's log as the local backend keeps it: the last ``limit`` characters."""

    def __init__(self, limit: int = RING) -> None:
        self.limit = limit
        self.text = ""

    def write(self, text: str) -> str:
        self.text = (self.text + text)[-self.limit :]
        return self.text


def plains(log: FollowedLog) -> list[str]:
    return [line.text.plain for line in log.lines]


# -- finding the new part --------------------------------------------------------------------


def test_overlap_is_the_longest_prefix_the_old_snapshot_ends_with():
    assert tail_overlap("abcdef", "defgh") == 3
    assert tail_overlap("abab", "ababab") == 4
    assert tail_overlap("abc", "xyz") == 0
    assert tail_overlap("", "abc") == 0
    long_seen = "".join(f"line {i}\n" for i in range(2000))
    assert tail_overlap(long_seen, long_seen[-5000:] + "new\n") == 5000


def test_growth_slide_restart_and_gap():
    assert new_output("a\n", "a\nb\n").change == "grew"
    assert new_output("a\n", "a\nb\n").fresh == "b\n"
    assert new_output("a\nb\n", "a\nb\n").change == "same"
    slid = new_output("0\n1\n2\n", "1\n2\n3\n")
    assert (slid.change, slid.fresh) == ("slid", "3\n")
    restarted = new_output("0\n1\n2\n", "0\n")
    assert (restarted.change, restarted.fresh) == ("restarted", "0\n")
    gap = new_output("old\nlines\n", "cut line\nfresh 1\nfresh 2\n")
    assert (gap.change, gap.fresh) == ("gap", "fresh 1\nfresh 2\n")


def test_a_character_cut_by_the_ring_does_not_hide_the_overlap():
    seen = "é line one\nline two\n"
    # The server decodes the half of "é" left at the ring's start as U+FFFD.
    current = "\ufffd line one\nline two\nline three\n"
    assert new_output(seen, current).fresh == "line three\n"


def test_a_full_ring_that_slides_shows_each_line_once():
    ring = Ring(limit=4096)
    tail = ServiceTail()
    shown: list[str] = []
    number = 0
    for burst in (10, 300, 7, 250, 1, 0, 120):
        for _ in range(burst):
            ring.write(f"line {number:05d}\n")
            number += 1
        lines, note = tail.update(ring.text)
        assert note is None
        shown.extend(line.plain for line in lines)
    assert shown == [f"line {n:05d}" for n in range(number)]


def test_more_than_the_ring_between_two_polls_says_output_was_skipped():
    ring = Ring(limit=1000)
    log = FollowedLog()
    log.feed("s1", "web", ring.write("".join(f"first {n}\n" for n in range(5))))
    log.feed("s1", "web", ring.write("".join(f"second {n:04d}\n" for n in range(500))))
    notes = [line for line in log.lines if line.note]
    assert [line.text.plain for line in notes] == [SKIPPED_NOTE]
    assert plains(log)[-1] == "second 0499"
    assert not any(text.startswith("cond") for text in plains(log))  # no cut first line


def test_a_restarted_service_starts_a_new_log_with_a_note():
    log = FollowedLog()
    log.feed("s1", "web", "booting\nready\n")
    log.feed("s1", "web", "boot\n")
    assert plains(log) == ["booting", "ready", RESTARTED_NOTE, "boot"]
    assert log.lines[2].note


def test_a_line_without_its_newline_waits_one_quiet_poll():
    tail = ServiceTail()
    lines, _ = tail.update("prompt> ")
    assert lines == []
    lines, _ = tail.update("prompt> ")  # nothing new since: shown as it is
    assert [line.plain for line in lines] == ["prompt> "]
    lines, _ = tail.update("half")
    lines, _ = tail.update("half and the rest\n")
    assert [line.plain for line in lines] == ["half and the rest"]


# -- colours and controls ---------------------------------------------------------------------


def test_colours_are_kept_and_carried_to_the_next_line():
    tail = ServiceTail()
    lines, _ = tail.update("\x1b[31mred\x1b[0m 1\n\x1b[1;32mgreen\nstill green\x1b[0m plain\n")
    first, second, third = lines
    assert first.plain == "red 1"
    assert first.get_style_at_offset(_console(), 0).color.name == "color(1)"
    assert first.get_style_at_offset(_console(), 4) == Style()
    assert second.get_style_at_offset(_console(), 0).bold
    assert third.get_style_at_offset(_console(), 0).color.name == "color(2)"
    assert third.get_style_at_offset(_console(), len("still green ")) == Style()


def _console():
    from rich.console import Console

    return Console()


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b]52;c;cGF5bG9hZA==\x07",  # OSC 52: set the clipboard
        "\x1b]0;new title\x1b\\",  # window title, ST-terminated
        "\x1b[2J\x1b[H",  # clear the screen, cursor home
        "\x1bP+q544e\x1b\\",  # DCS request
        "\x9b6n",  # 8-bit CSI: report the cursor position
        "\x1b[?1049h",  # alternate screen
        "\x1b[>4;2m",  # a private-marker "m": not SGR
        "\x1b[31;" + "1;" * 100 + "m",  # an over-long parameter list
        "\u202e\u200b",  # bidi override, zero width
        "\x07\x08\x0b\x0c",
    ],
)
def test_only_sgr_survives(hostile):
    # Backspace is left for the caller to lay out (as the plain stripper does); Text drops it.
    assert keep_colours(f"a{hostile}b").replace("\b", "") == "ab"
    tail = ServiceTail()
    lines, _ = tail.update(f"a{hostile}b\n")
    assert [line.plain for line in lines] == ["ab"]
    assert all(char.isprintable() for char in lines[0].plain)


def test_sgr_split_across_polls_and_c1_csi():
    keeper = ColourKeeper()
    assert keeper.feed("x\x1b[3") == "x"
    assert keeper.feed("1my") == "\x1b[31my"
    assert keep_colours("\x9b1;32mz") == "\x1b[1;32mz"
    assert keep_colours("\x1b[38;5;200m\x1b[38:2::1:2:3mz") == "\x1b[38;5;200m\x1b[38:2::1:2:3mz"


def test_carriage_returns_and_tabs():
    tail = ServiceTail()
    lines, _ = tail.update("10%\r50%\r100%\r\n\tindented\n")
    assert [line.plain for line in lines] == ["100%", "        indented"]


def test_service_labels_are_one_short_clean_line():
    assert service_label("web\x1b[31m\nsecond") == "web second"
    assert len(service_label("x" * 50)) == NAME_WIDTH_MAX
    assert service_label("\x1b]0;\x07") == "?"


# -- the followed log ---------------------------------------------------------------------------


def test_services_get_their_own_colour_slot_in_order():
    log = FollowedLog()
    for index in range(COLOUR_SLOTS + 1):
        log.feed(f"s{index}", f"svc{index}", f"hello {index}\n")
    assert [line.slot for line in log.lines] == [*range(COLOUR_SLOTS), 0]
    assert log.line(0).service == "svc0"
    assert log.name_width == len("svc0")
    assert log.plain().splitlines()[1] == "svc1 │ hello 1"


def test_the_log_keeps_the_last_lines_with_absolute_numbers():
    log = FollowedLog(limit=100)
    ring = Ring()
    for batch in range(5):
        log.feed("s", "web", ring.write("".join(f"{batch}-{n}\n" for n in range(60))))
    assert len(log) == 100
    assert log.end == 300 and log.first == 200
    assert log.line(299).text.plain == "4-59"
    assert log.line(200).text.plain == "3-20"


def test_pause_holds_and_counts_resume_shows_them():
    log = FollowedLog(limit=50)
    log.feed("s", "web", "a\n")
    log.pause()
    ring_text = "a\n"
    for n in range(30):
        ring_text += f"b{n}\n"
        log.feed("s", "web", ring_text)
    assert plains(log) == ["a"]
    assert log.new_while_paused == 30 and log.lost_while_paused == 0
    assert log.resume() == 30
    assert plains(log) == ["a", *(f"b{n}" for n in range(30))]
    assert log.end == 31 and not log.paused


def test_a_pause_longer_than_the_bound_keeps_the_newest_and_says_how_many_were_lost():
    log = FollowedLog(limit=10)
    log.feed("s", "web", "before\n")
    log.pause()
    log.feed("s", "web", "before\n" + "".join(f"n{n}\n" for n in range(25)))
    assert log.new_while_paused == 25 and log.lost_while_paused == 15
    log.resume()
    assert plains(log) == [f"n{n}" for n in range(15, 25)]
    assert log.end == 26 and log.first == 16


def test_services_that_are_gone_are_forgotten():
    log = FollowedLog()
    log.feed("s1", "web", "x\n")
    log.feed("s2", "a-much-longer-name", "y\n")
    log.keep_only(["s1"])
    assert set(log.tails) == {"s1"} and log.name_width == len("web")
    assert len(log) == 2  # their lines stay until they age out
