"""One modal form for every resource: fields, checks shown beside each field, and a submit
that runs in a worker while the form stays open.

Rules the form enforces for all tabs:
- every field is checked before anything is sent, and the reason appears under the field;
- the server's error is shown in the form as it came, and what was typed stays (nothing lost);
- after a successful submit every field is emptied and the typed values dropped, so the app
  keeps no plaintext of secrets, file contents or keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, TextArea

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.stylesheets import stylesheets

FieldKind = Literal["text", "password", "multiline"]
Values = dict[str, str]


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: FieldKind = "text"
    value: str = ""
    placeholder: str = ""
    # The reason the value is refused, or None; run on every change and on submit.
    check: Callable[[str], str | None] | None = None
    # Shown but not editable (the name of a record being edited): focus starts after it.
    read_only: bool = False


class FormRefused(Exception):
    """Raised by a submit function: the values need changing; ``field`` names the one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# The submit function gets the checked values and the form (to ask questions); it returns the
# message to show on success, or None to keep the form open without a change (a "no" answer).
Submit = Callable[[Values, "FormScreen"], Awaitable[str | None]]
CrossCheck = Callable[[Values], dict[str, str]]


class FormScreen(ModalScreen[str | None]):
    CSS_PATH = stylesheets("dialogs", "resources")
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "submit", "Submit", id="form.submit"),
    ]

    def __init__(
        self,
        title: str,
        fields: list[Field],
        submit: Submit,
        *,
        submit_label: str = "Save",
        form_id: str = "resource-form",
        cross_check: CrossCheck | None = None,
        note: str = "",
    ) -> None:
        super().__init__(id=form_id)
        self.title_text = title
        self.fields = fields
        self._submit = submit
        self.submit_label = submit_label
        self.cross_check = cross_check
        self.note = note
        self.sending = False
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form resource-form"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            if self.note:
                yield Label(self.note, classes="form-note", markup=False)
            with VerticalScroll(classes="form-fields"):
                for field in self.fields:
                    yield Label(field.label, classes="field-label", markup=False)
                    if field.kind == "multiline":
                        yield TextArea(field.value, id=f"field-{field.key}", classes="field-multiline", placeholder=field.placeholder)
                    elif field.kind == "password":
                        with Horizontal(classes="secret-row"):
                            yield Input(field.value, placeholder=field.placeholder, password=True, id=f"field-{field.key}")
                            yield Checkbox("show", id=f"show-{field.key}", classes="show-toggle")
                    else:
                        yield Input(
                            field.value, placeholder=field.placeholder, id=f"field-{field.key}",
                            disabled=field.read_only,
                        )  # fmt: skip
                    yield Label("", id=f"error-{field.key}", classes="field-error", markup=False)
            yield Label("", id="form-error", classes="form-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="form-cancel")
                yield Button(self.submit_label, id="form-submit", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#form-error").display = False
        editable = [field for field in self.fields if not field.read_only]
        if editable:
            self.query_one(f"#field-{editable[0].key}").focus()

    # -- values and checks ---------------------------------------------------------------------
    def field_of(self, key: str) -> Field:
        return next(field for field in self.fields if field.key == key)

    def value_of(self, key: str) -> str:
        widget = self.query_one(f"#field-{key}")
        return widget.text if isinstance(widget, TextArea) else widget.value

    def set_value(self, key: str, value: str) -> None:
        widget = self.query_one(f"#field-{key}")
        if isinstance(widget, TextArea):
            widget.load_text(value)
        else:
            widget.value = value

    def values(self) -> Values:
        return {field.key: self.value_of(field.key) for field in self.fields}

    def show_error(self, key: str, message: str | None) -> None:
        label = self.query_one(f"#error-{key}", Label)
        label.update(message or "")
        label.set_class(bool(message), "-shown")
        self.query_one(f"#field-{key}").set_class(bool(message), "-invalid")
        if message:
            self.errors[key] = message
        else:
            self.errors.pop(key, None)

    def show_form_error(self, message: str | None) -> None:
        label = self.query_one("#form-error", Label)
        label.update(message or "")
        label.display = bool(message)

    def check_all(self) -> bool:
        values = self.values()
        found: dict[str, str] = {}
        for field in self.fields:
            problem = field.check(values[field.key]) if field.check else None
            if problem:
                found[field.key] = problem
        if self.cross_check is not None:
            for key, problem in self.cross_check(values).items():
                found.setdefault(key, problem)
        for field in self.fields:
            self.show_error(field.key, found.get(field.key))
        values.clear()
        if found:
            first = next(field.key for field in self.fields if field.key in found)
            self.query_one(f"#field-{first}").focus()
        return not found

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        key = (event.input.id or "").removeprefix("field-")
        if not any(field.key == key for field in self.fields):
            return
        field = self.field_of(key)
        if field.check is not None and (event.value or key in self.errors):
            self.show_error(key, field.check(event.value))

    @on(Checkbox.Changed, ".show-toggle")
    def _toggle_shown(self, event: Checkbox.Changed) -> None:
        key = (event.checkbox.id or "").removeprefix("show-")
        self.query_one(f"#field-{key}", Input).password = not event.value

    # -- submit ----------------------------------------------------------------------------------
    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "form-submit":
            self.action_submit()
        elif event.button.id == "form-cancel":
            self.action_cancel()

    def action_submit(self) -> None:
        if self.sending or not self.check_all():
            return
        self.sending = True
        self.query_one("#form-submit", Button).disabled = True
        self.show_form_error(None)
        self.run_worker(partial(self._send, self.values()), group="form-submit", exclusive=True, exit_on_error=False)

    async def _send(self, values: Values) -> None:
        try:
            message = await self._submit(values, self)
        except FormRefused as exc:
            if exc.field is not None:
                self.show_error(exc.field, str(exc))
            else:
                self.show_form_error(str(exc))
            return
        except PocketenvError as exc:
            self.show_form_error(str(exc))  # the server's own words; the fields keep their text
            return
        except (OSError, ValueError) as exc:
            self.show_form_error(str(exc))
            return
        finally:
            values.clear()
            self.sending = False
            if self.is_mounted:
                self.query_one("#form-submit", Button).disabled = False
        if message is not None:
            self.forget_values()
            self.dismiss(message)

    async def ask(self, question: str, yes_label: str = "Yes") -> bool:
        """A yes/no question on top of the form, from inside a submit function."""
        return bool(await self.app.push_screen_wait(ConfirmScreen(question, yes_label=yes_label, danger=False)))

    def forget_values(self) -> None:
        """Empty every field: no plaintext stays in the widgets after the form closes."""
        for field in self.fields:
            self.set_value(field.key, "")

    def action_cancel(self) -> None:
        if self.sending:
            return
        self.forget_values()
        self.dismiss(None)
