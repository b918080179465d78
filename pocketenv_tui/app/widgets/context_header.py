"""The top line: which API the dashboard talks to, which view, and how fresh the data is."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class ContextHeader(Widget):
    """Left: app name and context. Right: the view and the data's age (stale in warning colour).

    ``backend_problem`` (set by the backend watch, app/backend_watch.py) takes the context's
    place while the local backend is down, e.g. "local backend at … stopped — restarting in 4s":
    the label alone would still say "(running)".
    """

    context_label: reactive[str] = reactive("")
    backend_problem: reactive[str] = reactive("")
    view_label: reactive[str] = reactive("")
    freshness: reactive[str] = reactive("")
    stale: reactive[bool] = reactive(False)

    def render(self) -> Text:
        right = Text(self.view_label)
        if self.freshness:
            right.append("  ")
            right.append(self.freshness, style="bold" if self.stale else "")
        room = self.size.width - right.cell_len - 4
        left = self._left(room)
        gap = max(2, self.size.width - left.cell_len - right.cell_len - 2)
        return Text.assemble(" ", left, " " * gap, right, " ")

    def _left(self, room: int) -> Text:
        """The app name and context in ``room`` cells: in full when it fits, else shortened
        (the freshness on the right matters more than the wording), never cut mid-word."""
        if self.backend_problem:
            where = Text(self.backend_problem, style="bold")
        else:
            where = Text(self.context_label)
        left = Text.assemble(("pocketenv-tui", "bold"), "  ", where)
        if left.cell_len <= room:
            return left
        short = shorten_context(self.backend_problem or self.context_label)
        left = Text.assemble(("pocketenv-tui", "bold"), " ", Text(short, style=where.style))
        if left.cell_len <= room:
            return left
        left = Text(short, style=where.style)
        left.truncate(max(1, room), overflow="ellipsis")
        return left

    def watch_stale(self) -> None:
        self._show_warning()

    def watch_backend_problem(self) -> None:
        self._show_warning()

    def _show_warning(self) -> None:
        self.set_class(self.stale or bool(self.backend_problem), "-stale")


def shorten_context(label: str) -> str:
    """``local backend at http://127.0.0.1:8789 (started in the background)`` ->
    ``local 127.0.0.1:8789 · started``: the same facts in fewer cells."""
    text = label.replace("http://", "").replace("https://", "")
    text = text.replace("local backend at ", "local ").replace("local backend ", "local ")
    text = text.replace("(started in the background)", "· started").replace("(running)", "· running")
    return text.replace("API ", "api ")
