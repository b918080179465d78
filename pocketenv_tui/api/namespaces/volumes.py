"""``io.pocketenv.volume.*``: persistent volumes mounted into a sandbox."""

from __future__ import annotations

from pocketenv_tui.api.namespaces.records import RecordNamespace
from pocketenv_tui.api.resource_models import Volume
from pocketenv_tui.api.xrpc import drop_none


class VolumesNamespace(RecordNamespace[Volume]):
    list_nsid = "volume.getVolumes"
    get_nsid = "volume.getVolume"
    delete_nsid = "volume.deleteVolume"
    list_key = "volumes"
    parse = Volume.from_json

    async def add(
        self,
        sandbox_id: str | None,
        name: str,
        path: str | None = None,
        read_only: bool | None = None,
    ) -> None:
        """Create a volume; it is mounted only when both ``sandbox_id`` and ``path`` are given."""
        volume = {
            "sandboxId": await self._optional_sandbox_id(sandbox_id),
            "name": name,
            "path": path,
            "readOnly": read_only,
        }
        await self._xrpc.call("volume.addVolume", body={"volume": drop_none(volume)})

    async def update(self, id: str, *, name: str, path: str | None = None) -> None:
        await self._xrpc.call(
            "volume.updateVolume",
            body={"id": id, "volume": drop_none({"name": name, "path": path})},
        )
