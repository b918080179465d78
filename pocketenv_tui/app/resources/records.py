"""Files and volumes: records placed into the sandbox's filesystem.

A file goes into a running sandbox at once (and is removed from it when its record is, if
the sandbox did not change it since). A volume can only be mounted when the sandbox starts:
a server that knows (the local backend's ``appliesAtNextStart``) has such a row marked
"applies at next start", and both tabs offer ``R``, a restart (stop, then start) after a
confirmation. Servers that do not say leave the mark out; the key is there all the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from pocketenv_tui.api.resource_models import SandboxFile, Volume
from pocketenv_tui.app.resources.form import Field, FormRefused, FormScreen, Values
from pocketenv_tui.app.resources.pane import TablePane
from pocketenv_tui.app.resources.rules import absolute_path_error, required_error
from pocketenv_tui.app.sandbox_rows import Cell
from pocketenv_tui.app.screens.confirm import ConfirmScreen

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


NEXT_START = "applies at next start"


def next_start_cell(pending: bool | None) -> Cell:
    """The STATUS cell: the mark on a record that waits for the sandbox's next start."""
    return Cell(NEXT_START, 1, style="bold italic") if pending else Cell("", 0)


class RestartToApply(TablePane[Any]):
    """A table of records some of which may wait for the sandbox's next start: the mark, a
    note saying so, and ``R`` to restart the sandbox (stop + start) after a confirmation."""

    WAITING_NOTE: ClassVar[str] = ""

    def compose_extra(self) -> ComposeResult:
        yield Static(self.WAITING_NOTE, id=f"{self.id}-waiting", classes="pane-note")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(f"#{self.id}-waiting").display = False

    @property
    def waiting(self) -> list[Any]:
        """The records marked as applying at the next start."""
        return [item for item in self.items.values() if item.applies_at_next_start]

    def show(self, items: Mapping[str, Any]) -> None:
        super().show(items)
        self.query_one(f"#{self.id}-waiting").display = bool(self.waiting)

    def action_restart(self) -> None:
        if self.refused("restart"):
            return
        name = self.sandbox.name
        waiting = len(self.waiting)
        what = f"{waiting} marked record{'s' if waiting != 1 else ''} then take effect" if waiting else "every record is applied"
        question = f"Restart {name} now?\nIts processes and shells end, and {what}."

        def answered(yes: bool | None) -> None:
            if yes:
                self.notify(escape(f"Restarting {name}…"), title=self.title)
                self.run_call(self._restart, f"Could not restart {name}", f"{name} restarted.")

        self.app.push_screen(ConfirmScreen(question, yes_label="Restart"), answered)

    async def _restart(self) -> None:
        sandbox_id = self.sandbox_id
        await self.client.sandboxes.stop(sandbox_id)
        forget_shells = getattr(self.app, "forget_shells", None)
        if callable(forget_shells):
            forget_shells(sandbox_id)  # stopping a sandbox ends its shells
        await self.client.sandboxes.start(sandbox_id)
        self.sandbox = await self.client.sandboxes.wait_until_running(sandbox_id, timeout=120.0, interval=0.5)


class FilesPane(RestartToApply):
    COLUMNS = [("path", "PATH"), ("status", "STATUS"), ("created", "CREATED")]
    EMPTY = ("No files. Press a to add one; its content is sealed and written into the sandbox "
             "(at once when it runs, and at every start).")
    WAITING_NOTE = ("A marked file lies under a directory the running sandbox cannot have yet: it is written "
                    "at the next start. Press R to restart the sandbox now.")
    MUTATING = frozenset({"add", "edit", "delete", "restart"})
    BINDINGS = [
        Binding("a", "add", "Add file", id="files.add"),
        Binding("enter", "edit", "Edit", id="files.edit"),
        Binding("d,delete", "delete", "Delete", id="files.delete"),
        Binding("R", "restart", "Restart", id="files.restart"),
    ]

    async def fetch(self) -> Mapping[str, SandboxFile]:
        return {item.id: item async for item in self.client.files.iterate(self.sandbox_id)}

    def cells(self, item: SandboxFile) -> tuple[object, ...]:
        return (Cell(item.path, item.path), next_start_cell(item.applies_at_next_start), self.created_cell(item.created_at))

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
        return await self.add_checked(
            lambda: self.client.files.add(self.sandbox_id, path, content),
            self.listed(lambda item: item.path == path),
            f"File {path} added.",
        )

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
                landed=self.gone(item.id),
            )


class VolumesPane(RestartToApply):
    COLUMNS = [("name", "NAME"), ("path", "MOUNT PATH"), ("status", "STATUS"), ("created", "CREATED")]
    EMPTY = ("No volumes. Press a to add one; it persists across restarts and is mounted when the sandbox "
             "starts.")
    WAITING_NOTE = ("A running sandbox mounts volumes only when it starts: marked ones take effect at the "
                    "next start. Press R to restart the sandbox now.")
    MUTATING = frozenset({"add", "edit", "delete", "restart"})
    BINDINGS = [
        Binding("a", "add", "Add volume", id="volumes.add"),
        Binding("enter", "edit", "Edit", id="volumes.edit"),
        Binding("d,delete", "delete", "Delete", id="volumes.delete"),
        Binding("R", "restart", "Restart to apply", id="volumes.restart"),
    ]

    async def fetch(self) -> Mapping[str, Volume]:
        return {item.id: item async for item in self.client.volumes.iterate(self.sandbox_id)}

    def cells(self, item: Volume) -> tuple[object, ...]:
        return (
            Cell(item.name, item.name),
            Text(item.path or "-"),
            next_start_cell(item.applies_at_next_start),
            self.created_cell(item.created_at),
        )

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
        return await self.add_checked(
            lambda: self.client.volumes.add(self.sandbox_id, name, path),
            self.listed(lambda item: item.name == name),
            f"Volume {name} added.",
        )

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
                landed=self.gone(item.id),
            )
