"""One running sandbox: booting it (disk, cgroups, bwrap, agent, network) and tearing it down.

Boot order: the disk is mounted, the cgroups made, then bwrap starts the agent as PID 1 of
the sandbox's namespaces (already inside the cgroups, as the sandbox's uid, under seccomp);
slirp4netns attaches to its network namespace while the agent comes up. Teardown undoes it
in reverse and checks that no process of the sandbox is left (its cgroups are empty, or,
without cgroups, no process carries its marker).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pocketenv_tui.local.sandbox import isolation as iso
from pocketenv_tui.local.sandbox import layout, seccomp
from pocketenv_tui.local.sandbox.agent_channel import AgentChannel
from pocketenv_tui.local.sandbox.disk import SandboxDisk
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.exports import Exports
from pocketenv_tui.local.sandbox.facilities import Facilities
from pocketenv_tui.local.sandbox.limits import CgroupLimits, Limits
from pocketenv_tui.local.sandbox.live import SANDBOX_MARKER, LiveState, usable_env
from pocketenv_tui.local.sandbox.network import RESOLV_CONF, SlirpNetwork
from pocketenv_tui.local.sandbox.proc import (
    PipeReader,
    RingBuffer,
    kill_pids,
    scan_env,
    spawn,
    wait_exit_within,
)
from pocketenv_tui.local.sandbox.services import Service
from pocketenv_tui.local.sandbox.specs import SandboxSpec

SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
AGENT_FD_ENV = "POCKETENV_AGENT_FD"
READY_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0


def shell_program() -> str:
    return "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"


@dataclass
class RuntimeContext:
    """What every sandbox of one runtime shares."""

    data_dir: Path
    facilities: Facilities
    exports: Exports
    default_limits: Limits
    cgroup_prefix: str

    @property
    def isolation(self) -> str:
        return self.facilities.isolation


@dataclass(eq=False)
class Box:
    spec: SandboxSpec
    limits: Limits
    disk: SandboxDisk
    uid: int | None
    missing: dict[str, str]
    home: str  # HOME as the sandbox's processes see it
    python: str  # the interpreter, as a path the sandbox's processes can run
    code_dir: str  # the agent's code, likewise
    python_prefix: str | None = None  # where the interpreter is mounted inside, if at all
    namespaced: bool = False  # the agent is PID 1 of the sandbox's own namespaces (bwrap)
    channel: AgentChannel | None = None
    init: subprocess.Popen[bytes] | None = None  # bwrap (or the agent itself, isolation "none")
    agent_pid: int = 0  # host pid of the agent
    cgroups: CgroupLimits | None = None
    network: SlirpNetwork | None = None
    services: dict[str, Service] = field(default_factory=dict)
    lingering: set[PipeReader] = field(default_factory=set)
    errors: RingBuffer = field(default_factory=lambda: RingBuffer(8192))
    error_reader: PipeReader | None = None
    stopping: bool = False
    warnings: list[str] = field(default_factory=list)
    live: LiveState = field(default_factory=LiveState)  # for changes while it runs (live.py)

    @property
    def running(self) -> bool:
        return not self.stopping and self.channel is not None and not self.channel.closed

    def tools_argv(self, *args: str) -> list[str]:
        return iso.tools_argv(self.python, self.code_dir, *args)

    def normalize(self, path_inside: str) -> str:
        """An absolute path inside the sandbox (``~`` and relative paths are in HOME)."""
        path = path_inside.strip()
        if not path or "\0" in path:
            raise SandboxRuntimeError("a path inside the sandbox must not be empty")
        if path == "~" or path.startswith("~/"):
            path = iso.HOME_INSIDE + path[1:]
        elif not path.startswith("/"):
            path = iso.HOME_INSIDE + "/" + path
        if ".." in path.split("/"):
            raise SandboxRuntimeError(f"{path_inside} must not contain '..'")
        return "/" + "/".join(p for p in path.split("/") if p not in ("", "."))


async def boot(ctx: RuntimeContext, spec: SandboxSpec, uid: int | None, on_lost) -> Box:  # type: ignore[no-untyped-def]
    """Start the sandbox up to a ready agent; on failure nothing of it is left running."""
    limits = spec.limits or ctx.default_limits
    missing = dict(ctx.facilities.missing)
    bwrap = ctx.isolation == "bwrap"
    as_uid = uid if os.geteuid() == 0 and bwrap else None
    mount_point = ctx.exports.disk_mount_point(spec.id) if bwrap else None
    disk = await asyncio.to_thread(
        SandboxDisk.attach, ctx.data_dir / "sandboxes" / spec.id, limits.disk_bytes, as_uid,
        use_image="diskQuota" not in missing, mount_point=mount_point,
    )
    if bwrap:
        home, python, code_dir = iso.HOME_INSIDE, ctx.exports.python, iso.INSIDE_CODE
    else:
        home = str(disk.rootfs / iso.HOME_INSIDE.lstrip("/"))
        python, code_dir = sys.executable, str(iso.INSIDE_DIR)
    box = Box(
        spec, limits, disk, as_uid, missing, home, python, code_dir,
        python_prefix=ctx.exports.python_prefix if bwrap else None, namespaced=bwrap, warnings=list(disk.warnings),
    )
    try:
        await asyncio.to_thread(layout.prune_volumes, disk, {volume_id for volume_id, _, _ in spec.volumes})
        box.live.started_volumes = _started_volumes(box, spec)
        box.cgroups, cgroup_missing = CgroupLimits.create(ctx.cgroup_prefix + spec.id, limits)
        for name, why in cgroup_missing.items():
            box.missing.setdefault(name, why)
        if box.cgroups is not None and box.cgroups.pids():
            box.cgroups.kill_all()  # left by a server that crashed
        env = _environment(box, spec)
        if bwrap:
            await _start_bwrap(ctx, box, env, on_lost)
        else:
            await _start_plain(box, env, on_lost)
    except BaseException:
        await asyncio.shield(teardown(box))
        raise
    return box


def _started_volumes(box: Box, spec: SandboxSpec) -> dict[str, tuple[str, bool]]:
    """Volume id -> (mount path inside, read-only): what this start mounts (or tries to;
    a volume that cannot be mounted says so in the start's warnings)."""
    started: dict[str, tuple[str, bool]] = {}
    for volume_id, mount, read_only in spec.volumes:
        with contextlib.suppress(SandboxRuntimeError):
            started[volume_id] = (box.normalize(mount), read_only)
    return started


def _environment(box: Box, spec: SandboxSpec) -> dict[str, str]:
    env = {
        "PATH": SANDBOX_PATH,
        "HOME": box.home,
        "USER": "root",
        "LOGNAME": "root",
        "SHELL": shell_program(),
        "LANG": "C.UTF-8",
        "HOSTNAME": spec.name,
    }
    env[SANDBOX_MARKER] = spec.id  # it is how processes of the sandbox are found
    records, warnings = usable_env(spec.env)
    box.warnings.extend(warnings)
    box.live.base_env = dict(env)
    box.live.current_env = dict(records)
    # Records named like the runtime's own variables (PATH, HOME...) stay out of the agent's
    # environment, which also starts bwrap and setpriv on the host: they reach every process
    # of the sandbox as changes (live.py) instead. The marker is never a record's.
    box.live.start_env = {name: value for name, value in records.items() if name not in env}
    return {**env, **box.live.start_env}


async def _start_bwrap(ctx: RuntimeContext, box: Box, env: dict[str, str], on_lost) -> None:  # type: ignore[no-untyped-def]
    top, volumes = await asyncio.to_thread(layout.top_level_and_volumes, box)
    # What a running sandbox can be given without a restart: paths under these (live.py).
    box.live.top_level = frozenset(top)
    box.live.mount_paths = tuple(inside for _, inside, _ in volumes)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    child.set_inheritable(True)
    info_r, info_w = os.pipe()
    outbound = "outboundNetwork" not in box.missing
    resolv_fd = None
    if outbound:
        resolv_fd = os.memfd_create("resolv.conf", os.MFD_CLOEXEC)
        os.write(resolv_fd, RESOLV_CONF)
        os.lseek(resolv_fd, 0, os.SEEK_SET)
    cmd = iso.bwrap_command(
        hostname=box.spec.name, rootfs=box.disk.rootfs, top_level=top, volumes=volumes,
        info_fd=info_w, seccomp_fd=None if "seccomp" in box.missing else seccomp.filter_fd(),
        resolv_conf_fd=resolv_fd, agent_fd=child.fileno(), host_uid=box.uid,
        code_dir=ctx.exports.code_dir, python=ctx.exports.python,
        python_source=ctx.exports.python_source, python_prefix=ctx.exports.python_prefix,
    )
    argv, spawn_env = cmd.argv, {**env, AGENT_FD_ENV: str(child.fileno())}
    if box.cgroups is not None:
        argv, spawn_env = box.cgroups.wrap(argv, spawn_env)
    err_r, err_w = os.pipe()
    try:
        box.init = spawn(argv, env=spawn_env, cwd="/", stderr=err_w, pass_fds=cmd.fds)
    except OSError as exc:
        os.close(err_r)
        os.close(info_r)
        parent.close()
        raise SandboxRuntimeError(f"could not start the sandbox: {exc.strerror or exc}") from None
    finally:
        os.close(err_w)
        child.detach()
        cmd.close_fds()
    box.error_reader = PipeReader(err_r, box.errors)
    box.channel = AgentChannel(parent, on_lost)
    info = RingBuffer(8192)
    info_reader = PipeReader(info_r, info)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(info_reader.eof.wait(), READY_TIMEOUT)
    info_reader.close()
    try:
        box.agent_pid = int(json.loads(info.snapshot() or b"{}")["child-pid"])
    except (ValueError, KeyError, TypeError):
        raise SandboxRuntimeError(f"could not start the sandbox: {_bwrap_error(box)}") from None
    waits: list[asyncio.Future[object]] = [asyncio.ensure_future(_agent_ready(box))]
    if outbound:
        waits.append(asyncio.ensure_future(SlirpNetwork.start(box.agent_pid, box.cgroups)))
    results = await asyncio.gather(*waits, return_exceptions=True)
    if len(results) > 1:
        if isinstance(results[1], SlirpNetwork):
            box.network = results[1]
        elif isinstance(results[1], BaseException):
            box.missing["outboundNetwork"] = str(results[1])
            box.warnings.append(f"no outbound network: {results[1]}")
    if isinstance(results[0], BaseException):
        raise results[0]


async def _agent_ready(box: Box) -> None:
    assert box.channel is not None
    try:
        await asyncio.wait_for(asyncio.shield(box.channel.ready), READY_TIMEOUT)
    except TimeoutError:
        raise SandboxRuntimeError("could not start the sandbox: it did not come up in time") from None
    except SandboxRuntimeError:
        await asyncio.sleep(0.05)  # let bwrap's last words arrive
        raise SandboxRuntimeError(f"could not start the sandbox: {_bwrap_error(box)}") from None


def _bwrap_error(box: Box) -> str:
    return box.errors.snapshot().decode("utf-8", "replace").strip()[-500:] or "bwrap did not start"


async def _start_plain(box: Box, env: dict[str, str], on_lost) -> None:  # type: ignore[no-untyped-def]
    """Isolation "none": the agent as a plain process of the server's user, in the home."""
    rootfs = box.disk.rootfs
    await asyncio.to_thread(layout.plain_volumes, box)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    child.set_inheritable(True)
    spawn_env = {**env, AGENT_FD_ENV: str(child.fileno()), "POCKETENV_AGENT_SUBREAPER": "1", "POCKETENV_ROOT": str(rootfs)}
    argv = iso.agent_argv(box.python, box.code_dir)
    if box.cgroups is not None:
        argv, spawn_env = box.cgroups.wrap(argv, spawn_env)
    err_r, err_w = os.pipe()
    try:
        box.init = spawn(argv, env=spawn_env, cwd=box.home, stderr=err_w, pass_fds=[child.fileno()])
    finally:
        os.close(err_w)
        child.close()
    box.error_reader = PipeReader(err_r, box.errors)
    box.agent_pid = box.init.pid
    box.channel = AgentChannel(parent, on_lost)
    await _agent_ready(box)


async def teardown(box: Box) -> list[str]:
    """End every process of the sandbox and release what it held; returns what got stuck."""
    box.stopping = True
    stuck: list[str] = []
    for service in box.services.values():
        service.close()
    if box.channel is not None:
        box.channel.close()  # the agent exits when its socket closes; PID 1 takes the rest
    if box.init is not None:
        if box.namespaced:
            kill_pids([box.agent_pid])  # PID 1: the kernel ends the rest of its namespace
        else:
            # The agent ends everything it started once its socket closes; give it that
            # moment before it is killed (its orphans would otherwise only meet the sweep).
            await wait_exit_within(box.init, 1.0)
            kill_pids([box.agent_pid])
        if await wait_exit_within(box.init, STOP_TIMEOUT) is None:
            with contextlib.suppress(ProcessLookupError):
                box.init.send_signal(signal.SIGKILL)
            if await wait_exit_within(box.init, STOP_TIMEOUT) is None:
                stuck.append("its bwrap process")
    if not await _sweep(box):
        stuck.append("some of its processes")
    if box.network is not None:
        await box.network.stop()
    if box.cgroups is not None and not box.cgroups.remove():
        stuck.append("its cgroups (still in use)")
    for reader in box.lingering:
        reader.close()
    if box.error_reader is not None:
        box.error_reader.close()
    try:
        await asyncio.to_thread(box.disk.detach)
    except (OSError, SandboxRuntimeError, subprocess.SubprocessError) as exc:
        stuck.append(f"its disk ({exc})")
    return stuck


async def _sweep(box: Box) -> bool:
    """Kill whatever of the sandbox is still alive until nothing is; False if that fails."""
    marker = f"{SANDBOX_MARKER}={box.spec.id}".encode()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STOP_TIMEOUT
    while True:
        # Every process of the sandbox is in its cgroups from its first instruction on;
        # without cgroups, each one carries the sandbox's marker in its environment.
        if box.cgroups is not None and box.cgroups.dirs:
            left, busy = box.cgroups.pids(), []
        else:
            found, busy = await asyncio.to_thread(scan_env, marker)
            left = set(found)
        if not left and not busy:
            return True
        if loop.time() > deadline:
            return not left
        kill_pids(left, signal.SIGSTOP)
        kill_pids(left, signal.SIGKILL)
        await asyncio.sleep(0.02)
