"""`?`: every key of the view it was opened from, with what it does and its binding id (what
the config's ``keymap`` remaps), then the `:` commands; one scrolling list that fits any height."""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from pocketenv_tui.app.stylesheets import stylesheets


class HelpRow(NamedTuple):
    key: str
    description: str
    id: str  # "" for bindings without an id (they cannot be remapped)


class HelpScreen(ModalScreen[None]):
    CSS_PATH = stylesheets("dialogs")
    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "Close", id="help.close")]

    def __init__(self, view_name: str, keys: list[HelpRow], commands: list[tuple[str, str]]) -> None:
        super().__init__()
        self.view_name = view_name
        self.keys = keys
        self.commands = commands

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog", classes="dialog"):
            yield Label(f"Keys — {self.view_name}", classes="dialog-title")
            # Both tables size to their rows; the scroll holds them, so the commands are
            # reachable at any terminal height (the keys table no longer takes all of it).
            with VerticalScroll(id="help-scroll"):
                keys = DataTable(id="help-keys", cursor_type="none", zebra_stripes=True)
                keys.add_columns("KEY", "ACTION", "ID (for keymap)")
                for row in self.keys:
                    keys.add_row(row.key, row.description, row.id or "—")
                yield keys
                if self.commands:
                    yield Label("Commands (type : then the command)", classes="dialog-subtitle")
                    commands = DataTable(id="help-commands", cursor_type="none", zebra_stripes=True)
                    commands.add_columns("COMMAND", "DOES")
                    for command, description in self.commands:
                        # Plain text: a command's syntax has brackets ([desc]) that are not markup.
                        commands.add_row(Text(command), Text(description))
                    yield commands
            yield Label("↑/↓ scroll · esc closes", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


def describe_bindings(screen) -> list[HelpRow]:
    """The keys active on ``screen``: its own first, then the app's, then the focused widget's
    (cursor moves and the like), as the footer would show them."""
    ranked: list[tuple[int, int, HelpRow]] = []
    for order, (key, active) in enumerate(screen.active_bindings.items()):
        binding = active.binding
        if not binding.description:
            continue
        shown = binding.key_display or screen.app.get_key_display(binding) or key
        rank = 0 if active.node is screen else 1 if active.node is screen.app else 2
        if not binding.id:
            rank = 3  # Textual's own (focus next, copy selected text) after the dashboard's
        ranked.append((rank, order, HelpRow(shown, binding.description, binding.id or "")))
    rows: list[HelpRow] = []
    for _, _, row in sorted(ranked):
        if row not in rows:
            rows.append(row)
    return rows
