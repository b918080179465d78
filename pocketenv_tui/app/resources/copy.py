"""Copy folders between this machine and the sandbox through copy storage, with progress.

Uploads leave out what ``.gitignore``/``.pocketenvignore`` ignore (see ignore.py). A failed
copy keeps the folders typed, so opening the form again offers them back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Label, ProgressBar, Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.archive import unpack_into
from pocketenv_tui.app.resources.form import Field, FormRefused, Values
from pocketenv_tui.app.resources.ignore import pack_directory
from pocketenv_tui.app.resources.pane import ResourcePane
from pocketenv_tui.app.resources.rules import absolute_path_error, required_error


@dataclass
class Transfer:
    direction: str  # "upload" | "download"
    local: str
    remote: str


def local_path(text: str) -> Path:
    return Path(text.strip()).expanduser()


def local_folder_error(text: str) -> str | None:
    problem = required_error(text, "A local folder")
    if problem:
        return problem
    return None if Path(text.strip()).expanduser().is_dir() else f"{text.strip()} is not a folder on this machine."


class CopyPane(ResourcePane):
    can_focus = True
    MUTATING = frozenset({"upload", "download"})
    BINDINGS = [
        Binding("u", "upload", "Upload folder", id="copy.upload"),
        Binding("w", "download", "Download folder", id="copy.download"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.last: dict[str, Transfer] = {}
        self.busy = False
        self.last_result: str = ""

    def compose(self) -> ComposeResult:
        yield Static(
            "u uploads a local folder into the sandbox (leaving out what .gitignore and "
            ".pocketenvignore ignore, and .git); w downloads a sandbox folder here.",
            classes="pane-note",
        )
        yield Label("", id="copy-status")
        yield ProgressBar(id="copy-progress", show_eta=False)

    def on_mount(self) -> None:
        self.query_one("#copy-progress").display = False

    def focus_main(self) -> None:
        self.focus()

    async def load(self) -> None:
        """Nothing to list: copies are one-off."""

    def action_upload(self) -> None:
        if self.refused("upload") or self._busy():
            return
        last = self.last.get("upload")
        fields = [
            Field("local", "Local folder", value=last.local if last else "", placeholder="./project", check=local_folder_error),
            Field("remote", "Into this sandbox folder", value=last.remote if last else "", placeholder="/root/project",
                  check=lambda value: absolute_path_error(value, "The sandbox folder")),
        ]
        self.open_form(f"Upload into {self.sandbox.name}", fields, lambda values, form: self._start("upload", values),
                       submit_label="Upload", form_id="upload-form")

    def action_download(self) -> None:
        if self.refused("download") or self._busy():
            return
        last = self.last.get("download")
        fields = [
            Field("remote", "Sandbox folder", value=last.remote if last else "", placeholder="/root/project",
                  check=lambda value: absolute_path_error(value, "The sandbox folder")),
            Field("local", "Into this local folder (created if missing)", value=last.local if last else "",
                  placeholder="./download", check=lambda value: required_error(value, "A local folder")),
        ]
        self.open_form(f"Download from {self.sandbox.name}", fields, lambda values, form: self._start("download", values),
                       submit_label="Download", form_id="download-form")

    def _busy(self) -> bool:
        if self.busy:
            self.notify("A copy is already running.", severity="warning")
        return self.busy

    async def _start(self, direction: str, values: Values) -> str:
        if self.busy:
            raise FormRefused("A copy is already running.")
        transfer = Transfer(direction, values["local"].strip(), values["remote"].strip())
        self.last[direction] = transfer
        self.busy = True
        self.run_worker(partial(self._run, transfer), group="copy", exclusive=True, exit_on_error=False)
        return ""  # the pane reports progress and the outcome

    def _progress(self, done: float, total: float, status: str) -> None:
        bar = self.query_one("#copy-progress", ProgressBar)
        bar.display = True
        bar.update(total=total, progress=done)
        self.query_one("#copy-status", Label).update(status)

    async def _run(self, transfer: Transfer) -> None:
        try:
            if transfer.direction == "upload":
                message = await self._upload(transfer)
            else:
                message = await self._download(transfer)
        except PocketenvError as exc:
            message = None
            self.report(exc, f"Could not {transfer.direction} {transfer.remote}")
            self.query_one("#copy-status", Label).update(f"{transfer.direction.capitalize()} failed: {exc}")
        except (OSError, ValueError) as exc:
            message = None
            self.notify(escape(str(exc)), title=f"Could not {transfer.direction}", severity="error")
            self.query_one("#copy-status", Label).update(f"{transfer.direction.capitalize()} failed: {exc}")
        finally:
            self.busy = False
        if message is not None:
            self.last.pop(transfer.direction, None)
            self.last_result = message
            self.query_one("#copy-status", Label).update(message)
            self.notify(escape(message), title=self.title)

    async def _upload(self, transfer: Transfer) -> str:
        source = local_path(transfer.local)
        self._progress(0, 1, f"Packing {source}…")

        def packed(done: int, total: int) -> None:
            self.app.call_from_thread(self._progress, done, total + 2, f"Packing {source}… {done}/{total}")

        archive, count = await asyncio.to_thread(pack_directory, source, packed)
        self._progress(count, count + 2, f"Uploading {len(archive) // 1024 + 1} KiB…")
        upload_id = await self.client.storage.upload(archive)
        del archive
        self._progress(count + 1, count + 2, f"Unpacking into {transfer.remote}…")
        await self.client.sandboxes.pull_directory(self.sandbox_id, transfer.remote, upload_id)
        self._progress(count + 2, count + 2, "")
        return f"Uploaded {count} entries from {source} into {transfer.remote}."

    async def _download(self, transfer: Transfer) -> str:
        destination = local_path(transfer.local)
        self._progress(0, 3, f"Packing {transfer.remote} in the sandbox…")
        upload_id = await self.client.sandboxes.push_directory(self.sandbox_id, transfer.remote)
        self._progress(1, 3, "Downloading…")
        archive = await self.client.storage.download(upload_id)
        self._progress(2, 3, f"Unpacking into {destination}…")
        names = await asyncio.to_thread(unpack_into, archive, destination)
        self._progress(3, 3, "")
        return f"Downloaded {len(names)} entries from {transfer.remote} into {destination}."
