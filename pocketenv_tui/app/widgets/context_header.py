"""The top line: which API the dashboard talks to, which view, and how fresh the data is."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class ContextHeader(Widget):
    """Left: app name and context. Right: the view and the data's age (stale in warning colour)."""

    context_label: reactive[str] = reactive("")
    view_label: reactive[str] = reactive("")
    freshness: reactive[str] = reactive("")
    stale: reactive[bool] = reactive(False)

    def render(self) -> Text:
        left = Text.assemble(("pocketenv-tui", "bold"), "  ", self.context_label)
        right = Text(self.view_label)
        if self.freshness:
            right.append("  ")
            right.append(self.freshness, style="bold" if self.stale else "")
        gap = max(1, self.size.width - left.cell_len - right.cell_len - 2)
        return Text.assemble(" ", left, " " * gap, right, " ")

    def watch_stale(self, stale: bool) -> None:
        self.set_class(stale, "-stale")
