"""Sandboxes on this machine: the ``local`` provider's runtime.

A sandbox is a directory, ``<data dir>/sandboxes/<id>/``, plus the processes running in it:

- ``home/`` is the sandbox's home (``/home/sandbox`` inside, the working directory),
- ``tmp/`` is its ``/tmp``,
- ``fs/<name>/`` holds any other top-level directory written to from outside (a file pushed
  to ``/workspace/app.py`` lands in ``fs/workspace/app.py`` and is seen at ``/workspace``).

It behaves like a container. While it runs, every process started in it (an exec'd
``cmd &``, services, shells) lives until the sandbox stops, and :meth:`SandboxRuntime.stop`
ends every one of them and checks that none is left.

Two isolation levels, reported as ``isolation``:

``bwrap``
    One long-lived ``bwrap`` per running sandbox is PID 1 of new PID/IPC/UTS/mount
    namespaces (hostname = sandbox name); exec, services and shells join it with nsenter and
    run without capabilities. The mount layout is in :mod:`pocketenv_tui.local.sandbox.isolation`:
    host system directories read-only, home and tmp read-write, volumes at their mount paths,
    and nothing of the host's home or of the data dir. Stop kills PID 1, and the kernel kills
    the rest of the namespace. bwrap runs with ``--die-with-parent``: if the server dies, its
    sandboxes die with it.

``none`` (bwrap missing or unusable)
    Plain processes with the home as working directory and ``HOME``. They can see the whole
    machine, which the API record states. Every process carries ``POCKETENV_SANDBOX_ID=<id>``
    in its environment; stop kills every process holding that marker. Paths outside the home
    and /tmp are kept under ``fs/`` instead of their real place, and volumes are symlinks
    (read-only volumes are not enforced). Processes started directly get SIGKILL if the
    server dies; jobs they left in the background are only ended by a later stop.

vcpus and memory are applied with cgroups when this machine lets us create them (see
:mod:`pocketenv_tui.local.sandbox.limits`), otherwise they are only recorded and the start
returns a warning saying so.
"""

from __future__ import annotations

import asyncio
import json
import os
import posixpath
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pocketenv_tui.local.sandbox import isolation as iso
from pocketenv_tui.local.sandbox.exec import ExecResult, run_command
from pocketenv_tui.local.sandbox.limits import CgroupLimits
from pocketenv_tui.local.sandbox.proc import (
    PipeReader,
    RingBuffer,
    children_named,
    kill_pids,
    pids_in_pid_namespace,
    scan_env,
    signal_until_exit,
    spawn,
    wait_exit,
    wait_exit_within,
)
from pocketenv_tui.local.sandbox.shells import LaunchPlan, ShellRegistry

__all__ = [
    "ExecResult",
    "SandboxRuntime",
    "SandboxRuntimeError",
    "SandboxSpec",
    "ServiceSpec",
]

SANDBOX_MARKER = "POCKETENV_SANDBOX_ID"
SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SERVICE_LOG_LIMIT = 64 * 1024
SERVICE_STOP_GRACE = 3.0
STOP_VERIFY_TIMEOUT = 5.0
SHELL_CLOSE_TIMEOUT = 10.0
REPO_CLONE_TIMEOUT = 180.0
INIT_INFO_TIMEOUT = 10.0
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SandboxRuntimeError(Exception):
    """A failure of the runtime; ``str()`` is a message fit for an API error body."""


@dataclass
class ServiceSpec:
    id: str
    name: str
    command: str  # run with bash -c inside the sandbox, with the sandbox env


@dataclass
class SandboxSpec:
    id: str
    name: str  # hostname inside the sandbox
    env: dict[str, str]  # variables + opened secrets, already merged (secret wins)
    files: list[tuple[str, bytes]]  # (path inside the sandbox, content) written on start
    ssh_private_key: str | None = None  # installed as ~/.ssh/id_ed25519 (0600) + .pub
    ssh_public_key: str | None = None
    volumes: list[tuple[Path, str, bool]] = field(default_factory=list)  # (host dir, mount path, read_only)
    services: list[ServiceSpec] = field(default_factory=list)  # started after the rest
    repo: str | None = None  # git clone into the home when reachable
    vcpus: int | None = None
    memory: int | None = None  # GB


def shell_program() -> str:
    return "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"


class _Service:
    def __init__(self, spec: ServiceSpec, proc: subprocess.Popen[bytes], reader: PipeReader, log: RingBuffer) -> None:
        self.spec = spec
        self.proc = proc
        self.reader = reader
        self.log = log
        self.exit_code: int | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.wrapped = False

    @property
    def running(self) -> bool:
        return self.exit_code is None


@dataclass(eq=False)
class _Sandbox:
    spec: SandboxSpec
    env: dict[str, str]
    init: subprocess.Popen[bytes] | None = None  # the bwrap process (isolation "bwrap")
    init_pid: int = 0  # PID 1 of the sandbox, as the host sees it
    pid_namespace: int = 0
    limits: CgroupLimits | None = None
    services: dict[str, _Service] = field(default_factory=dict)
    lingering: set[PipeReader] = field(default_factory=set)
    stopping: bool = False


class SandboxRuntime:
    def __init__(self, data_dir: Path, *, isolation: str | None = None, shell_grace: float | None = None) -> None:
        self.data_dir = Path(data_dir)
        if isolation is None:
            isolation = "bwrap" if iso.bwrap_usable() else "none"
        if isolation not in ("bwrap", "none"):
            raise ValueError(f"unknown isolation {isolation!r} (expected 'bwrap' or 'none')")
        if isolation == "bwrap" and not iso.bwrap_usable():
            raise SandboxRuntimeError("bubblewrap isolation was asked for but bwrap cannot run here")
        self.isolation = isolation
        self.shells = ShellRegistry(self.launch_plan, grace=shell_grace)
        self._boxes: dict[str, _Sandbox] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # -- paths ------------------------------------------------------------------------------

    def sandbox_dir(self, sandbox_id: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", sandbox_id) or sandbox_id in (".", ".."):
            raise SandboxRuntimeError(f"invalid sandbox id {sandbox_id!r}")
        path = self.data_dir / "sandboxes" / sandbox_id
        for sub in ("home", "tmp", "fs"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        return path

    def home_dir(self, sandbox_id: str) -> Path:
        return self.sandbox_dir(sandbox_id) / "home"

    def host_path(self, sandbox_id: str, path_inside: str) -> Path:
        """Where a path inside the sandbox lives on the host.

        ``~`` and relative paths are relative to the home. A path inside a mounted volume maps
        into the volume's directory. Raises SandboxRuntimeError for read-only system locations
        and for paths that leave the sandbox (including through symlinks).
        """
        return self._host_path(sandbox_id, path_inside, through_volumes=True)

    def _host_path(self, sandbox_id: str, path_inside: str, *, through_volumes: bool) -> Path:
        inside = self._normalize(path_inside)
        box = self._boxes.get(sandbox_id) if through_volumes else None
        for host_dir, mount, _ro in box.spec.volumes if box else []:
            mount = posixpath.normpath(mount)
            if inside == mount or inside.startswith(mount.rstrip("/") + "/"):
                return self._checked(Path(host_dir), posixpath.relpath(inside, mount), path_inside)
        root = self.sandbox_dir(sandbox_id)
        for prefix, base in ((iso.HOME_INSIDE, root / "home"), (iso.TMP_INSIDE, root / "tmp")):
            if inside == prefix or inside.startswith(prefix + "/"):
                return self._checked(base, posixpath.relpath(inside, prefix), path_inside)
        top, _, rest = inside[1:].partition("/")
        if top in iso.RESERVED_TOP_LEVEL:
            raise SandboxRuntimeError(f"{path_inside} is in a read-only system directory of the sandbox")
        (root / "fs" / top).mkdir(exist_ok=True)
        return self._checked(root / "fs" / top, rest or ".", path_inside)

    @staticmethod
    def _normalize(path_inside: str) -> str:
        path = path_inside.strip()
        if not path or "\0" in path:
            raise SandboxRuntimeError("a path inside the sandbox must not be empty")
        if path == "~" or path.startswith("~/"):
            path = iso.HOME_INSIDE + path[1:]
        elif not path.startswith("/"):
            path = iso.HOME_INSIDE + "/" + path
        if ".." in path.split("/"):
            raise SandboxRuntimeError(f"{path_inside} must not contain '..'")
        return posixpath.normpath(path).replace("//", "/")

    @staticmethod
    def _checked(base: Path, relative: str, original: str) -> Path:
        target = base / relative if relative != "." else base
        real_base = os.path.realpath(base)
        real_target = os.path.realpath(target)
        if real_target != real_base and not real_target.startswith(real_base + os.sep):
            raise SandboxRuntimeError(f"{original} leads outside the sandbox")
        return target

    # -- lifecycle --------------------------------------------------------------------------

    def _lock(self, sandbox_id: str) -> asyncio.Lock:
        return self._locks.setdefault(sandbox_id, asyncio.Lock())

    def is_running(self, sandbox_id: str) -> bool:
        box = self._boxes.get(sandbox_id)
        if box is None or box.stopping:
            return False
        if self.isolation == "bwrap":
            return box.init is not None and box.init_pid > 0 and box.init.poll() is None
        return True

    async def start(self, spec: SandboxSpec) -> list[str]:
        """Boot the sandbox; returns warnings (things that did not work but did not block)."""
        async with self._lock(spec.id):
            if spec.id in self._boxes:
                await self._stop_locked(spec.id)
            warnings: list[str] = []
            if self.isolation == "none":
                warnings.append(
                    "isolation: none (bubblewrap is not available): the sandbox runs as plain "
                    "processes that can see this machine"
                )
            env = self._environment(spec, warnings)
            self._write_files(spec)
            self._install_ssh_keys(spec)
            self._check_volumes(spec)
            box = _Sandbox(spec=spec, env=env)
            self._boxes[spec.id] = box
            try:
                if self.isolation == "bwrap":
                    await self._boot_bwrap(box)
                else:
                    self._link_volumes(spec, warnings)
                box.limits, limit_warning = CgroupLimits.create(spec.id, vcpus=spec.vcpus, memory_gb=spec.memory)
                if limit_warning:
                    warnings.append(limit_warning)
                if box.limits is not None and box.init is not None:
                    box.limits.add_pid(box.init_pid)
                if spec.repo:
                    warning = await self._clone_repo(box, spec.repo)
                    if warning:
                        warnings.append(warning)
                for service in spec.services:
                    await self._start_service(box, service)
            except BaseException:
                await self._stop_locked(spec.id)
                raise
            return warnings

    async def stop(self, sandbox_id: str) -> None:
        async with self._lock(sandbox_id):
            await self._stop_locked(sandbox_id)

    async def _stop_locked(self, sandbox_id: str) -> None:
        box = self._boxes.get(sandbox_id)
        if box is not None:
            box.stopping = True
        # Shells kill their own trees; the bound keeps a stuck one from holding up the stop
        # (the sweep below ends whatever of it is left).
        closing = asyncio.ensure_future(self.shells.close_sandbox(sandbox_id))
        await asyncio.wait([closing], timeout=SHELL_CLOSE_TIMEOUT)
        stuck: list[str] = []
        try:
            if box is not None:
                for service in box.services.values():
                    if service.watcher is not None:
                        service.watcher.cancel()
                if box.init is not None and not await self._end_init(box):
                    stuck.append("its bwrap process")
                # Services are ended through their own process handles, not found by a scan:
                # one started a moment ago may be in the middle of an execve, invisible to
                # the environment scan, and would then outlive the stop.
                stuck += [f"service {name}" for name in await self._end_services(box)]
            await self._sweep(sandbox_id, box)
        finally:
            if box is not None:
                for service in box.services.values():
                    if service.exit_code is None:
                        service.exit_code = -1
                    service.reader.close()
                for reader in box.lingering:
                    reader.close()
                if box.limits is not None:
                    box.limits.remove()
            self._boxes.pop(sandbox_id, None)
        if stuck:
            raise SandboxRuntimeError(f"could not stop the sandbox: {', '.join(stuck)} did not exit")

    async def _end_init(self, box: _Sandbox) -> bool:
        assert box.init is not None
        # Killing PID 1 makes the kernel kill the rest of the namespace. The nsenters of
        # services and execs then reap their children and exit by themselves.
        if box.init_pid > 0:
            kill_pids([box.init_pid])
        else:
            box.init.kill()
        if await wait_exit_within(box.init, STOP_VERIFY_TIMEOUT) is not None:
            return True
        box.init.kill()
        return await wait_exit_within(box.init, STOP_VERIFY_TIMEOUT) is not None

    async def _end_services(self, box: _Sandbox) -> list[str]:
        """Kill every service still running; returns the names of those that would not die."""
        live = [s for s in box.services.values() if s.proc.returncode is None]

        async def end(service: _Service) -> bool:
            # A wrapper (nsenter) is spared at first so it reaps its child (see kill_tree).
            if await signal_until_exit(service.proc, signal.SIGKILL, spare_root=service.wrapped, within=SERVICE_STOP_GRACE):
                return True
            return await signal_until_exit(service.proc, signal.SIGKILL, spare_root=False, within=SERVICE_STOP_GRACE)

        ended = await asyncio.gather(*(end(s) for s in live))
        return [s.spec.name for s, ok in zip(live, ended, strict=True) if not ok]

    async def _sweep(self, sandbox_id: str, box: _Sandbox | None) -> None:
        """Kill every process of the sandbox that is still there, until none is."""
        marker = f"{SANDBOX_MARKER}={sandbox_id}".encode()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_VERIFY_TIMEOUT
        while True:
            found, busy = scan_env(marker)
            left = set(found)
            if box is not None and box.pid_namespace:
                left |= set(pids_in_pid_namespace(box.pid_namespace))
            if not left and not busy:
                return
            if loop.time() > deadline:
                if not left:
                    # Only processes stuck in an execve for seconds, whose environment we
                    # never got to read: nothing shows they are the sandbox's.
                    return
                raise SandboxRuntimeError(
                    f"could not stop every process of the sandbox (still running: {sorted(left)})"
                )
            kill_pids(left, signal.SIGSTOP)
            kill_pids(left, signal.SIGKILL)
            # Processes in the middle of an execve are looked at again once it is done.
            await asyncio.sleep(0.02 if left else 0.005)

    async def delete(self, sandbox_id: str) -> None:
        async with self._lock(sandbox_id):
            await self._stop_locked(sandbox_id)
            path = self.data_dir / "sandboxes" / sandbox_id
            try:
                await asyncio.to_thread(shutil.rmtree, path, ignore_errors=False)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SandboxRuntimeError(f"could not remove the sandbox's files: {exc.strerror}") from None
        self._locks.pop(sandbox_id, None)

    async def shutdown(self) -> None:
        await asyncio.gather(*(self.stop(sid) for sid in list(self._boxes)), return_exceptions=True)
        await self.shells.close_all()

    # -- boot steps -------------------------------------------------------------------------

    def _environment(self, spec: SandboxSpec, warnings: list[str]) -> dict[str, str]:
        home = iso.HOME_INSIDE if self.isolation == "bwrap" else str(self.home_dir(spec.id))
        env = {
            "PATH": SANDBOX_PATH,
            "HOME": home,
            "USER": "root",
            "LOGNAME": "root",
            "SHELL": shell_program(),
            "LANG": "C.UTF-8",
            "HOSTNAME": spec.name,
        }
        for name, value in spec.env.items():
            if not ENV_NAME.match(name) or "\0" in value:
                warnings.append(f"variable {name!r} was skipped: not a valid environment variable")
                continue
            env[name] = value
        env[SANDBOX_MARKER] = spec.id  # set last: it is how stop finds the processes
        return env

    def _write_files(self, spec: SandboxSpec) -> None:
        for path, content in spec.files:
            target = self.host_path(spec.id, path)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            except OSError as exc:
                raise SandboxRuntimeError(f"could not write {path}: {exc.strerror}") from None

    def _install_ssh_keys(self, spec: SandboxSpec) -> None:
        if not spec.ssh_private_key:
            return
        ssh = self.home_dir(spec.id) / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        os.chmod(ssh, 0o700)
        private = ssh / "id_ed25519"
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(spec.ssh_private_key.rstrip("\n") + "\n")
        os.chmod(private, 0o600)
        if spec.ssh_public_key:
            (ssh / "id_ed25519.pub").write_text(spec.ssh_public_key.rstrip("\n") + "\n")

    def _check_volumes(self, spec: SandboxSpec) -> None:
        for _host, mount, _ro in spec.volumes:
            inside = self._normalize(mount)
            if inside in ("/", iso.HOME_INSIDE, iso.TMP_INSIDE):
                raise SandboxRuntimeError(f"a volume cannot be mounted at {mount}")
            under_own = inside.startswith(iso.HOME_INSIDE + "/") or inside.startswith(iso.TMP_INSIDE + "/")
            if not under_own and inside[1:].partition("/")[0] in iso.RESERVED_TOP_LEVEL:
                raise SandboxRuntimeError(f"a volume cannot be mounted at {mount}: it is a system directory")

    def _link_volumes(self, spec: SandboxSpec, warnings: list[str]) -> None:
        # Without namespaces there is no mounting: the mount path becomes a symlink.
        for host_dir, mount, read_only in spec.volumes:
            link = self._host_path(spec.id, mount, through_volumes=False)
            if link.is_symlink():
                link.unlink()
            elif link.exists():
                if link.is_dir() and not any(link.iterdir()):
                    link.rmdir()
                else:
                    raise SandboxRuntimeError(f"cannot mount a volume at {mount}: something is already there")
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(Path(host_dir).resolve(), target_is_directory=True)
            if read_only:
                warnings.append(f"volume at {mount} is writable: read-only needs bubblewrap isolation")

    async def _boot_bwrap(self, box: _Sandbox) -> None:
        spec = box.spec
        root = self.sandbox_dir(spec.id)
        for _host, mount, _ro in spec.volumes:
            # Mount points under the home/tmp/fs must exist on the host side too.
            inside = self._normalize(mount)
            if inside.startswith(iso.HOME_INSIDE + "/") or inside.startswith(iso.TMP_INSIDE + "/"):
                self._mount_point(spec.id, inside)
        info_r, info_w = os.pipe()
        argv = iso.init_argv(
            hostname=spec.name,
            home=root / "home",
            tmp=root / "tmp",
            fs_root=root / "fs",
            volumes=[(Path(h), self._normalize(m), ro) for h, m, ro in spec.volumes],
            info_fd=info_w,
        )
        err_r, err_w = os.pipe()
        try:
            box.init = spawn(argv, env={"PATH": SANDBOX_PATH}, cwd="/", stderr=err_w, pass_fds=[info_w])
        finally:
            os.close(info_w)
            os.close(err_w)
        errors = RingBuffer(8192)
        err_reader = PipeReader(err_r, errors)
        info = RingBuffer(8192)
        info_reader = PipeReader(info_r, info)
        try:
            await asyncio.wait_for(info_reader.eof.wait(), INIT_INFO_TIMEOUT)
        except TimeoutError:
            pass
        info_reader.close()
        try:
            details = json.loads(info.snapshot() or b"{}")
            box.init_pid = int(details["child-pid"])
            box.pid_namespace = int(details["pid-namespace"])
        except (ValueError, KeyError, TypeError):
            box.init.kill()
            await wait_exit_within(box.init, STOP_VERIFY_TIMEOUT)
            await asyncio.sleep(0)
            err_reader.close()
            message = errors.snapshot().decode("utf-8", "replace").strip() or "bwrap did not start"
            raise SandboxRuntimeError(f"could not start the sandbox: {message}") from None
        box.lingering.add(err_reader)
        await self._wait_init_ready(box)

    async def _wait_init_ready(self, box: _Sandbox) -> None:
        # bwrap reports PID 1 before it has built the mounts; joining then would see a
        # half-made root. The sandbox is ready once PID 1 has started its command.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + INIT_INFO_TIMEOUT
        while not children_named(box.init_pid, "sleep"):
            if box.init is not None and box.init.poll() is not None:
                raise SandboxRuntimeError("could not start the sandbox: bwrap exited while setting it up")
            if loop.time() > deadline:
                raise SandboxRuntimeError("could not start the sandbox: it did not come up in time")
            await asyncio.sleep(0.005)

    def _mount_point(self, sandbox_id: str, inside: str) -> None:
        path = self._host_path(sandbox_id, inside, through_volumes=False)
        if path.is_symlink():
            path.unlink()
        path.mkdir(parents=True, exist_ok=True)

    async def _clone_repo(self, box: _Sandbox, repo: str) -> str | None:
        url = repo.strip()
        if not re.match(r"^[a-z][a-z0-9+.-]*://", url) and not url.startswith("git@"):
            url = "https://" + url
        name = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "repo"
        target = self.home_dir(box.spec.id) / name
        if target.exists() and any(target.iterdir()):
            return None  # cloned on an earlier start; leave the user's work alone
        outcome = await self._run(
            box, ["git", "clone", "--quiet", "--", url, name], time_limit=REPO_CLONE_TIMEOUT, extra_env={"GIT_TERMINAL_PROMPT": "0"}
        )
        if outcome.exit_code == 0:
            return None
        lines = [line for line in outcome.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"git exited with code {outcome.exit_code}"
        return f"repo not reachable: {repo}: {reason}"

    # -- running things inside --------------------------------------------------------------

    def _box(self, sandbox_id: str) -> _Sandbox:
        box = self._boxes.get(sandbox_id)
        if box is None or not self.is_running(sandbox_id):
            raise SandboxRuntimeError("Sandbox is not running")
        return box

    def launch_plan(self, sandbox_id: str, argv: list[str], extra_env: dict[str, str] | None = None) -> LaunchPlan:
        """How to run ``argv`` inside the running sandbox ``sandbox_id``."""
        box = self._box(sandbox_id)
        env = dict(box.env)
        if extra_env:
            env.update(extra_env)
            env[SANDBOX_MARKER] = sandbox_id
        ptmx = None
        if self.isolation == "bwrap":
            full, cwd = iso.enter_prefix(box.init_pid) + argv, None
            ptmx = f"/proc/{box.init_pid}/root/dev/ptmx"
        else:
            full, cwd = ["setpriv", "--pdeathsig", "KILL", "--", *argv], str(self.home_dir(sandbox_id))
            if not shutil.which("setpriv"):
                full = argv
        if box.limits is not None:
            full, env = box.limits.wrap(full, env)
        return LaunchPlan(full, env, cwd, ptmx, wrapped=self.isolation == "bwrap")

    async def _run(
        self, box: _Sandbox, argv: list[str], *, time_limit: float, extra_env: dict[str, str] | None = None
    ) -> ExecResult:
        plan = self.launch_plan(box.spec.id, argv, extra_env)
        try:
            outcome = await run_command(plan, time_limit=time_limit)
        except OSError as exc:
            raise SandboxRuntimeError(f"could not run the command: {exc.strerror or exc}") from None
        if box.stopping or box.spec.id not in self._boxes:
            for reader in outcome.lingering:
                reader.close()
        else:
            # Readers of finished background jobs have closed themselves: prune them here.
            box.lingering = {r for r in box.lingering | set(outcome.lingering) if not r.eof.is_set()}
        return outcome.result

    async def exec(self, sandbox_id: str, command: str, timeout: float = 300.0) -> ExecResult:  # noqa: ASYNC109 (the contract's name)
        box = self._box(sandbox_id)
        if timeout <= 0:
            raise SandboxRuntimeError("timeout must be a positive number of seconds")
        return await self._run(box, [shell_program(), "-c", command], time_limit=timeout)

    # -- services ---------------------------------------------------------------------------

    async def start_service(self, sandbox_id: str, spec: ServiceSpec) -> None:
        await self._start_service(self._box(sandbox_id), spec)

    async def _start_service(self, box: _Sandbox, spec: ServiceSpec) -> None:
        current = box.services.get(spec.id)
        if current is not None and current.running:
            return
        if current is not None:
            current.reader.close()
        plan = self.launch_plan(box.spec.id, [shell_program(), "-c", spec.command])
        log = RingBuffer(SERVICE_LOG_LIMIT)
        out_r, out_w = os.pipe()
        try:
            proc = spawn(plan.argv, env=plan.env, cwd=plan.cwd, stdout=out_w, stderr=out_w)
        except OSError as exc:
            os.close(out_r)
            raise SandboxRuntimeError(f"could not start service {spec.name}: {exc.strerror}") from None
        finally:
            os.close(out_w)
        service = _Service(spec, proc, PipeReader(out_r, log), log)
        service.wrapped = plan.wrapped
        service.watcher = asyncio.get_running_loop().create_task(self._watch_service(service))
        box.services[spec.id] = service

    @staticmethod
    async def _watch_service(service: _Service) -> None:
        code = await wait_exit(service.proc)
        service.exit_code = code
        service.log.write(f"\n[pocketenv: service exited with code {code}]\n".encode())

    async def stop_service(self, sandbox_id: str, service_id: str) -> None:
        box = self._boxes.get(sandbox_id)
        service = box.services.get(service_id) if box else None
        if service is None or not service.running:
            return
        proc, wrapped = service.proc, service.wrapped
        # SIGTERM first, then SIGKILL to what runs under a wrapper, then SIGKILL to all of it.
        # Each step looks at the tree again while it waits, so a child forked after the first
        # look (nsenter forks once it has joined the sandbox) is not missed.
        ended = await signal_until_exit(proc, signal.SIGTERM, spare_root=wrapped, within=SERVICE_STOP_GRACE)
        if not ended:
            ended = await signal_until_exit(proc, signal.SIGKILL, spare_root=wrapped, within=SERVICE_STOP_GRACE)
        if not ended:
            ended = await signal_until_exit(proc, signal.SIGKILL, spare_root=False, within=SERVICE_STOP_GRACE)
        if service.watcher is not None:
            # The watcher finishes as soon as the process is reaped; the bound is for a
            # process that even SIGKILL did not end.
            await asyncio.wait([service.watcher], timeout=SERVICE_STOP_GRACE if ended else 0)
        if not ended:
            raise SandboxRuntimeError(f"could not stop service {service.spec.name}: its process does not exit")
        service.reader.close()

    def service_status(self, sandbox_id: str, service_id: str) -> str:
        box = self._boxes.get(sandbox_id)
        service = box.services.get(service_id) if box else None
        if service is None or not self.is_running(sandbox_id):
            return "STOPPED"
        return "RUNNING" if service.running and service.proc.poll() is None else "STOPPED"

    def service_log(self, sandbox_id: str, service_id: str) -> str:
        box = self._boxes.get(sandbox_id)
        service = box.services.get(service_id) if box else None
        if service is None:
            return ""
        return service.log.snapshot().decode("utf-8", errors="replace")
