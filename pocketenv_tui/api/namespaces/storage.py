"""Copy storage: the plain HTTP ``/cp`` routes that carry tar.gz archives in and out.

Where they are is ``POCKETENV_STORAGE_URL``: the hosted storage host for the hosted API, the
server itself for the local backend and, by default, for a self-hosted API (ours serves /cp;
the upstream API does not, but sending a self-hosted server's token to the hosted storage host
unasked is worse than a clear error). A storage URL with no /cp behind it, or none answering,
fails with a message naming the variable, not with a bare 404.
"""

from __future__ import annotations

from typing import Any

from pocketenv_tui.api.errors import PocketenvConnectionError, PocketenvError
from pocketenv_tui.api.namespaces.base import Namespace

STORAGE_VARIABLE = "POCKETENV_STORAGE_URL"
HOSTED_STORAGE_HINT = "the hosted one is https://sandbox.pocketenv.io"


class StorageNamespace(Namespace):
    @property
    def base_url(self) -> str:
        return self._config.storage_url.rstrip("/")

    def _no_storage(self, error: PocketenvError) -> PocketenvError:
        """``error`` told in terms of the setting that decides where copies go."""
        hint = f"set {STORAGE_VARIABLE} to the server that stores copies ({HOSTED_STORAGE_HINT})"
        if isinstance(error, PocketenvConnectionError):
            return PocketenvConnectionError(
                f"the copy storage at {self.base_url} cannot be reached ({error.message}); {hint}",
                error=error.error, nsid=error.nsid,
            )
        if error.status in (404, 405):
            what = f"{self.base_url} has no copy storage (/cp answered HTTP {error.status})"
        else:
            return error
        return PocketenvError(
            error.status, error.error,
            f"{what}; {hint}",
            nsid=error.nsid,
        )

    async def upload(self, tar_gz_bytes: bytes, filename: str = "archive.tar.gz") -> str:
        """Store an archive; the uuid to hand to ``sandboxes.pull_directory``."""
        try:
            response = await self._xrpc.send(
                "POST",
                f"{self.base_url}/cp",
                files={"file": (filename, tar_gz_bytes, "application/gzip")},
            )
        except PocketenvError as exc:
            raise self._no_storage(exc) from None
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
        try:
            response = await self._xrpc.send("GET", f"{self.base_url}/cp/{uuid}")
        except PocketenvError as exc:
            if exc.status == 404:
                # The archive may be gone, or there is no storage here at all.
                raise PocketenvError(
                    404, exc.error,
                    f"{exc.message or 'Not found'}: no archive {uuid} at {self.base_url}/cp (expired, or no copy storage there; "
                    f"{STORAGE_VARIABLE} says where copies go, {HOSTED_STORAGE_HINT})",
                    nsid=exc.nsid,
                ) from None
            raise self._no_storage(exc) from None
        return response.content
