"""XRPC handlers for backups (tar.gz in ``backups/``) and directory copies (``cp/``).

Packing and unpacking happen inside the sandbox, by a tool its agent starts (see
``sandbox/files.py``), so they need a running sandbox; the server only keeps the archives.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http import views
from pocketenv_tui.local.http.xrpc import NO_CONTENT, Call, Method, Param
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
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
    async def existing_dir(sandbox_id: str, path: str, where: str) -> str:
        inside = v.sandbox_path(path, where)
        if not await b.runtime.is_directory(sandbox_id, inside):
            raise v.invalid(f"{where}: {path} is not a directory in the sandbox")
        return inside

    async def pack(sandbox_id: str, inside: str, target: Path, where: str) -> None:
        try:
            await b.runtime.pack(sandbox_id, inside, target)
        except SandboxRuntimeError as exc:
            raise v.invalid(f"{where}: {inside} could not be packed: {exc}") from None

    async def unpack(sandbox_id: str, archive: Path, inside: str, where: str, *, replace: bool = False) -> None:
        try:
            await b.runtime.unpack(sandbox_id, archive, inside, replace=replace)
        except SandboxRuntimeError as exc:
            raise v.invalid(f"{where}: {exc}") from None

    async def create_backup(c: Call) -> Any:
        directory = v.string(c.input, "directory", min_len=1, max_len=4096)
        description = v.string(c.input, "description", required=False, max_len=3000)
        ttl = v.integer(c.input, "ttl", required=False, minimum=1, maximum=MAX_BACKUP_TTL) or DEFAULT_BACKUP_TTL
        assert directory is not None
        sandbox = await b.running_sandbox(c.params["id"], c.did)
        source = await existing_dir(sandbox["id"], directory, "Input/directory")
        backup_id = xid("bkp")
        await pack(sandbox["id"], source, b.backup_path(backup_id), "Input/directory")
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
        sandbox = await b.running_sandbox(backup["sandbox_id"], c.did)
        await unpack(sandbox["id"], b.backup_path(backup_id), backup["directory"], f"Backup {backup_id}", replace=True)
        return NO_CONTENT

    async def push_directory(c: Call) -> Any:
        ref = v.string(c.input, "sandboxId", min_len=1, max_len=2048)
        path = v.string(c.input, "directoryPath", min_len=1, max_len=4096)
        assert ref is not None and path is not None
        sandbox = await b.running_sandbox(ref, c.did)
        source = await existing_dir(sandbox["id"], path, "Input/directoryPath")
        copy_id = str(uuidlib.uuid4())
        await pack(sandbox["id"], source, b.copy_path(copy_id), "Input/directoryPath")
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
        target = v.sandbox_path(path, "Input/directoryPath")
        await unpack(sandbox["id"], archive, target, "Input/uuid")
        return NO_CONTENT

    return [
        Method(NS + "createBackup", "POST", create_backup, (Param("id", required=True),), has_input=True),
        Method(NS + "getBackups", "GET", get_backups, (Param("id", required=True),)),
        Method(NS + "restoreBackup", "POST", restore_backup, has_input=True),
        Method(NS + "pushDirectory", "POST", push_directory, has_input=True),
        Method(NS + "pullDirectory", "POST", pull_directory, has_input=True),
    ]
