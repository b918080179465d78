"""vcpus and memory of a sandbox, applied with cgroups when this machine lets us.

One cgroup per sandbox is made under the server's own cgroup (so a container's limits still
hold above it): cgroup v2 when the unified hierarchy has the memory and cpu controllers
delegated to us, else the v1 ``memory`` and ``cpu`` hierarchies. vcpus becomes a CFS quota
(``vcpus`` CPUs worth of time per period), memory (GB) a hard memory limit. A process joins
the cgroup before it runs anything, through a tiny ``sh`` wrapper that writes its own pid
into ``cgroup.procs`` and then execs the real command, so its children are inside from
the start. When cgroups cannot be made, the values stay recorded and the caller is told.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000
PROCS_ENV = "POCKETENV_CGROUP_PROCS"
JOIN_SCRIPT = f'for f in ${PROCS_ENV}; do echo $$ > "$f"; done; unset {PROCS_ENV}; exec "$@"'


def _own_cgroups() -> dict[str, str]:
    """controller name ("" for the v2 hierarchy) -> our cgroup path."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(","):
                found[name] = path
    return found


class CgroupLimits:
    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs

    @classmethod
    def create(
        cls, sandbox_id: str, *, vcpus: int | None, memory_gb: int | None
    ) -> tuple[CgroupLimits | None, str | None]:
        """The sandbox's cgroups, or (None, warning) when limits asked for cannot be applied."""
        if not vcpus and not memory_gb:
            return None, None
        name = f"pocketenv-{sandbox_id}"
        try:
            if (CGROUP_ROOT / "cgroup.controllers").exists():
                dirs = cls._make_v2(name, vcpus, memory_gb)
            else:
                dirs = cls._make_v1(name, vcpus, memory_gb)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            return None, f"vcpus/memory are recorded but not enforced: cgroups unavailable ({reason})"
        return cls(dirs), None

    @staticmethod
    def _make_v2(name: str, vcpus: int | None, memory_gb: int | None) -> list[Path]:
        parent = CGROUP_ROOT / _own_cgroups().get("", "/").lstrip("/")
        wanted = {"memory"} if memory_gb else set()
        wanted |= {"cpu"} if vcpus else set()
        available = set((parent / "cgroup.subtree_control").read_text().split())
        if not wanted <= available:
            (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted - available))
        group = parent / name
        group.mkdir(exist_ok=True)
        if memory_gb:
            (group / "memory.max").write_text(str(memory_gb * 1024**3))
        if vcpus:
            (group / "cpu.max").write_text(f"{vcpus * CPU_PERIOD_US} {CPU_PERIOD_US}")
        return [group]

    @staticmethod
    def _make_v1(name: str, vcpus: int | None, memory_gb: int | None) -> list[Path]:
        own = _own_cgroups()
        dirs: list[Path] = []
        try:
            if memory_gb:
                group = CGROUP_ROOT / "memory" / own.get("memory", "/").lstrip("/") / name
                group.mkdir(exist_ok=True)
                dirs.append(group)
                (group / "memory.limit_in_bytes").write_text(str(memory_gb * 1024**3))
            if vcpus:
                group = CGROUP_ROOT / "cpu" / own.get("cpu", "/").lstrip("/") / name
                group.mkdir(exist_ok=True)
                dirs.append(group)
                (group / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(vcpus * CPU_PERIOD_US))
        except OSError:
            for group in dirs:
                with contextlib.suppress(OSError):
                    group.rmdir()
            raise
        return dirs

    def add_pid(self, pid: int) -> None:
        for group in self.dirs:
            with contextlib.suppress(OSError):
                (group / "cgroup.procs").write_text(str(pid))

    def wrap(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        procs = " ".join(str(group / "cgroup.procs") for group in self.dirs)
        return ["/bin/sh", "-c", JOIN_SCRIPT, "sh", *argv], {**env, PROCS_ENV: procs}

    def remove(self) -> None:
        for group in self.dirs:
            with contextlib.suppress(OSError):
                os.rmdir(group)
