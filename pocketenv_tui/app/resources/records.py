"""Files and volumes: records placed into the sandbox's filesystem when it starts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from rich.text import Text
from textual.binding import Binding

from pocketenv_tui.api.resource_models import SandboxFile, Volume
from pocketenv_tui.app.resources.form import Field, FormRefused, FormScreen, Values
from pocketenv_tui.app.resources.pane import TablePane
from pocketenv_tui.app.resources.rules import absolute_path_error, required_error
from pocketenv_tui.app.sandbox_rows import Cell

MAX_FILE_BYTES = 64 * 1024  # what the servers accept for one file's content


def read_local_file(path_text: str) -> str:
    """The text of a local file for upload; OSError/ValueError carry the reason to show."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise FormRefused(f"{path} is not a readable file.", field="local")
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise FormRefused(f"{path} is larger than {MAX_FILE_BYTES // 1024} KiB.", field="local")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormRefused(f"{path} is not UTF-8 text.", field="local") from None


def _content_or_file(values: Values) -> dict[str, str]:
    if not values["content"].strip() and not values["local"].strip():
        return {"content": "Type the content or name a local file to read it from."}
    if values["content"].strip() and values["local"].strip():
        return {"local": "Use the editor or a local file, not both."}
    return {}


class FilesPane(TablePane[SandboxFile]):
    COLUMNS = [("path", "PATH"), ("created", "CREATED")]
    EMPTY = "No files. Press a to add one; its content is sealed and written into the sandbox at start."
    MUTATING = frozenset({"add", "edit", "delete"})
    BINDINGS = [
        Binding("a", "add", "Add file", id="files.add"),
        Binding("e,enter", "edit", "Edit", id="files.edit"),
        Binding("d,delete", "delete", "Delete", id="files.delete"),
    ]

    async def fetch(self) -> Mapping[str, SandboxFile]:
        return {item.id: item async for item in self.client.files.iterate(self.sandbox_id)}

    def cells(self, item: SandboxFile) -> tuple[object, ...]:
        return (Cell(item.path, item.path), self.created_cell(item.created_at))

    def action_add(self) -> None:
        if not self.refused("add"):
            self._open(None)

    def action_edit(self) -> None:
        if self.refused("edit"):
            return
        item = self.selected_or_warn("file")
        if item is not None:
            self._open(item)

    def _open(self, editing: SandboxFile | None) -> None:
        fields = [
            Field("path", "Path inside the sandbox", value=editing.path if editing else "",
                  placeholder="/root/.openclaw/openclaw.json", check=absolute_path_error),
            # Content is never pre-filled: the server keeps it sealed.
            Field("content", "Content (sealed before it is sent)", kind="multiline"),
            Field("local", "…or read the content from this local file", placeholder="~/.config/app.json"),
        ]
        self.open_form(
            f"Edit file {editing.path}" if editing else f"Add a file to {self.sandbox.name}",
            fields,
            lambda values, form: self._save(values, form, editing),
            submit_label="Save Changes" if editing else "Add File",
            form_id="files-form",
            cross_check=_content_or_file,
        )

    async def _save(self, values: Values, form: FormScreen, editing: SandboxFile | None) -> str | None:
        path = values["path"].strip()
        local = values["local"].strip()
        content = await asyncio.to_thread(read_local_file, local) if local else values["content"]
        values.clear()
        if editing is not None:
            await self.client.files.update(editing.id, path=path, content=content)
            return f"File {path} updated."
        await self.client.files.add(self.sandbox_id, path, content)
        return f"File {path} added."

    def action_delete(self) -> None:
        if self.refused("delete"):
            return
        item = self.selected_or_warn("file")
        if item is not None:
            self.confirm_then(
                f"Are you sure you want to delete this file?\n{item.path}",
                "Yes, delete",
                lambda: self.client.files.delete(item.id),
                f"Could not delete {item.path}",
                f"File {item.path} deleted.",
            )


class VolumesPane(TablePane[Volume]):
    COLUMNS = [("name", "NAME"), ("path", "MOUNT PATH"), ("created", "CREATED")]
    EMPTY = "No volumes. Press a to add one; it persists across restarts."
    MUTATING = frozenset({"add", "edit", "delete"})
    BINDINGS = [
        Binding("a", "add", "Add volume", id="volumes.add"),
        Binding("e,enter", "edit", "Edit", id="volumes.edit"),
        Binding("d,delete", "delete", "Delete", id="volumes.delete"),
    ]

    async def fetch(self) -> Mapping[str, Volume]:
        return {item.id: item async for item in self.client.volumes.iterate(self.sandbox_id)}

    def cells(self, item: Volume) -> tuple[object, ...]:
        return (Cell(item.name, item.name), Text(item.path or "-"), self.created_cell(item.created_at))

    def action_add(self) -> None:
        if not self.refused("add"):
            self._open(None)

    def action_edit(self) -> None:
        if self.refused("edit"):
            return
        item = self.selected_or_warn("volume")
        if item is not None:
            self._open(item)

    def _open(self, editing: Volume | None) -> None:
        fields = [
            Field("name", "Name", value=editing.name if editing else "", placeholder="data",
                  check=lambda value: required_error(value, "A name")),
            Field("path", "Mount path", value=(editing.path or "") if editing else "", placeholder="/data",
                  check=lambda value: absolute_path_error(value, "The mount path")),
        ]
        self.open_form(
            f"Edit volume {editing.name}" if editing else f"Add a volume to {self.sandbox.name}",
            fields,
            lambda values, form: self._save(values, editing),
            submit_label="Save Changes" if editing else "Add Volume",
            form_id="volumes-form",
        )

    async def _save(self, values: Values, editing: Volume | None) -> str | None:
        name, path = values["name"].strip(), values["path"].strip()
        if editing is not None:
            await self.client.volumes.update(editing.id, name=name, path=path)
            return f"Volume {name} updated."
        await self.client.volumes.add(self.sandbox_id, name, path)
        return f"Volume {name} added."

    def action_delete(self) -> None:
        if self.refused("delete"):
            return
        item = self.selected_or_warn("volume")
        if item is not None:
            self.confirm_then(
                f"Are you sure you want to delete this volume and its data?\n{item.name}",
                "Yes, delete",
                lambda: self.client.volumes.delete(item.id),
                f"Could not delete {item.name}",
                f"Volume {item.name} deleted.",
            )
