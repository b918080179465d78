"""Following every service of a sandbox at once: the log model behind the logs view.

The server answers a service's log as the whole tail it keeps (the local backend: the last
64 KiB of the service's output, a ring buffer, so the text grows until it is full and then
slides). Each poll's snapshot is compared with the previous one (:func:`new_output`):

- it starts with the previous one: the log grew, the rest is new;
- it is shorter: a ring buffer never shrinks, so the service was started again (a new log);
- otherwise the ring slid: the longest prefix of the new snapshot that the previous one ends
  with was shown already (:func:`tail_overlap`, the same idea as the terminal's replay
  de-duplication, on text); with no such overlap more was printed between two polls than the
  server keeps, and a note says output was skipped.

Content alone cannot tell a slide by exactly the buffer's period in output that repeats
itself (the same line, again and again, with no counter or time in it); such lines may be
shown once where they came twice.

Lines keep the service's colours (SGR only, :mod:`pocketenv_tui.terminal.colour_text`; every
other control sequence is dropped, so nothing from the sandbox reaches the real terminal) and
carry them from one line to the next, as a terminal would. A line is shown when its newline
arrives, or, if the service stops printing mid-line, at the next poll that brings nothing new.

:class:`FollowedLog` keeps the last ``limit`` lines (5,000 by default) of all services
together, in arrival order; paused, it holds new lines back (as many as it keeps) and counts
them. Nothing here imports Textual, so it is tested on its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rich.ansi import AnsiDecoder
from rich.text import Text

from pocketenv_tui.terminal.colour_text import ColourKeeper
from pocketenv_tui.terminal.plain_text import strip_controls

LOG_LINES_KEPT = 5_000
COLOUR_SLOTS = 6  # services get colours 0..5 in the order they first appear, then again
NAME_WIDTH_MAX = 20  # the service-name column never takes more than this
TAB_SIZE = 8
_PROBE = 64  # characters of the new snapshot looked for in the old one first
REPLACEMENT = "\ufffd"  # a character cut by the ring buffer, as the server decodes it

Change = Literal["same", "grew", "restarted", "slid", "gap"]
SKIPPED_NOTE = "… output skipped: the service printed more than the server keeps between two polls"
RESTARTED_NOTE = "… the log starts again (the service was started again)"


def tail_overlap(seen: str, current: str) -> int:
    """Length of the longest prefix of ``current`` that ``seen`` ends with."""
    if not seen or not current:
        return 0
    probe_len = min(_PROBE, len(current))
    probe = current[:probe_len]
    # An overlap of at least probe_len characters contains the whole probe: let find() jump
    # between candidates, earliest first (the earliest start is the longest overlap).
    start = max(0, len(seen) - len(current))
    while (i := seen.find(probe, start)) >= 0:
        k = len(seen) - i
        if k <= len(current) and seen.endswith(current[:k]):
            return k
        start = i + 1
    for k in range(min(probe_len - 1, len(seen)), 0, -1):
        if seen.endswith(current[:k]):
            return k
    return 0


@dataclass(frozen=True, slots=True)
class LogChange:
    fresh: str  # the part of the snapshot not shown yet
    change: Change


def new_output(seen: str, current: str) -> LogChange:
    """What ``current`` (this poll's snapshot) adds to ``seen`` (the previous one)."""
    if current == seen:
        return LogChange("", "same")
    if current.startswith(seen):
        return LogChange(current[len(seen) :], "grew")
    if len(current) < len(seen):
        return LogChange(current, "restarted")
    # The ring's cut may fall inside a character, which the server decodes as U+FFFD: those
    # (at most three) never match what was seen whole, so they are left out of the match.
    lead = 0
    while lead < min(3, len(current)) and current[lead] == REPLACEMENT:
        lead += 1
    overlap = tail_overlap(seen, current[lead:])
    if overlap:
        return LogChange(current[lead + overlap :], "slid")
    # Nothing in common: whatever came between the two polls is lost. The first line of the
    # snapshot may be cut by the ring, so the new output starts at its first whole line.
    newline = current.find("\n")
    return LogChange(current[newline + 1 :] if newline >= 0 else current, "gap")


class ServiceTail:
    """One service's log turned into lines of coloured text, snapshot after snapshot."""

    def __init__(self) -> None:
        self.seen = ""
        self._keeper = ColourKeeper()
        self._decoder = AnsiDecoder()
        self._partial = ""  # text after the last newline, waiting for its end

    def update(self, snapshot: str) -> tuple[list[Text], str | None]:
        """The lines ``snapshot`` completes, and a note to show before them (a gap, a restart)."""
        change = new_output(self.seen, snapshot)
        self.seen = snapshot
        note = None
        lines: list[Text] = []
        if change.change in ("restarted", "gap"):
            lines.extend(self._flush())  # what was pending belongs to the old output
            self._keeper = ColourKeeper()
            self._decoder = AnsiDecoder()
            note = RESTARTED_NOTE if change.change == "restarted" else SKIPPED_NOTE
        if not change.fresh:
            # Nothing new since the last poll: a line still without its newline is shown now.
            return lines + self._flush(), note
        text = self._partial + self._keeper.feed(change.fresh)
        *complete, self._partial = text.split("\n")
        lines.extend(self._line(raw) for raw in complete)
        return lines, note

    def _flush(self) -> list[Text]:
        if not self._partial:
            return []
        raw, self._partial = self._partial, ""
        return [self._line(raw)]

    def _line(self, raw: str) -> Text:
        # The decoder keeps the colour in force from one line to the next and shows what
        # follows the last carriage return (a progress bar's latest state); backspaces and the
        # like are dropped by Text itself.
        line = self._decoder.decode_line(raw.rstrip("\r"))
        if "\t" in line.plain:
            line.expand_tabs(TAB_SIZE)
        return line


def service_label(name: str) -> str:
    """A service's name as the prefix shows it: one line, no controls, at most the column."""
    clean = " ".join(strip_controls(name).split()) or "?"
    if len(clean) > NAME_WIDTH_MAX:
        clean = clean[: NAME_WIDTH_MAX - 1] + "…"
    return clean


@dataclass(frozen=True, slots=True)
class LogLine:
    service: str  # the service's label (service_label)
    slot: int  # its colour, 0..COLOUR_SLOTS-1
    text: Text
    note: bool = False  # said by the dashboard (a gap, a restart), not printed by the service


class FollowedLog:
    """The lines of every service of a sandbox, newest last, at most ``limit`` of them.

    Line numbers are absolute: ``first`` is the number of the oldest line kept, so a line
    keeps its number while older ones are dropped (views cache by it).
    """

    def __init__(self, limit: int = LOG_LINES_KEPT) -> None:
        self.limit = max(1, limit)
        self.lines: deque[LogLine] = deque(maxlen=self.limit)
        self.first = 0
        self.paused = False
        self.held: deque[LogLine] = deque(maxlen=self.limit)
        self.new_while_paused = 0  # lines that arrived since the pause (held or not)
        self.tails: dict[str, ServiceTail] = {}
        self.labels: dict[str, str] = {}
        self._slots: dict[str, int] = {}

    # -- reading ---------------------------------------------------------------------------
    @property
    def end(self) -> int:
        """One past the number of the newest line."""
        return self.first + len(self.lines)

    def line(self, number: int) -> LogLine:
        return self.lines[number - self.first]

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def name_width(self) -> int:
        """Cells of the service-name column: the longest label of the services followed."""
        return max((len(label) for label in self.labels.values()), default=0)

    def plain(self) -> str:
        """Every line kept, as text, prefixed like the view shows it."""
        width = self.name_width
        return "".join(f"{line.service:<{width}} │ {line.text.plain}\n" for line in self.lines)

    # -- services ----------------------------------------------------------------------------
    def slot(self, service_id: str) -> int:
        if service_id not in self._slots:
            self._slots[service_id] = len(self._slots) % COLOUR_SLOTS
        return self._slots[service_id]

    def feed(self, service_id: str, name: str, snapshot: str) -> int:
        """Take a service's log as the server answers it now; the lines added (or held)."""
        tail = self.tails.get(service_id)
        if tail is None:
            tail = self.tails[service_id] = ServiceTail()
        label = self.labels[service_id] = service_label(name)
        slot = self.slot(service_id)
        lines, note = tail.update(snapshot)
        new: list[LogLine] = []
        if note is not None:
            new.append(LogLine(label, slot, Text(note), note=True))
        new.extend(LogLine(label, slot, text) for text in lines)
        self.add(new)
        return len(new)

    def keep_only(self, service_ids: Iterable[str]) -> None:
        """Forget the tails of services that are gone (their lines stay until they age out)."""
        wanted = set(service_ids)
        for gone in [key for key in self.tails if key not in wanted]:
            del self.tails[gone]
            self.labels.pop(gone, None)

    # -- adding, pausing ---------------------------------------------------------------------
    def add(self, new: Iterable[LogLine]) -> None:
        if self.paused:
            for line in new:
                self.held.append(line)
                self.new_while_paused += 1
            return
        self._append(new)

    def _append(self, new: Iterable[LogLine]) -> None:
        for line in new:
            if len(self.lines) == self.limit:
                self.first += 1  # the deque drops the oldest
            self.lines.append(line)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> int:
        """Show what was held back; how many lines arrived while paused."""
        count = self.new_while_paused
        self.paused = False
        held, self.held = self.held, deque(maxlen=self.limit)
        # Lines that did not fit the held buffer still count: they are dropped as the oldest
        # would be, and the line numbers say so.
        self.first += count - len(held)
        self._append(held)
        self.new_while_paused = 0
        return count

    @property
    def lost_while_paused(self) -> int:
        """Lines that arrived while paused and will not be shown (more than ``limit``)."""
        return self.new_while_paused - len(self.held)
