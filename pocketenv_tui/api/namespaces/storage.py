"""Copy storage: the plain HTTP ``/cp`` routes that carry tar.gz archives in and out."""

from __future__ import annotations

from typing import Any

from pocketenv_tui.api.errors import PocketenvError
from pocketenv_tui.api.namespaces.base import Namespace


class StorageNamespace(Namespace):
    @property
    def base_url(self) -> str:
        return self._config.storage_url.rstrip("/")

    async def upload(self, tar_gz_bytes: bytes, filename: str = "archive.tar.gz") -> str:
        """Store an archive; the uuid to hand to ``sandboxes.pull_directory``."""
        response = await self._xrpc.send(
            "POST",
            f"{self.base_url}/cp",
            files={"file": (filename, tar_gz_bytes, "application/gzip")},
        )
        data: Any
        try:
            data = response.json()
        except ValueError:
            data = None
        uuid = data.get("uuid") if isinstance(data, dict) else None
        if not isinstance(uuid, str) or not uuid:
            raise PocketenvError(
                response.status_code, "InvalidResponse", "the copy storage returned no upload id"
            )
        return uuid

    async def download(self, uuid: str) -> bytes:
        """The archive stored under ``uuid``."""
        if not uuid or "/" in uuid:
            raise ValueError(f"not an upload id: {uuid!r}")
        response = await self._xrpc.send("GET", f"{self.base_url}/cp/{uuid}")
        return response.content
