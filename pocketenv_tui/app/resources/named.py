"""Secrets and variables: records named in UPPER_SNAKE_CASE, with add, edit, replace, delete.

Both become environment variables of the sandbox (secret values win): of every process a
running sandbox starts from then on (exec, shells, services), and at every start.
Adding a name that already exists asks to replace that record's value instead of failing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding

from pocketenv_tui.api.resource_models import Secret, Variable
from pocketenv_tui.app.resources.form import Field, FormScreen, Values
from pocketenv_tui.app.resources.pane import TablePane
from pocketenv_tui.app.resources.rules import env_name_error, required_error
from pocketenv_tui.app.sandbox_rows import Cell


class NamedPane(TablePane[Any]):
    NOUN: ClassVar[str] = ""
    MUTATING = frozenset({"add", "edit", "delete"})

    def namespace(self) -> Any:
        raise TypeError(f"{type(self).__name__} must define namespace()")

    async def fetch(self) -> Mapping[str, Any]:
        return {item.id: item async for item in self.namespace().iterate(self.sandbox_id)}

    def value_field(self, editing: Any | None) -> Field:
        raise TypeError(f"{type(self).__name__} must define value_field()")

    # -- add / edit ------------------------------------------------------------------------------
    def action_add(self) -> None:
        if not self.refused("add"):
            self._open(None)

    def action_edit(self) -> None:
        if self.refused("edit"):
            return
        item = self.selected_or_warn(self.NOUN)
        if item is not None:
            self._open(item)

    def _open(self, editing: Any | None) -> None:
        noun = self.NOUN
        # Editing changes the value only: the name is shown, not editable (renaming would be
        # a delete and an add, and a typed value must never land in the name by accident).
        # A name is checked as typed and never rewritten: the check says what a name may be.
        fields = [
            Field(
                "name",
                "Name (kept: delete and add to rename)" if editing else "Name (UPPER_SNAKE_CASE)",
                value=editing.name if editing else "",
                placeholder="API_KEY",
                check=env_name_error,
                read_only=editing is not None,
            ),
            self.value_field(editing),
        ]
        title = f"Edit {noun} {editing.name}" if editing else f"Add a {noun} to {self.sandbox.name}"
        self.open_form(
            title,
            fields,
            lambda values, form: self._save(values, form, editing),
            submit_label="Save Changes" if editing else f"Add {noun.capitalize()}",
            form_id=f"{self.id}-form",
        )

    async def _save(self, values: Values, form: FormScreen, editing: Any | None) -> str | None:
        namespace = self.namespace()
        name, value = values["name"], values["value"]
        values.clear()
        noun = self.NOUN.capitalize()
        if editing is not None:
            name = editing.name  # the name field is read-only: a value never renames
            await namespace.update(editing.id, sandbox_id=self.sandbox_id, name=name, value=value)
            return f"{noun} {name} updated."
        current = {item.name: item async for item in namespace.iterate(self.sandbox_id)}
        clash = current.get(name)
        if clash is not None:
            if not await form.ask(f"A {self.NOUN} named {name} already exists. Replace its value?", "Replace"):
                return None
            await namespace.update(clash.id, sandbox_id=self.sandbox_id, name=name, value=value)
            return f"{noun} {name} replaced."
        return await self.add_checked(
            lambda: namespace.add(self.sandbox_id, name, value),
            self.listed(lambda item: item.name == name),
            f"{noun} {name} added.",
        )

    # -- delete ---------------------------------------------------------------------------------
    def action_delete(self) -> None:
        if self.refused("delete"):
            return
        item = self.selected_or_warn(self.NOUN)
        if item is None:
            return
        self.confirm_then(
            f"Are you sure you want to delete this {self.NOUN}?\n{item.name}",
            "Yes, delete",
            lambda: self.namespace().delete(item.id),
            f"Could not delete {item.name}",
            f"{self.NOUN.capitalize()} {item.name} deleted.",
            landed=self.gone(item.id),
        )


class SecretsPane(NamedPane):
    NOUN = "secret"
    COLUMNS = [("name", "NAME"), ("created", "CREATED")]
    EMPTY = "No secrets. Press a to add one; values are sealed and never shown."
    BINDINGS = [
        Binding("a", "add", "Add secret", id="secrets.add"),
        Binding("enter", "edit", "Edit", id="secrets.edit"),
        Binding("d,delete", "delete", "Delete", id="secrets.delete"),
    ]

    def namespace(self) -> Any:
        return self.client.secrets

    def cells(self, item: Secret) -> tuple[object, ...]:
        return (Cell(item.name, item.name), self.created_cell(item.created_at))

    def value_field(self, editing: Any | None) -> Field:
        # Never pre-filled: the server does not give secret values back.
        return Field(
            "value",
            "Value (sealed with the server's key before it is sent)",
            kind="password",
            check=lambda value: required_error(value, "A value"),
        )


class VariablesPane(NamedPane):
    NOUN = "variable"
    COLUMNS = [("name", "NAME"), ("value", "VALUE"), ("created", "CREATED")]
    EMPTY = "No variables. Press a to add one."
    BINDINGS = [
        Binding("a", "add", "Add variable", id="variables.add"),
        Binding("enter", "edit", "Edit", id="variables.edit"),
        Binding("d,delete", "delete", "Delete", id="variables.delete"),
    ]

    def namespace(self) -> Any:
        return self.client.variables

    def cells(self, item: Variable) -> tuple[object, ...]:
        return (
            Cell(item.name, item.name),
            Text(item.value),
            self.created_cell(item.created_at),
        )

    def value_field(self, editing: Any | None) -> Field:
        return Field(
            "value",
            "Value",
            value=editing.value if editing else "",
            check=lambda value: required_error(value, "A value"),
        )
