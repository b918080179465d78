"""The `:` line: an Input whose Tab completes commands and their arguments instead of moving
the focus away (where the next letter typed would run as a hotkey on the list)."""

from __future__ import annotations

from collections.abc import Callable

from rich.markup import escape
from textual.binding import Binding
from textual.widgets import Input

from pocketenv_tui.app.commands import complete_command


class CommandLine(Input):
    BINDINGS = [Binding("tab", "complete", "Complete", id="command.complete", show=False)]

    def __init__(self, arguments: Callable[[], dict[str, list[str]]], **kwargs) -> None:
        super().__init__(**kwargs)
        self._arguments = arguments

    def action_complete(self) -> None:
        completed, candidates = complete_command(self.value, self._arguments())
        if completed != self.value:
            self.value = completed
            self.cursor_position = len(completed)
        if len(candidates) > 1:
            self.notify(escape("  ".join(candidates)), title="Completions", timeout=4)
        elif not candidates:
            self.notify("No command or argument starts like that (? lists them).", severity="warning", timeout=4)
