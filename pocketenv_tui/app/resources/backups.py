"""Backups of a sandbox folder: create with a time to live, restore with confirmation."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.binding import Binding

from pocketenv_tui.api.resource_models import Backup
from pocketenv_tui.app.formatting import as_utc, format_duration
from pocketenv_tui.app.resources.form import Field, Values
from pocketenv_tui.app.resources.pane import TablePane
from pocketenv_tui.app.resources.rules import DEFAULT_BACKUP_TTL, absolute_path_error, ttl_error
from pocketenv_tui.app.sandbox_rows import Cell


class BackupsPane(TablePane[Backup]):
    COLUMNS = [("id", "ID"), ("directory", "DIRECTORY"), ("created", "CREATED"), ("expires", "EXPIRES")]
    EMPTY = "No backups. Press b to back up a folder of the sandbox."
    MUTATING = frozenset({"create", "restore"})
    BINDINGS = [
        Binding("b", "create", "Back up", id="backups.create"),
        Binding("R", "restore", "Restore", id="backups.restore"),
    ]

    async def fetch(self) -> Mapping[str, Backup]:
        return {item.id: item for item in await self.client.backups.list(self.sandbox_id)}

    def expires_cell(self, item: Backup) -> Cell:
        if item.expires_at is None:
            return Cell("-", 0.0)
        left = (as_utc(item.expires_at) - as_utc(self.now())).total_seconds()
        text = f"in {format_duration(left)}" if left > 0 else "expired"
        return Cell(text, as_utc(item.expires_at).timestamp())

    def cells(self, item: Backup) -> tuple[object, ...]:
        return (
            Cell(item.id, item.id),
            Text(item.directory or "-"),
            self.created_cell(item.created_at),
            self.expires_cell(item),
        )

    def action_create(self) -> None:
        if self.refused("create"):
            return
        fields = [
            Field("directory", "Folder inside the sandbox", placeholder="/root/project",
                  check=lambda value: absolute_path_error(value, "The folder")),
            Field("description", "Description (optional)"),
            Field("ttl", f"Keep for (e.g. 10m, 2h, 7d; empty: {DEFAULT_BACKUP_TTL})", placeholder=DEFAULT_BACKUP_TTL,
                  check=ttl_error),
        ]
        self.open_form(f"Back up a folder of {self.sandbox.name}", fields, lambda values, form: self._create(values),
                       submit_label="Create Backup", form_id="backups-form")

    async def _create(self, values: Values) -> str:
        directory = values["directory"].strip()
        await self.client.backups.create(
            self.sandbox_id,
            directory,
            description=values["description"].strip() or None,
            ttl=values["ttl"].strip() or DEFAULT_BACKUP_TTL,
        )
        return f"Backup of {directory} created."

    def action_restore(self) -> None:
        if self.refused("restore"):
            return
        item = self.selected_or_warn("backup")
        if item is not None:
            self.confirm_then(
                f"Restore backup {item.id} into {item.directory or 'its folder'}? "
                "Files there are replaced by the backup's.",
                "Restore",
                lambda: self.client.backups.restore(item.id),
                f"Could not restore {item.id}",
                f"Backup {item.id} restored into {item.directory or 'its folder'}.",
            )
