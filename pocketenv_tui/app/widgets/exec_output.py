"""ExecOutput: an :class:`~pocketenv_tui.app.exec_transcript.ExecTranscript` drawn with the
line API.

Lines are folded at the widget's width (by cells: a wide character never straddles the
edge) and kept as Strips per transcript line, so new output re-folds only the lines it
changed. :meth:`ExecOutput.update_view` is cheap to call often; the panel calls it at most a
few times a second. The view follows new output while it is scrolled to the end, and stays
where it is when the user scrolled up.
"""

from __future__ import annotations

from rich.cells import chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pocketenv_tui.app.exec_transcript import COMMAND, NOTE, PROBLEM, STDERR, ExecTranscript, Line


class ExecOutput(ScrollView, can_focus=False):
    COMPONENT_CLASSES = {
        "exec-output--stderr",
        "exec-output--command",
        "exec-output--note",
        "exec-output--problem",
    }
    DEFAULT_CSS = """
    ExecOutput > .exec-output--stderr { color: $text-error; }
    ExecOutput > .exec-output--command { text-style: bold; }
    ExecOutput > .exec-output--note { color: $text-muted; text-style: italic; }
    ExecOutput > .exec-output--problem { color: $text-warning; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.transcript = ExecTranscript()
        self._folded: dict[int, list[Strip]] = {}  # absolute line index -> its rows
        self._rows: list[Strip] = []
        self._width = 0

    def show(self, transcript: ExecTranscript) -> None:
        """Draw ``transcript`` from now on (another run's)."""
        self.transcript = transcript
        self._folded.clear()
        transcript.take_dirty()
        self.update_view(force=True)
        self.scroll_end(animate=False, immediate=True)

    def plain(self) -> str:
        return self.transcript.plain()

    def on_resize(self) -> None:
        self.update_view(force=True)

    def update_view(self, *, force: bool = False) -> None:
        transcript = self.transcript
        width = self.scrollable_content_region.width
        if width <= 0:
            self._width = 0  # hidden: everything is folded again once it has a width
            return
        dirty = transcript.take_dirty()
        if width != self._width:
            self._width, force = width, True
        if force:
            self._folded.clear()
            dirty = transcript.dropped
        elif dirty is None:
            return
        first = transcript.dropped
        for index in [i for i in self._folded if i < first]:
            del self._folded[index]
        styles = self._styles()
        for index in range(max(dirty, first), first + len(transcript.lines)):
            self._folded[index] = self._fold(transcript.lines[index - first], width, styles)
        rows: list[Strip] = []
        if first:
            notice = f"… {first} earlier line{'s' if first != 1 else ''} not kept"
            rows.append(Strip([Segment(notice[:width], styles[NOTE])]))
        for index in range(first, first + len(transcript.lines)):
            rows.extend(self._folded[index])
        following = self.scroll_y >= self.max_scroll_y
        self._rows = rows
        self.virtual_size = Size(width, len(rows))
        if following:
            self.scroll_end(animate=False, immediate=True)
        self.refresh()

    def _styles(self) -> dict[str, Style]:
        base = self.rich_style
        styles = {kind: base + self.get_component_rich_style(f"exec-output--{kind}", partial=True)
                  for kind in (STDERR, COMMAND, NOTE, PROBLEM)}
        styles.setdefault("stdout", base)
        return styles

    @staticmethod
    def _fold(line: Line, width: int, styles: dict[str, Style]) -> list[Strip]:
        style = styles.get(line.kind, styles["stdout"])
        if not line.text:
            return [Strip([])]
        return [Strip([Segment(part, style)]) for part in chop_cells(line.text, width)]

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if 0 <= index < len(self._rows):
            return self._rows[index].crop_extend(0, width, base)
        return Strip.blank(width, base)
