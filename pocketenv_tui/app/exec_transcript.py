"""What the exec view keeps of a run: bounded lines of plain text, and the command history.

Output comes from the sandbox and is hostile. Each stream goes through its own
:class:`~pocketenv_tui.terminal.plain_text.ControlStripper` (a sequence may be split across
chunks), then is laid out as a terminal would without moving the cursor: ``\\n`` ends a line,
``\\r`` makes the next text replace the line (progress bars), backspace takes back a
character, tabs become spaces. Only the last ``MAX_LINES`` lines are kept (the count of the
rest is shown) and a line longer than ``MAX_LINE_CHARS`` continues on the next one, so
memory stays bounded however much a command prints.

stdout and stderr share the transcript in arrival order, each line marked with its stream;
when the other stream writes, a line left open by one stream is ended rather than mixed.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from pocketenv_tui.terminal.plain_text import ControlStripper, strip_controls

MAX_LINES = 5000
MAX_LINE_CHARS = 2000
MAX_HISTORY = 200
TAB_WIDTH = 8

# Kinds of line: output of either stream, the command as typed, and our own notes.
STDOUT, STDERR, COMMAND, NOTE, PROBLEM = "stdout", "stderr", "command", "note", "problem"

_LAYOUT = re.compile(r"(\r\n|[\n\r\b\t])")


@dataclass
class Line:
    kind: str
    text: str = ""
    open: bool = True  # the stream may still add to it
    replace_next: bool = False  # after a lone \r: the next text starts the line again


class ExecTranscript:
    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.lines: deque[Line] = deque()
        self.max_lines = max_lines
        self.dropped = 0  # lines no longer kept; also the absolute index of lines[0]
        self._strippers = {STDOUT: ControlStripper(), STDERR: ControlStripper()}
        self._dirty_from: int | None = None

    # -- reading ------------------------------------------------------------------------------
    def plain(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def take_dirty(self) -> int | None:
        """The absolute index of the first line changed since the last call (None: none)."""
        dirty, self._dirty_from = self._dirty_from, None
        return dirty

    # -- writing ------------------------------------------------------------------------------
    def command(self, command: str) -> None:
        self._close_open()
        self._add(Line(COMMAND, "$ " + " ".join(strip_controls(command).split("\n")), open=False))

    def note(self, text: str, kind: str = NOTE) -> None:
        """A line (or several) of our own, e.g. why a command could not run."""
        self._close_open()
        for part in strip_controls(text).split("\n"):
            self._add(Line(kind, part, open=False))

    def write(self, stream: str, text: str) -> None:
        text = self._strippers[stream].feed(text)
        if text.count("\n") > self.max_lines:
            # A flood: every line before the last max_lines of this piece would be laid out
            # only to be dropped (those kept so far too); count them instead.
            cut = len(text)
            for _ in range(self.max_lines + 1):
                cut = text.rindex("\n", 0, cut)
            completed = text.count("\n", 0, cut + 1)
            last = self.lines[-1] if self.lines else None
            joins_open = last is not None and last.open and last.kind == stream
            self.dropped += len(self.lines) + completed - (1 if joins_open else 0)
            self.lines.clear()
            text = text[cut + 1:]
        self._lay_out(stream, text)

    def _lay_out(self, stream: str, text: str) -> None:
        for piece in _LAYOUT.split(text):
            if not piece:
                continue
            if piece in ("\n", "\r\n"):
                line = self._open_line(stream)
                line.open = False
                self._touch_last()
            elif piece == "\r":
                self._open_line(stream).replace_next = True
            elif piece == "\b":
                line = self._open_line(stream)
                line.text = line.text[:-1]
                self._touch_last()
            elif piece == "\t":
                line = self._open_line(stream)
                self._append(stream, " " * (TAB_WIDTH - len(line.text) % TAB_WIDTH))
            else:
                self._append(stream, piece)

    def _append(self, stream: str, text: str) -> None:
        while text:
            line = self._open_line(stream)
            if line.replace_next:
                line.text = ""
                line.replace_next = False
            room = MAX_LINE_CHARS - len(line.text)
            line.text += text[:room]
            text = text[room:]
            self._touch_last()
            if len(line.text) >= MAX_LINE_CHARS:
                line.open = False  # the rest continues on a line of its own

    def _open_line(self, stream: str) -> Line:
        last = self.lines[-1] if self.lines else None
        if last is not None and last.open and last.kind == stream:
            return last
        self._close_open()
        line = Line(stream)
        self._add(line)
        return line

    def _close_open(self) -> None:
        if self.lines and self.lines[-1].open:
            self.lines[-1].open = False

    def _add(self, line: Line) -> None:
        if len(self.lines) >= self.max_lines:
            self.lines.popleft()
            self.dropped += 1
        self.lines.append(line)
        self._touch_last()

    def _touch_last(self) -> None:
        index = self.dropped + len(self.lines) - 1
        if self._dirty_from is None or index < self._dirty_from:
            self._dirty_from = index


class CommandHistory:
    """Earlier commands for up/down, newest last, like a shell's (the draft being typed is
    given back when going down past the newest)."""

    def __init__(self, limit: int = MAX_HISTORY) -> None:
        self.entries: list[str] = []
        self.limit = limit
        self._position: int | None = None  # index into entries while browsing
        self._draft = ""

    def add(self, command: str) -> None:
        if not self.entries or self.entries[-1] != command:
            self.entries.append(command)
            del self.entries[: -self.limit]
        self._position = None

    def previous(self, current: str) -> str | None:
        """The command before the one shown (None: nothing earlier)."""
        if not self.entries:
            return None
        if self._position is None:
            self._draft = current
            self._position = len(self.entries)
        if self._position == 0:
            return None
        self._position -= 1
        return self.entries[self._position]

    def next(self) -> str | None:
        """The command after the one shown, or the draft past the newest (None: not browsing)."""
        if self._position is None:
            return None
        self._position += 1
        if self._position >= len(self.entries):
            self._position = None
            return self._draft
        return self.entries[self._position]


def format_elapsed(seconds: float) -> str:
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
