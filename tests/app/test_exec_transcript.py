"""ExecTranscript (bounded, laid out like a terminal without cursor moves) and CommandHistory."""

from __future__ import annotations

from pocketenv_tui.app.exec_transcript import (
    MAX_LINE_CHARS,
    STDERR,
    STDOUT,
    CommandHistory,
    ExecTranscript,
    format_elapsed,
)


def lines_of(transcript: ExecTranscript) -> list[tuple[str, str]]:
    return [(line.kind, line.text) for line in transcript.lines]


def test_streams_interleave_by_line_in_arrival_order():
    transcript = ExecTranscript()
    transcript.write(STDOUT, "one\npart")
    transcript.write(STDERR, "oops\n")
    transcript.write(STDOUT, "ial\n")
    assert lines_of(transcript) == [(STDOUT, "one"), (STDOUT, "part"), (STDERR, "oops"), (STDOUT, "ial")]


def test_carriage_return_replaces_the_line_and_crlf_is_a_newline():
    transcript = ExecTranscript()
    for chunk in ("10%", "\r50%", "\r", "100%\r", "\ndone\r\n", "tab\tx\bX"):
        transcript.write(STDOUT, chunk)
    assert transcript.plain() == "100%\ndone\ntab     X"


def test_only_the_last_lines_are_kept_and_long_lines_continue():
    transcript = ExecTranscript(max_lines=3)
    transcript.write(STDOUT, "".join(f"{n}\n" for n in range(10)))
    assert transcript.plain() == "7\n8\n9" and transcript.dropped == 7
    wide = ExecTranscript()
    wide.write(STDOUT, "x" * (MAX_LINE_CHARS + 5) + "\n")
    assert [len(line.text) for line in wide.lines] == [MAX_LINE_CHARS, 5]


def test_dirty_lines_are_reported_once():
    transcript = ExecTranscript()
    transcript.write(STDOUT, "a\nb")
    assert transcript.take_dirty() == 0 and transcript.take_dirty() is None
    transcript.write(STDOUT, "c\n")
    assert transcript.take_dirty() == 1


def test_escape_sequences_never_reach_the_lines():
    transcript = ExecTranscript()
    transcript.command("echo \x1b[31mhi")
    transcript.write(STDOUT, "\x1b[3")
    transcript.write(STDOUT, "1mred\x1b[0m\n")
    assert transcript.plain() == "$ echo hi\nred"


def test_history_walks_back_and_gives_the_draft_back():
    history = CommandHistory()
    for command in ("ls", "pwd", "pwd", "id"):
        history.add(command)
    assert history.entries == ["ls", "pwd", "id"]
    assert [history.previous("dr"), history.previous(""), history.previous(""), history.previous("")] == [
        "id", "pwd", "ls", None,
    ]
    assert [history.next(), history.next(), history.next(), history.next()] == ["pwd", "id", "dr", None]


def test_elapsed_times_read_naturally():
    assert [format_elapsed(s) for s in (0.4, 59.9, 65, 3725)] == ["0 s", "59 s", "1 min 05 s", "1 h 02 min"]


def test_a_flood_keeps_the_same_last_lines_and_count_as_line_by_line():
    flood = "".join(f"line {n}\n" for n in range(50)) + "tail"
    fast, slow = ExecTranscript(max_lines=10), ExecTranscript(max_lines=10)
    for transcript in (fast, slow):
        transcript.write(STDOUT, "open ")
    fast.write(STDOUT, flood)
    for piece in flood.splitlines(keepends=True):
        slow.write(STDOUT, piece)
    assert lines_of(fast) == lines_of(slow) and fast.dropped == slow.dropped == 41
    assert fast.take_dirty() is not None and fast.plain().endswith("line 49\ntail")
