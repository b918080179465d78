"""``io.pocketenv.file.*``: files written into a sandbox at start; contents always sealed."""

from __future__ import annotations

from pocketenv_tui.api.namespaces.records import RecordNamespace
from pocketenv_tui.api.resource_models import SandboxFile
from pocketenv_tui.api.xrpc import drop_none


class FilesNamespace(RecordNamespace[SandboxFile]):
    list_nsid = "file.getFiles"
    get_nsid = "file.getFile"
    delete_nsid = "file.deleteFile"
    list_key = "files"
    parse = SandboxFile.from_json

    async def add(self, sandbox_id: str | None, path: str, content: str) -> None:
        file = {
            "sandboxId": await self._optional_sandbox_id(sandbox_id),
            "path": path,
            "content": self._seal(content),
        }
        await self._xrpc.call("file.addFile", body={"file": drop_none(file)})

    async def update(self, id: str, *, path: str, content: str) -> None:
        # The hosted server applies the new path but (a known bug) keeps the old content.
        await self._xrpc.call(
            "file.updateFile",
            body={"id": id, "file": {"path": path, "content": self._seal(content)}},
        )
