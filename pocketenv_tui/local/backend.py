"""The local backend's state for one data dir: identity, store, runtime, and lifecycle steps.

XRPC handlers share this object. Lifecycle changes of one sandbox (boot, stop, delete) run
under that sandbox's lock, so a stop issued while a create is still booting waits for the
boot to finish instead of racing it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from pocketenv_tui.local.http.validate import invalid, not_found
from pocketenv_tui.local.sandbox.files import printable
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime, SandboxRuntimeError, ServiceSpec
from pocketenv_tui.local.spec import build_spec
from pocketenv_tui.local.state import events as event_log
from pocketenv_tui.local.state.identity import Identity
from pocketenv_tui.local.state.ids import now_iso
from pocketenv_tui.local.state.store import Store

log = logging.getLogger("pocketenv_tui.local")

START_WAIT = 300.0  # seconds a service call waits for its sandbox's start in progress
VSCODE_PORT = 1024  # the hosted API's reserved "VS Code Server" port row
VSCODE_SERVICE_ID = "vscode"
LIMIT_WATCH_INTERVAL = 2.0  # seconds between two looks at every sandbox's OOM and fork counters


class Backend:
    def __init__(self, data_dir: Path, identity: Identity, store: Store, runtime: SandboxRuntime) -> None:
        self.data_dir = data_dir
        self.identity = identity
        self.store = store
        self.runtime = runtime
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        runtime.on_exit = self._sandbox_exited
        runtime.on_event = self.event

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def isolation(self) -> str:
        return self.runtime.isolation

    async def db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await self.store.call(fn, *args, **kwargs)

    def lock(self, sandbox_id: str) -> asyncio.Lock:
        return self._locks.setdefault(sandbox_id, asyncio.Lock())

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def own_sandbox(self, ref: str, did: str) -> dict[str, Any]:
        row = await self.db(self.store.find_sandbox, ref, did)
        if row is None:
            raise not_found("Sandbox not found", "SandboxNotFound")
        return row

    async def running_sandbox(self, ref: str, did: str, *, wait_for_start: bool = False) -> dict[str, Any]:
        """The caller's sandbox ``ref`` if it runs; 400 otherwise.

        ``wait_for_start``: a sandbox still starting is waited for (its boot holds the lock),
        as the hosted worker wakes a container for a service call instead of refusing it; the
        official SDK's example starts a service right after creating its sandbox.
        """
        row = await self.own_sandbox(ref, did)
        if wait_for_start and row["status"] == "INITIALIZING":
            try:
                row = await asyncio.wait_for(self._started(row["id"], did), timeout=START_WAIT)
            except TimeoutError:
                raise invalid(f"Sandbox is still starting after {START_WAIT:g} s") from None
        if row["status"] != "RUNNING" or not self.runtime.is_running(row["id"]):
            raise invalid("Sandbox is not running")
        return row

    async def _started(self, sandbox_id: str, did: str) -> dict[str, Any]:
        """The row once it is no longer INITIALIZING (the boot may not hold the lock yet)."""
        while True:
            async with self.lock(sandbox_id):
                row = await self.own_sandbox(sandbox_id, did)
            if row["status"] != "INITIALIZING":
                return row
            await asyncio.sleep(0.05)

    async def resolve_for_terminal(self, ref: str, did: str) -> str | None:
        """For the terminal routes: the id of the caller's sandbox named by ``ref``."""
        row = await self.db(self.store.find_sandbox, ref, did)
        return row["id"] if row is not None else None

    def confinement(self, row: dict[str, Any]) -> dict[str, Any]:
        """What confines the sandbox of ``row``: isolation, protections (in force and missing,
        with why) and the limits in force, for its API record."""
        limits = self.runtime.default_limits.with_record(row.get("vcpus"), row.get("memory"), row.get("disk"))
        return {"isolation": self.isolation, **self.runtime.report(row["id"], limits)}

    def _sandbox_exited(self, sandbox_id: str, reason: str) -> None:
        """The runtime saw a sandbox end without being asked (its init was killed)."""
        self.spawn(self.db(
            self.store.set_sandbox_status, sandbox_id, "STOPPED", warnings=[f"the sandbox stopped: {reason}"]
        ))
        self.event(sandbox_id, "stopped", f"The sandbox stopped by itself: {reason}", {"reason": reason})

    # -- event log (state/events.py) --------------------------------------------------------

    def event(self, sandbox_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        """Record an event without waiting for the write (the runtime's callbacks are not async)."""
        if not self._closing:
            self.spawn(self.record_event(sandbox_id, kind, message, data))

    async def record_event(
        self, sandbox_id: str, kind: str, message: str, data: dict[str, Any] | None = None, *,
        owner_did: str | None = None, sandbox_name: str | None = None,
    ) -> None:
        # Messages and details may carry text from inside the sandbox (a git error): printable only.
        details = {k: printable(value, 500) if isinstance(value, str) else value for k, value in (data or {}).items()}
        try:
            await self.db(
                event_log.add_event, self.store, sandbox_id, kind, printable(message, 500), details,
                owner_did=owner_did, sandbox_name=sandbox_name,
            )
        except Exception:  # the log is a record of what happened; it never stops it happening
            log.exception("could not record a %s event of sandbox %s", kind, sandbox_id)

    async def _watch_limits(self) -> None:
        while True:
            await asyncio.sleep(LIMIT_WATCH_INTERVAL)
            try:
                self.runtime.check_limits()
            except Exception:
                log.exception("could not read the sandboxes' limit counters")

    # -- lifecycle --------------------------------------------------------------------------

    async def boot(self, sandbox_id: str) -> list[str]:
        """Start the sandbox from its stored state; RUNNING on success, STOPPED on failure.

        Must be called with the sandbox's lock held.
        """
        await self.db(self.store.set_sandbox_status, sandbox_id, "INITIALIZING")
        try:
            spec = await self.db(build_spec, self.store, self.identity, self.runtime.default_limits, sandbox_id)
            warnings = await self.runtime.start(spec)
            await self._restart_vscode(sandbox_id)
        except BaseException as exc:
            # The sandbox may be half-started: make sure nothing of it keeps running.
            await asyncio.shield(self._stop_quietly(sandbox_id))
            message = str(exc) or exc.__class__.__name__
            await asyncio.shield(
                self.db(self.store.set_sandbox_status, sandbox_id, "STOPPED", warnings=[f"start failed: {message}"])
            )
            if isinstance(exc, Exception):
                await asyncio.shield(self.record_event(
                    sandbox_id, "start_failed", f"The sandbox failed to start: {message}", {"reason": message}
                ))
            raise
        await self.db(self.store.set_sandbox_status, sandbox_id, "RUNNING", started_at=now_iso(), warnings=warnings)
        await self.db(self.store.set_all_services_status, sandbox_id, "RUNNING")
        await self.record_event(sandbox_id, "started", "The sandbox started.", {"warnings": len(warnings)})
        return warnings

    async def boot_in_background(self, sandbox_id: str) -> None:
        async with self.lock(sandbox_id):
            row = await self.db(self.store.get_sandbox, sandbox_id)
            if row is None or row["status"] != "INITIALIZING":
                return  # deleted (or otherwise handled) before the boot got its turn
            try:
                await self.boot(sandbox_id)
            except (SandboxRuntimeError, LookupError, ValueError, OSError) as exc:
                log.warning("sandbox %s failed to start: %s", sandbox_id, exc)

    async def halt(self, sandbox_id: str) -> None:
        """Stop every process of the sandbox and mark it (and its services) STOPPED."""
        was_running = self.runtime.is_running(sandbox_id)
        await self.runtime.stop(sandbox_id)
        await self.db(self.store.set_sandbox_status, sandbox_id, "STOPPED")
        if was_running:
            await self.record_event(sandbox_id, "stopped", "The sandbox was stopped.", {"reason": "request"})

    async def destroy(self, sandbox_id: str) -> None:
        """Stop the sandbox, remove its disk (volumes included) and backups, then its rows."""
        backups = await self.db(self.store.backups_of, sandbox_id)
        row = await self.db(self.store.get_sandbox, sandbox_id)
        await self.runtime.delete(sandbox_id)
        await self.db(self.store.delete_sandbox, sandbox_id)
        if row is not None:  # its events stay; this is the last
            await self.record_event(
                sandbox_id, "deleted", "The sandbox was deleted.", owner_did=row["owner_did"], sandbox_name=row["name"]
            )
        for backup in backups:
            self.backup_path(backup["id"]).unlink(missing_ok=True)
        self._locks.pop(sandbox_id, None)

    async def _stop_quietly(self, sandbox_id: str) -> None:
        try:
            await self.runtime.stop(sandbox_id)
        except Exception:
            log.exception("could not stop sandbox %s after a failed start", sandbox_id)

    async def _restart_vscode(self, sandbox_id: str) -> None:
        row = await self.db(self.store.get_port, sandbox_id, VSCODE_PORT)
        if row is not None and shutil.which("code-server"):
            await self.runtime.start_service(sandbox_id, vscode_service(row["target_port"]))

    async def apply_records(self, sandbox_id: str | None) -> None:
        """Bring a running sandbox in line with its records at once (live.py says what can
        change while it runs). Called after a record changed; the record is stored whatever
        happens here, and what did not work joins the sandbox's warnings."""
        if sandbox_id is None:
            return
        # Taken even when the sandbox does not run yet: a boot in progress may have read the
        # records before this change; once it is done, the change goes in after it.
        async with self.lock(sandbox_id):
            if not self.runtime.is_running(sandbox_id):
                return
            try:
                spec = await self.db(build_spec, self.store, self.identity, self.runtime.default_limits, sandbox_id)
                warnings = await self.runtime.apply_records(spec)
            except LookupError:
                return  # the sandbox was deleted meanwhile
            except (SandboxRuntimeError, ValueError, OSError) as exc:
                # The reason may come from inside the sandbox: printable text only.
                warnings = [f"a change could not be applied to the running sandbox: {printable(str(exc), 300)}"]
            if warnings:
                await self.db(add_warnings, self.store, sandbox_id, warnings)

    async def service_status(self, sandbox: dict[str, Any], service: dict[str, Any]) -> tuple[str, int | None]:
        """The live (status, exit code): the runtime knows when a service's process has died
        and with which code (FAILED for a code other than 0)."""
        if sandbox["status"] != "RUNNING" or service["status"] != "RUNNING":
            return "STOPPED", None
        try:
            return self.runtime.service_status(sandbox["id"], service["id"])
        except SandboxRuntimeError:
            return "STOPPED", None

    # -- paths ------------------------------------------------------------------------------

    def backup_path(self, backup_id: str) -> Path:
        return self.data_dir / "backups" / f"{backup_id}.tar.gz"

    def copy_path(self, uuid: str) -> Path:
        return self.data_dir / "cp" / f"{uuid}.tar.gz"

    # -- server start and exit --------------------------------------------------------------

    async def startup(self) -> None:
        await asyncio.to_thread(self.runtime.prepare)
        await self.db(event_log.record_stopped_by_server, self.store, "The sandbox stopped when the server last ended.")
        stopped = await self.db(self.store.stop_all_sandboxes)
        if stopped:
            log.info("%d sandbox(es) were running when the server last stopped; they are STOPPED now", stopped)
        await self.prune_backups()
        self.spawn(self._watch_limits())

    async def prune_backups(self) -> None:
        for backup in await self.db(self.store.expired_backups, now_iso()):
            self.backup_path(backup["id"]).unlink(missing_ok=True)
            await self.db(self.store.delete_backup, backup["id"])

    async def shutdown(self) -> None:
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.db(event_log.record_stopped_by_server, self.store, "The sandbox stopped with the server.")
        await self.runtime.shutdown()
        await self.db(self.store.stop_all_sandboxes)


def vscode_service(port: int) -> ServiceSpec:
    return ServiceSpec(
        id=VSCODE_SERVICE_ID,
        name="VS Code Server",
        command=f"exec code-server --auth none --disable-telemetry --bind-addr 127.0.0.1:{port} \"$HOME\"",
    )


def add_warnings(store: Store, sandbox_id: str, warnings: list[str]) -> None:
    """Add ``warnings`` to the sandbox's (each once); the next start replaces them all.
    Runs on the store's thread, so the read and the write are one step."""
    row = store.get_sandbox(sandbox_id)
    if row is None:
        return
    current = json.loads(row["warnings"]) if row.get("warnings") else []
    merged = current + [w for w in warnings if w not in current]
    if merged != current:
        store.update_sandbox(sandbox_id, {"warnings": json.dumps(merged[-50:])})
