"""XRPC handlers for backups (tar.gz in ``backups/``) and directory copies (``cp/``)."""

from __future__ import annotations

import asyncio
import re
import uuid as uuidlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http import views
from pocketenv_tui.local.http.xrpc import NO_CONTENT, Call, Method, Param
from pocketenv_tui.local.sandbox.archive import ArchiveError, pack_directory, unpack_into
from pocketenv_tui.local.state.ids import iso, xid

NS = "io.pocketenv.sandbox."
DEFAULT_BACKUP_TTL = 3 * 24 * 3600
MAX_BACKUP_TTL = 10 * 365 * 24 * 3600
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_uuid(value: str, where: str) -> str:
    """Copy ids name files in the data dir, so only canonical UUIDs are accepted."""
    if not _UUID.match(value):
        raise v.invalid(f"{where} must be a UUID")
    return value


def methods(b: Backend) -> list[Method]:
    def existing_dir(sandbox_id: str, path: str, where: str):
        host = b.host_path(sandbox_id, v.sandbox_path(path, where), where)
        if not host.is_dir():
            raise v.invalid(f"{where}: {path} is not a directory in the sandbox")
        return host

    async def create_backup(c: Call) -> Any:
        directory = v.string(c.input, "directory", min_len=1, max_len=4096)
        description = v.string(c.input, "description", required=False, max_len=3000)
        ttl = v.integer(c.input, "ttl", required=False, minimum=1, maximum=MAX_BACKUP_TTL) or DEFAULT_BACKUP_TTL
        assert directory is not None
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        source = existing_dir(sandbox["id"], directory, "Input/directory")
        backup_id = xid("bkp")
        await asyncio.to_thread(pack_directory, source, b.backup_path(backup_id))
        await b.db(b.store.add_backup, {
            "id": backup_id, "sandbox_id": sandbox["id"], "directory": directory, "description": description,
            "expires_at": iso(datetime.now(UTC) + timedelta(seconds=ttl)),
        })
        return NO_CONTENT

    async def get_backups(c: Call) -> Any:
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        await b.prune_backups()
        rows = await b.db(b.store.list_backups, sandbox["id"])
        return {"backups": [views.backup(r) for r in rows]}

    async def restore_backup(c: Call) -> Any:
        backup_id = v.string(c.input, "backupId", min_len=1, max_len=255)
        assert backup_id is not None
        await b.prune_backups()
        backup = await b.db(b.store.get_backup, backup_id, c.did)
        if backup is None or not b.backup_path(backup_id).exists():
            raise v.not_found("Backup not found")
        target = b.host_path(backup["sandbox_id"], backup["directory"], "directory")
        try:
            await asyncio.to_thread(unpack_into, b.backup_path(backup_id), target, replace=True)
        except ArchiveError as exc:
            raise v.invalid(f"Backup {backup_id}: {exc}") from None
        return NO_CONTENT

    async def push_directory(c: Call) -> Any:
        ref = v.string(c.input, "sandboxId", min_len=1, max_len=2048)
        path = v.string(c.input, "directoryPath", min_len=1, max_len=4096)
        assert ref is not None and path is not None
        sandbox = await b.running_sandbox(ref, c.did)
        source = existing_dir(sandbox["id"], path, "Input/directoryPath")
        copy_id = str(uuidlib.uuid4())
        await asyncio.to_thread(pack_directory, source, b.copy_path(copy_id))
        return {"uuid": copy_id}

    async def pull_directory(c: Call) -> Any:
        ref = v.string(c.input, "sandboxId", min_len=1, max_len=2048)
        path = v.string(c.input, "directoryPath", min_len=1, max_len=4096)
        copy_id = v.string(c.input, "uuid", max_len=64)
        assert ref is not None and path is not None and copy_id is not None
        check_uuid(copy_id, "Input/uuid")
        sandbox = await b.running_sandbox(ref, c.did)
        archive = b.copy_path(copy_id)
        if not archive.exists():
            raise v.not_found(f"No upload with uuid {copy_id}")
        target = b.host_path(sandbox["id"], v.sandbox_path(path, "Input/directoryPath"), "Input/directoryPath")
        try:
            await asyncio.to_thread(unpack_into, archive, target)
        except ArchiveError as exc:
            raise v.invalid(f"Input/uuid: {exc}") from None
        return NO_CONTENT

    return [
        Method(NS + "createBackup", "POST", create_backup, (Param("id", required=True),), has_input=True),
        Method(NS + "getBackups", "GET", get_backups, (Param("id", required=True),)),
        Method(NS + "restoreBackup", "POST", restore_backup, has_input=True),
        Method(NS + "pushDirectory", "POST", push_directory, has_input=True),
        Method(NS + "pullDirectory", "POST", pull_directory, has_input=True),
    ]
