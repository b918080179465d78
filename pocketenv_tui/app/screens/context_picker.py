"""`:ctx` with no argument: pick the local backend or the token's API."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from pocketenv_tui.app.stylesheets import stylesheets

DESCRIPTIONS = {
    "local": "local backend (sandboxes on this machine)",
    "api": "the API of your Pocketenv token",
}


class ContextPicker(ModalScreen[str | None]):
    CSS_PATH = stylesheets("dialogs")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ctx.cancel")]

    def __init__(self, names: list[str], current: str) -> None:
        super().__init__()
        self.names = names
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="ctx-dialog", classes="dialog"):
            yield Label("Switch context", classes="dialog-title")
            options = [
                Option(
                    f"{'● ' if name == self.current else '  '}{name} — {DESCRIPTIONS.get(name, name)}",
                    id=name,
                )
                for name in self.names
            ]
            yield OptionList(*options, id="ctx-options")
            yield Label("enter switches, esc cancels", classes="dialog-hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
