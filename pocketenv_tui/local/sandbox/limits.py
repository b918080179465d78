"""How much of the machine one sandbox may use, and the cgroups that enforce it.

Every sandbox has limits, whether or not its record asks for any:

=========  ==============  ===========================================================
limit      default         enforced by
=========  ==============  ===========================================================
pids       1,024           cgroup ``pids.max``: a fork past it fails with EAGAIN
memory     2 GiB           cgroup ``memory.max`` / ``memory.limit_in_bytes`` (and the
                           swap limit where the machine has one): past it the kernel's
                           OOM killer ends a process of that sandbox, never the server
vcpus      2               CFS quota, ``vcpus`` CPUs worth of time per 100 ms period
disk       10 GiB          a filesystem image of that size (see ``disk.py``): past it
                           writes fail with ENOSPC inside the sandbox
=========  ==============  ===========================================================

A record's ``vcpus``, ``memory`` (GB) and ``disk`` (GB) replace the defaults;
``pocketenv-tui serve --default-memory 512M`` (and ``--default-disk``, ``--default-pids``,
``--default-vcpus``) change the defaults for one server.

One cgroup per sandbox and controller is made under the server's own cgroup (so limits set
on the server, by a container say, still hold above it): cgroup v2 when the unified
hierarchy has the controllers delegated to us, else the v1 hierarchies. The sandbox's first
process joins before it runs anything (a tiny ``sh`` writes its own pid into every
``cgroup.procs`` and execs the real command), so everything it starts is inside from the
start and a stop can check that nothing is left by reading ``cgroup.procs``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
# controller -> the protection it gives (names of facilities.PROTECTIONS)
PROTECTION_OF = {"pids": "pidsLimit", "memory": "memoryLimit", "cpu": "cpuLimit"}
CPU_PERIOD_US = 100_000
PROCS_ENV = "POCKETENV_CGROUP_PROCS"
JOIN_SCRIPT = f'for f in ${PROCS_ENV}; do echo $$ > "$f" || exit 125; done; unset {PROCS_ENV}; exec "$@"'
GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Limits:
    pids: int = 1024
    memory_bytes: int = 2 * GIB
    vcpus: float = 2
    disk_bytes: int = 10 * GIB

    def with_record(self, vcpus: int | None, memory_gb: int | None, disk_gb: int | None) -> Limits:
        """These defaults with a sandbox record's own values put in."""
        return Limits(
            pids=self.pids,
            memory_bytes=memory_gb * GIB if memory_gb else self.memory_bytes,
            vcpus=vcpus if vcpus else self.vcpus,
            disk_bytes=disk_gb * GIB if disk_gb else self.disk_bytes,
        )

    def view(self) -> dict[str, int | float]:
        return {
            "pids": self.pids,
            "memoryMiB": self.memory_bytes // MIB,
            "vcpus": self.vcpus,
            "diskMiB": self.disk_bytes // MIB,
        }


DEFAULT_LIMITS = Limits()

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from ``"512M"``, ``"2G"``, ``"10GiB"`` or a plain number of bytes."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size (examples: 512M, 2G, 10GiB)")
    number, unit = float(match.group(1)), match.group(2).upper()
    scale = {"": 1, "K": 1024, "M": MIB, "G": GIB, "T": 1024 * GIB}[unit]
    return int(number * scale)


def _own_cgroups() -> dict[str, str]:
    """controller name ("" for the v2 hierarchy) -> the server's cgroup path."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(","):
                found[name] = path
    return found


def cgroup_prefix(data_dir: Path) -> str:
    """Names of one server's cgroups: two servers with different data dirs never collide."""
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:8]
    return f"pocketenv-{digest}-"


def v2_available() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


class CgroupLimits:
    """The cgroups of one sandbox: made with its limits, removed when it stops."""

    def __init__(self, dirs: list[Path], enforced: set[str]) -> None:
        self.dirs = dirs
        self.enforced = enforced  # of "pids", "memory", "cpu"

    @classmethod
    def create(cls, name: str, limits: Limits) -> tuple[CgroupLimits | None, dict[str, str]]:
        """The sandbox's cgroups, and the protections (``PROTECTION_OF``) not enforced, with why."""
        try:
            if v2_available():
                return cls._make_v2(name, limits)
            return cls._make_v1(name, limits)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return None, {name: f"cgroups unavailable ({reason})" for name in PROTECTION_OF.values()}

    @classmethod
    def _make_v2(cls, name: str, limits: Limits) -> tuple[CgroupLimits, dict[str, str]]:
        parent = CGROUP_ROOT / _own_cgroups().get("", "/").lstrip("/")
        available = set((parent / "cgroup.controllers").read_text().split())
        wanted = {"pids", "memory", "cpu"} & available
        enabled = set((parent / "cgroup.subtree_control").read_text().split())
        if wanted - enabled:
            with contextlib.suppress(OSError):
                (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted - enabled))
            enabled = set((parent / "cgroup.subtree_control").read_text().split())
        group = parent / name
        group.mkdir(exist_ok=True)
        enforced: set[str] = set()
        missing: dict[str, str] = {}
        writes = {
            "pids": [("pids.max", str(limits.pids))],
            "memory": [("memory.max", str(limits.memory_bytes)), ("memory.swap.max", "0")],
            "cpu": [("cpu.max", f"{int(limits.vcpus * CPU_PERIOD_US)} {CPU_PERIOD_US}")],
        }
        for controller, files in writes.items():
            if controller not in enabled:
                missing[PROTECTION_OF[controller]] = f"the {controller} controller is not delegated to this server"
                continue
            for index, (file, value) in enumerate(files):
                try:
                    (group / file).write_text(value)
                except OSError as exc:
                    if index == 0:  # the swap limit is optional (no swap accounting)
                        missing[PROTECTION_OF[controller]] = str(exc.strerror or exc)
                        break
            else:
                enforced.add(controller)
        return cls([group], enforced), missing

    @classmethod
    def _make_v1(cls, name: str, limits: Limits) -> tuple[CgroupLimits, dict[str, str]]:
        own = _own_cgroups()
        dirs: list[Path] = []
        enforced: set[str] = set()
        missing: dict[str, str] = {}
        plans = {
            "pids": [("pids.max", str(limits.pids))],
            "memory": [
                ("memory.limit_in_bytes", str(limits.memory_bytes)),
                ("memory.memsw.limit_in_bytes", str(limits.memory_bytes)),
            ],
            "cpu": [("cpu.cfs_period_us", str(CPU_PERIOD_US)), ("cpu.cfs_quota_us", str(int(limits.vcpus * CPU_PERIOD_US)))],
        }
        for controller, files in plans.items():
            hierarchy = CGROUP_ROOT / controller
            if not (hierarchy / "cgroup.procs").exists():
                missing[PROTECTION_OF[controller]] = f"no {controller} cgroup hierarchy on this machine"
                continue
            group = hierarchy / own.get(controller, "/").lstrip("/") / name
            try:
                group.mkdir(exist_ok=True)
            except OSError as exc:
                missing[PROTECTION_OF[controller]] = f"cannot create a cgroup ({exc.strerror or exc})"
                continue
            dirs.append(group)
            try:
                for index, (file, value) in enumerate(files):
                    try:
                        (group / file).write_text(value)
                    except OSError:
                        if not (controller == "memory" and index == 1):  # memsw exists only with swap accounting
                            raise
            except OSError as exc:
                missing[PROTECTION_OF[controller]] = str(exc.strerror or exc)
                continue
            enforced.add(controller)
        # CPU time for the usage figures (no limit): where cpuacct is not mounted with cpu,
        # the sandbox gets a group of its own there too.
        accounting = CGROUP_ROOT / "cpuacct"
        if (accounting / "cpuacct.usage").exists() and not any((d / "cpuacct.usage").exists() for d in dirs):
            group = accounting / own.get("cpuacct", "/").lstrip("/") / name
            with contextlib.suppress(OSError):
                group.mkdir(exist_ok=True)
                dirs.append(group)
        return cls(dirs, enforced), missing

    # -- processes --------------------------------------------------------------------------

    def wrap(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        """``argv`` made to join these cgroups before it runs."""
        if not self.dirs:
            return argv, env
        procs = " ".join(str(group / "cgroup.procs") for group in self.dirs)
        return ["/bin/sh", "-c", JOIN_SCRIPT, "sh", *argv], {**env, PROCS_ENV: procs}

    def pids(self) -> set[int]:
        found: set[int] = set()
        for group in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                found |= {int(line) for line in (group / "cgroup.procs").read_text().split()}
        return found

    def kill_all(self) -> None:
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def remove(self) -> bool:
        """Remove the cgroups; False when one still holds processes."""
        removed = True
        for group in self.dirs:
            try:
                os.rmdir(group)
            except FileNotFoundError:
                pass
            except OSError:
                removed = False
        return removed


def remove_stale(prefix: str) -> int:
    """Remove empty cgroups left by an earlier server of the same data dir (after a crash)."""
    removed = 0
    own = _own_cgroups()
    bases = [CGROUP_ROOT / own.get("", "/").lstrip("/")] if v2_available() else [
        CGROUP_ROOT / controller / own.get(controller, "/").lstrip("/") for controller in ("pids", "memory", "cpu", "cpuacct")
    ]
    for base in bases:
        with contextlib.suppress(OSError):
            for entry in base.iterdir():
                if entry.is_dir() and entry.name.startswith(prefix):
                    with contextlib.suppress(OSError):
                        entry.rmdir()
                        removed += 1
    return removed
