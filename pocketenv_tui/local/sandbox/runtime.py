"""Sandboxes on this machine: the ``local`` provider's runtime.

A sandbox is its disk (``disk.py``) plus, while it runs, the processes in its namespaces
(``box.py``, ``isolation.py``), all started by its agent. Everything the server does in a
sandbox goes through that agent: exec, services and shells are commands it starts, file
work is done by a tool it starts (``files.py``), previews are connections it opens. So the
server never runs anything with more privilege than the sandbox, and never follows a path
the sandbox controls.

Two isolation levels, reported as ``isolation``:

``bwrap``
    The sandbox's own user, PID, IPC, UTS, mount, network and cgroup namespaces, its own
    host uid (when the server is root), seccomp, cgroup limits and a disk quota; the
    record's ``protections`` and ``missingProtections`` say which of these hold here.

``none`` (bwrap missing or unusable)
    The agent is a plain process of the server's user, with the sandbox's root directory as
    a prefix of every path (``POCKETENV_ROOT``). Its processes can see the whole machine,
    which the record states. Limits still apply where cgroups and images can be made.

Every process of a sandbox carries ``POCKETENV_SANDBOX_ID=<id>`` in its environment, and,
where cgroups exist, is in the sandbox's cgroups from its first instruction; stop ends
every one and checks that none is left.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pocketenv_tui.local.sandbox import files, live
from pocketenv_tui.local.sandbox import isolation as iso
from pocketenv_tui.local.sandbox import limits as limits_mod
from pocketenv_tui.local.sandbox.agent_channel import AgentChannel
from pocketenv_tui.local.sandbox.box import (
    SANDBOX_MARKER,
    Box,
    RuntimeContext,
    boot,
    shell_program,
    teardown,
)
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.exec import ExecResult, StreamedRun, run_command
from pocketenv_tui.local.sandbox.exports import Exports
from pocketenv_tui.local.sandbox.exports import cleanup as cleanup_mounts
from pocketenv_tui.local.sandbox.facilities import PROTECTIONS, Facilities, bwrap_problem, probe
from pocketenv_tui.local.sandbox.limits import DEFAULT_LIMITS, Limits
from pocketenv_tui.local.sandbox.proc import PipeReader
from pocketenv_tui.local.sandbox.services import Service, ServiceSpec
from pocketenv_tui.local.sandbox.shells import ShellRegistry
from pocketenv_tui.local.sandbox.specs import SandboxSpec
from pocketenv_tui.local.sandbox.usage import UsageMeter, limit_hit_message

__all__ = [
    "SANDBOX_MARKER",
    "ExecResult",
    "SandboxRuntime",
    "SandboxRuntimeError",
    "SandboxSpec",
    "ServiceSpec",
    "shell_program",
]

log = logging.getLogger("pocketenv_tui.local")

REPO_CLONE_TIMEOUT = 180.0
SHELL_CLOSE_TIMEOUT = 10.0
# Host uids of sandboxes (a root server): HOST_UID_BASE + a per-sandbox index, kept in the
# store. 0x70000000 lies above the ranges /etc/subuid and systemd-nspawn hand out.
HOST_UID_BASE = 0x70000000
HOST_UID_COUNT = 65536


TRANSIENT_BWRAP_FAILURE = "loopback: Failed RTM_NEWADDR"
# (sandbox id, kind, one human sentence, details): what happened to a sandbox, for its owner's
# event log (the runtime keeps none itself; the backend stores them).
EventSink = Callable[[str, str, str, dict[str, Any]], None]
EXEC_COMMAND_SHOWN = 200  # characters of a timed-out command kept in its event


class SandboxRuntime:
    def __init__(
        self,
        data_dir: Path,
        *,
        isolation: str | None = None,
        shell_grace: float | None = None,
        max_shells: int | None = None,
        default_limits: Limits | None = None,
        strict: bool = False,
        on_exit: Callable[[str, str], None] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        if isolation is None:
            isolation = "bwrap" if bwrap_problem() is None else "none"
        if isolation not in ("bwrap", "none"):
            raise ValueError(f"unknown isolation {isolation!r} (expected 'bwrap' or 'none')")
        if isolation == "bwrap" and (problem := bwrap_problem()) is not None:
            raise SandboxRuntimeError(f"bubblewrap isolation was asked for but cannot be used here: {problem}")
        self.isolation = isolation
        self.facilities: Facilities = probe(isolation)
        self.default_limits = default_limits or DEFAULT_LIMITS
        self.strict = strict
        self.on_exit = on_exit
        self.on_event: EventSink | None = None
        self.meter = UsageMeter()
        self.shells = ShellRegistry(self._launch_shell, grace=shell_grace, limit=max_shells)
        self.shells.on_event = self._event
        self._context: RuntimeContext | None = None
        self._boxes: dict[str, Box] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._uids: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- shared state -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Make what all sandboxes share, and remove what a crashed server left behind
        (mounts, empty cgroups). Blocking: called once, from a thread, at server start."""
        self._ctx()

    def _ctx(self) -> RuntimeContext:
        if self._context is None:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            cleanup_mounts(self.data_dir / "sandboxes")
            exports = Exports.prepare(self.data_dir) if self.isolation == "bwrap" else Exports.plain()
            prefix = limits_mod.cgroup_prefix(self.data_dir)
            limits_mod.remove_stale(prefix)
            self._context = RuntimeContext(self.data_dir, self.facilities, exports, self.default_limits, prefix)
        return self._context

    def report(self, sandbox_id: str | None = None, limits: Limits | None = None) -> dict[str, object]:
        """What confines a sandbox: protections in force, missing ones (with why), limits."""
        box = self._boxes.get(sandbox_id) if sandbox_id else None
        missing = box.missing if box is not None else self.facilities.missing
        in_force = box.limits if box is not None else (limits or self.default_limits)
        return {
            "protections": [name for name in PROTECTIONS if name not in missing],
            "missingProtections": [f"{name}: {why}" for name, why in missing.items()],
            "limits": in_force.view(),
        }

    def _event(self, sandbox_id: str, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        if self.on_event is not None:
            try:
                self.on_event(sandbox_id, kind, message, data or {})
            except Exception:  # a lost event must never break what it reports on
                log.exception("could not record a %s event of sandbox %s", kind, sandbox_id)

    def sandbox_dir(self, sandbox_id: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", sandbox_id) or sandbox_id in (".", ".."):
            raise SandboxRuntimeError(f"invalid sandbox id {sandbox_id!r}")
        return self.data_dir / "sandboxes" / sandbox_id

    def home_dir(self, sandbox_id: str) -> Path:
        """The home as seen from the host, while the sandbox runs (for tests and tools)."""
        box = self._boxes.get(sandbox_id)
        if box is None:
            raise SandboxRuntimeError("Sandbox is not running")
        return box.disk.rootfs / iso.HOME_INSIDE.lstrip("/")

    def _uid(self, spec: SandboxSpec) -> int:
        if spec.host_uid is not None:
            return spec.host_uid
        if spec.id not in self._uids:
            used = set(self._uids.values())
            self._uids[spec.id] = next(HOST_UID_BASE + i for i in range(HOST_UID_COUNT) if HOST_UID_BASE + i not in used)
        return self._uids[spec.id]

    # -- lifecycle --------------------------------------------------------------------------

    def _lock(self, sandbox_id: str) -> asyncio.Lock:
        return self._locks.setdefault(sandbox_id, asyncio.Lock())

    def is_running(self, sandbox_id: str) -> bool:
        box = self._boxes.get(sandbox_id)
        return box is not None and box.running

    async def start(self, spec: SandboxSpec) -> list[str]:
        """Boot the sandbox; returns warnings (things that did not work but did not block)."""
        self.sandbox_dir(spec.id)
        async with self._lock(spec.id):
            if spec.id in self._boxes:
                await self._stop_locked(spec.id)
            if self.strict and self.facilities.missing:
                raise SandboxRuntimeError(
                    "refused by --strict: this machine cannot give the sandbox every protection ("
                    + "; ".join(self.facilities.missing_lines()) + ")"
                )
            ctx = self._ctx()
            on_lost = lambda reason, sid=spec.id: self._lost(sid, reason)  # noqa: E731
            try:
                box = await boot(ctx, spec, self._uid(spec), on_lost)
            except SandboxRuntimeError as exc:
                # bwrap's netlink set-up of the new namespace's loopback now and then fails
                # when many sandboxes start at once ("loopback: Failed RTM_NEWADDR"); boot()
                # left nothing behind, and a second try gets through.
                if TRANSIENT_BWRAP_FAILURE not in str(exc):
                    raise
                log.warning("sandbox %s: %s; trying once more", spec.id, exc)
                box = await boot(ctx, spec, self._uid(spec), on_lost)
            self._boxes[spec.id] = box
            self.meter.begin(spec.id, box.cgroups)
            try:
                if self.strict and box.missing:
                    raise SandboxRuntimeError(
                        "refused by --strict: " + "; ".join(f"{k}: {v}" for k, v in box.missing.items())
                    )
                if self.isolation == "none":
                    box.warnings.insert(0, "isolation: none (bubblewrap is not available): the sandbox runs as "
                                           "plain processes that can see this machine")
                box.warnings.extend(await live.place_at_start(box, self._channel(box)))
                if spec.repo:
                    warning = await self._clone_repo(box, spec.repo)
                    if warning:
                        box.warnings.append(warning)
                for service in spec.services:
                    await self._start_service(box, service)
            except BaseException:
                await self._stop_locked(spec.id)
                raise
            return list(box.warnings)

    def _lost(self, sandbox_id: str, reason: str) -> None:
        """The agent went away without being asked (killed, out of memory...)."""
        box = self._boxes.get(sandbox_id)
        if box is None or box.stopping:
            return
        log.warning("sandbox %s stopped by itself: %s", sandbox_id, reason)
        task = asyncio.get_running_loop().create_task(self.stop(sandbox_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self.on_exit is not None:
            self.on_exit(sandbox_id, reason)

    async def stop(self, sandbox_id: str) -> None:
        async with self._lock(sandbox_id):
            await self._stop_locked(sandbox_id)

    async def _stop_locked(self, sandbox_id: str) -> None:
        box = self._boxes.get(sandbox_id)
        if box is not None:
            box.stopping = True
        # Shells end with the sandbox; the bound keeps a stuck one from holding up the stop.
        closing = asyncio.ensure_future(self.shells.close_sandbox(sandbox_id))
        await asyncio.wait([closing], timeout=SHELL_CLOSE_TIMEOUT)
        self.meter.forget(sandbox_id)
        if box is None:
            return
        try:
            stuck = await teardown(box)
        finally:
            self._boxes.pop(sandbox_id, None)
        if stuck:
            raise SandboxRuntimeError(f"could not stop the sandbox: {', '.join(stuck)}")

    async def delete(self, sandbox_id: str) -> None:
        async with self._lock(sandbox_id):
            await self._stop_locked(sandbox_id)
            path = self.sandbox_dir(sandbox_id)
            try:
                await asyncio.to_thread(shutil.rmtree, path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SandboxRuntimeError(f"could not remove the sandbox's files: {exc.strerror}") from None
            if self._context is not None and self._context.exports.sandboxes_dir is not None:
                mount_point = self._context.exports.sandboxes_dir / sandbox_id
                if mount_point.is_dir():
                    os.rmdir(mount_point)
        self._locks.pop(sandbox_id, None)
        self._uids.pop(sandbox_id, None)

    async def shutdown(self) -> None:
        ids = list(self._boxes)
        results = await asyncio.gather(*(self.stop(sid) for sid in ids), return_exceptions=True)
        for sandbox_id, result in zip(ids, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("sandbox %s did not stop cleanly: %s", sandbox_id, result)
        await self.shells.close_all()
        if self._context is not None:
            await asyncio.to_thread(self._context.exports.release)
            self._context = None

    # -- start steps ------------------------------------------------------------------------

    async def _clone_repo(self, box: Box, repo: str) -> str | None:
        url = repo.strip()
        if not re.match(r"^[a-z][a-z0-9+.-]*://", url) and not url.startswith("git@") and not url.startswith("/"):
            url = "https://" + url
        name = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repo"
        # Cloned on an earlier start: the user's work is left alone (checked inside).
        script = f'[ -n "$(ls -A -- {_quote(name)} 2>/dev/null)" ] && exit 0; exec git clone --quiet -- {_quote(url)} {_quote(name)}'
        outcome = await run_command(
            self._channel(box), [shell_program(), "-c", script], time_limit=REPO_CLONE_TIMEOUT,
            env={"GIT_TERMINAL_PROMPT": "0"},
        )
        self._keep_lingering(box, outcome.lingering)
        if outcome.result.exit_code == 0:
            return None
        lines = [line for line in outcome.result.stderr.splitlines() if line.strip()]
        # The clone ran inside: its stderr is the sandbox's to write. Bounded here; the event log
        # and the API's warnings keep only its printable text (record_event, views.shown_warnings).
        reason = lines[-1][:300] if lines else f"git exited with code {outcome.result.exit_code}"
        self._event(box.spec.id, "repo_clone_failed", f"The repo {repo} could not be cloned: {reason}", {"repo": repo, "reason": reason})
        return f"repo not reachable: {repo}: {reason}"

    # -- running things inside --------------------------------------------------------------

    def _box(self, sandbox_id: str) -> Box:
        box = self._boxes.get(sandbox_id)
        if box is None or not box.running:
            raise SandboxRuntimeError("Sandbox is not running")
        return box

    @staticmethod
    def _channel(box: Box) -> AgentChannel:
        if box.channel is None or box.channel.closed:
            raise SandboxRuntimeError("Sandbox is not running")
        return box.channel

    def _keep_lingering(self, box: Box, readers: list[PipeReader]) -> None:
        if box.stopping or box.spec.id not in self._boxes:
            for reader in readers:
                reader.close()
        else:
            # Readers of finished background jobs have closed themselves: prune them here.
            box.lingering = {r for r in box.lingering | set(readers) if not r.eof.is_set()}

    async def exec(self, sandbox_id: str, command: str, timeout: float = 300.0) -> ExecResult:  # noqa: ASYNC109 (the contract's name)
        box = self._box(sandbox_id)
        if timeout <= 0:
            raise SandboxRuntimeError("timeout must be a positive number of seconds")
        outcome = await run_command(self._channel(box), [shell_program(), "-c", command], time_limit=timeout)
        self._keep_lingering(box, outcome.lingering)
        if outcome.timed_out:
            self._exec_timed_out(sandbox_id, command, timeout)
        return outcome.result

    def _exec_timed_out(self, sandbox_id: str, command: str, time_limit: float) -> None:
        self._event(
            sandbox_id, "exec_timed_out", f"A command ran past its time limit of {time_limit:g} s and was killed.",
            {"command": command[:EXEC_COMMAND_SHOWN], "timeLimit": time_limit},
        )

    async def exec_streamed(self, sandbox_id: str, command: str, time_limit: float) -> StreamedRun:
        """Start ``command`` for the streaming exec (exec.py ``StreamedRun``; its owner must
        ``close()`` it)."""
        box = self._box(sandbox_id)
        if time_limit <= 0:
            raise SandboxRuntimeError("timeout must be a positive number of seconds")
        return await StreamedRun.start(
            self._channel(box), [shell_program(), "-c", command], time_limit=time_limit,
            on_lingering=lambda readers: self._keep_lingering(box, readers),
            on_timeout=lambda: self._exec_timed_out(sandbox_id, command, time_limit),
        )

    async def _launch_shell(self, sandbox_id: str, argv: list[str], cols: int, rows: int):  # type: ignore[no-untyped-def]
        box = self._box(sandbox_id)
        proc, master = await self._channel(box).spawn(argv, env={"TERM": "xterm-256color"}, pty=(cols, rows))
        assert master is not None
        return proc, master

    async def connect(self, sandbox_id: str, port: int) -> socket.socket:
        """A TCP connection to ``port`` on the sandbox's own loopback (for previews)."""
        return await self._channel(self._box(sandbox_id)).connect(port)

    def usage(self, sandbox_id: str) -> dict[str, Any]:
        """The running sandbox's usage figures, as the API's ``Usage`` (usage.py); {} when it
        is not running. Each call is a CPU sample: the next percent is measured from it."""
        box = self._boxes.get(sandbox_id)
        if box is None or not box.running:
            return {}
        return self.meter.sample(sandbox_id, box.cgroups, box.disk).view()

    def check_limits(self) -> None:
        """An event for each limit a running sandbox hit since the last check (called every
        few seconds: the kernel only counts these, it tells no one)."""
        for sandbox_id, box in list(self._boxes.items()):
            if not box.running:
                continue
            for kind, count in self.meter.limit_hits(sandbox_id, box.cgroups).items():
                self._event(sandbox_id, kind, limit_hit_message(kind, count, box.limits), {"count": count})

    # -- files ------------------------------------------------------------------------------

    async def pack(self, sandbox_id: str, directory: str, target: Path) -> None:
        """A tar.gz of ``directory``'s contents, made inside the sandbox, saved at ``target``."""
        box = self._box(sandbox_id)
        await files.pack(box, self._channel(box), directory, target)

    async def unpack(self, sandbox_id: str, archive: Path, directory: str, *, replace: bool = False) -> None:
        """Unpack the tar.gz ``archive`` into ``directory``, inside the sandbox."""
        box = self._box(sandbox_id)
        await files.unpack(box, self._channel(box), archive, directory, replace=replace)

    async def is_directory(self, sandbox_id: str, path: str) -> bool:
        box = self._box(sandbox_id)
        return await files.is_directory(box, self._channel(box), path)

    def normalize(self, sandbox_id: str, path: str) -> str:
        return self._box(sandbox_id).normalize(path)

    # -- records changed while it runs (live.py) --------------------------------------------

    async def apply_records(self, spec: SandboxSpec) -> list[str]:
        """Bring the running sandbox in line with its records now; warnings (a sandbox that
        is not running is left alone: its next start reads the records anyway)."""
        async with self._lock(spec.id):
            box = self._boxes.get(spec.id)
            if box is None or not box.running:
                return []
            return await live.apply(box, self._channel(box), spec)

    def started_with(self, sandbox_id: str) -> live.StartedWith | None:
        """What the running sandbox was started with and what waits for its next start;
        None when it is not running."""
        box = self._boxes.get(sandbox_id)
        return live.StartedWith(box) if box is not None and box.running else None

    # -- services ---------------------------------------------------------------------------

    async def start_service(self, sandbox_id: str, spec: ServiceSpec) -> None:
        await self._start_service(self._box(sandbox_id), spec)

    async def _start_service(self, box: Box, spec: ServiceSpec) -> None:
        current = box.services.get(spec.id)
        if current is not None and current.running:
            return
        if current is not None:
            current.reader.close()
        box.services[spec.id] = await Service.start(
            self._channel(box), spec, shell_program(), on_exit=lambda s: self._service_exited(box, s)
        )
        self._event(box.spec.id, "service_started", f"Service {spec.name} started.", {"serviceId": spec.id, "name": spec.name})

    def _service_exited(self, box: Box, service: Service) -> None:
        """A service ended by itself (a stop asked for, or the sandbox's end, is no event)."""
        if service.stop_requested or box.stopping:
            return
        self._event(
            box.spec.id, "service_exited", f"Service {service.spec.name} exited with code {service.exit_code}.",
            {"serviceId": service.spec.id, "name": service.spec.name, "exitCode": service.exit_code},
        )

    async def stop_service(self, sandbox_id: str, service_id: str) -> None:
        box = self._boxes.get(sandbox_id)
        service = box.services.get(service_id) if box else None
        if service is not None:
            await service.stop()

    def service_status(self, sandbox_id: str, service_id: str) -> tuple[str, int | None]:
        """(status, exit code): RUNNING; STOPPED; or, for a process that ended by itself
        with a code other than 0, FAILED and that code (a clean exit is STOPPED with 0)."""
        box = self._boxes.get(sandbox_id)
        service = box.services.get(service_id) if box else None
        if service is None or not self.is_running(sandbox_id):
            return "STOPPED", None
        if service.running:
            return "RUNNING", None
        if service.stop_requested:
            return "STOPPED", None
        code = service.exit_code
        return ("FAILED" if code else "STOPPED"), code

    def service_log(self, sandbox_id: str, service_id: str) -> str:
        box = self._boxes.get(sandbox_id)
        service = box.services.get(service_id) if box else None
        if service is None:
            return ""
        return service.log.snapshot().decode("utf-8", errors="replace")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
