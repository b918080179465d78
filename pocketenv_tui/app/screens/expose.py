"""`e` on the sandbox screen: expose a port (1025–65535) with an optional description."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.app.validation import port_error


@dataclass(frozen=True)
class ExposeRequest:
    port: int
    description: str | None


class ExposeScreen(ModalScreen[ExposeRequest | None]):
    CSS_PATH = stylesheets("dialogs")
    # ctrl+s submits here as in every other form; Enter in a field does too.
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="expose.cancel"),
        Binding("ctrl+s", "submit", "Expose", id="expose.submit"),
    ]

    def __init__(self, sandbox_name: str) -> None:
        super().__init__()
        self.sandbox_name = sandbox_name

    def compose(self) -> ComposeResult:
        with Vertical(id="expose-dialog", classes="dialog form"):
            yield Label(f"Expose a port of {self.sandbox_name}", classes="dialog-title", markup=False)
            yield Label("Port (1025–65535)", classes="field-label")
            yield Input(placeholder="8080", id="port", type="integer")
            yield Label("", id="port-error", classes="field-error")
            yield Label("Description (optional)", classes="field-label")
            yield Input(placeholder="web server", id="description")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Expose", id="expose", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#port", Input).focus()

    def _show_error(self, message: str | None) -> None:
        label = self.query_one("#port-error", Label)
        label.update(message or "")
        label.set_class(bool(message), "-shown")
        self.query_one("#port", Input).set_class(bool(message), "-invalid")

    @on(Input.Changed, "#port")
    def _port_changed(self, event: Input.Changed) -> None:
        self._show_error(port_error(event.value) if event.value else None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "expose":
            self.submit()
        else:
            self.dismiss(None)

    def submit(self) -> None:
        value = self.query_one("#port", Input).value
        problem = port_error(value)
        self._show_error(problem)
        if problem:
            return
        description = self.query_one("#description", Input).value.strip() or None
        self.dismiss(ExposeRequest(int(value), description))

    def action_submit(self) -> None:
        self.submit()

    def action_cancel(self) -> None:
        self.dismiss(None)
