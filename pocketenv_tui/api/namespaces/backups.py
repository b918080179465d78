"""Backups of a sandbox directory (Cloudflare sandboxes only on the hosted server)."""

from __future__ import annotations

import re

from pocketenv_tui.api.models import items_of
from pocketenv_tui.api.namespaces.base import Namespace
from pocketenv_tui.api.resource_models import Backup

_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TTL_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_ttl(ttl: int | float | str) -> int:
    """Seconds from a number of seconds or the CLI's ``10m``, ``2h``, ``7d`` form."""
    if isinstance(ttl, bool):
        raise ValueError(f"not a time to live: {ttl!r}")
    if isinstance(ttl, int | float):
        seconds = int(ttl)
    else:
        match = _TTL_PATTERN.match(ttl)
        if match is None:
            raise ValueError(f"not a time to live: {ttl!r} (use seconds, or e.g. 10m, 2h, 7d)")
        seconds = int(match.group(1)) * _TTL_UNITS[(match.group(2) or "s").lower()]
    if seconds < 1:
        raise ValueError("a time to live must be at least one second")
    return seconds


class BackupsNamespace(Namespace):
    async def create(
        self,
        sandbox_id: str,
        directory: str,
        *,
        description: str | None = None,
        ttl: int | float | str | None = None,
    ) -> None:
        """Back up ``directory``; ``ttl`` in seconds or like ``3d`` (the server default is 3 days)."""
        body: dict[str, object] = {"directory": directory}
        if description is not None:
            body["description"] = description
        if ttl is not None:
            body["ttl"] = parse_ttl(ttl)
        await self._xrpc.call(
            "sandbox.createBackup", {"id": await self._resolve_id(sandbox_id)}, body
        )

    async def list(self, sandbox_id: str) -> list[Backup]:
        data = await self._xrpc.call(
            "sandbox.getBackups", {"id": await self._resolve_id(sandbox_id)}
        )
        return [b for b in map(Backup.from_json, items_of(data, "backups")) if b is not None]

    async def restore(self, backup_id: str) -> None:
        await self._xrpc.call("sandbox.restoreBackup", body={"backupId": backup_id})
