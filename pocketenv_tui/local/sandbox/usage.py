"""What a running sandbox uses now (CPU, memory, disk, processes), and when it hit a limit.

Everything here is a handful of small reads of the sandbox's cgroup files and one
``statvfs`` of its disk image's filesystem, cheap enough to run on every dashboard poll and,
for the limit counters, every couple of seconds for every sandbox. Nothing walks a tree.

=============  ====================================  =====================================
figure         cgroup v2                             cgroup v1
=============  ====================================  =====================================
CPU time       ``cpu.stat`` ``usage_usec``           ``cpuacct.usage`` (nanoseconds)
CPU limit      ``cpu.max``                           ``cpu.cfs_quota_us`` / ``_period_us``
memory         ``memory.current`` / ``memory.max``   ``memory.usage_in_bytes`` /
                                                     ``memory.limit_in_bytes``
processes      ``pids.current`` / ``pids.max``       the same
OOM kills      ``memory.events`` ``oom_kill``        ``memory.oom_control`` ``oom_kill``
forks refused  ``pids.events`` ``max``               the same
=============  ====================================  =====================================

A figure the machine cannot tell (no such cgroup, no image) is None, never a guess. CPU is
a percent of *one* CPU over the time since the previous sample of that sandbox (since its
start for the first), so a sandbox keeping two CPUs busy reads 200.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pocketenv_tui.local.sandbox.disk import SandboxDisk
from pocketenv_tui.local.sandbox.limits import MIB, CgroupLimits, Limits

# A v1 "no limit" is the largest page-aligned 64-bit number; anything this large is none.
NO_LIMIT = 2**60
# Two polls closer than this would give a jumpy percent: the later one is measured against
# the same earlier sample, which stays the base for the next poll.
MIN_CPU_WINDOW = 0.5


def _read(dirs: list[Path], *names: str) -> str | None:
    """The text of the first of ``names`` that one of the cgroup ``dirs`` has."""
    for name in names:
        for group in dirs:
            with contextlib.suppress(OSError):
                return (group / name).read_text()
    return None


def _number(text: str | None) -> int | None:
    """A cgroup number; None for ``max``, a v1 "unlimited" or anything unreadable."""
    if text is None:
        return None
    try:
        value = int(text.split()[0])
    except (ValueError, IndexError):
        return None
    return value if 0 <= value < NO_LIMIT else None


def _keyed(text: str | None, key: str) -> int | None:
    """``key``'s value in a flat-keyed cgroup file (``oom_kill 3``)."""
    for line in (text or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return _number(value)
    return None


def cpu_usage_usec(cgroups: CgroupLimits) -> int | None:
    """CPU time the sandbox's processes used so far, in microseconds."""
    usec = _keyed(_read(cgroups.dirs, "cpu.stat"), "usage_usec")
    if usec is not None:
        return usec
    nsec = _number(_read(cgroups.dirs, "cpuacct.usage"))
    return None if nsec is None else nsec // 1000


def cpu_limit_percent(cgroups: CgroupLimits) -> float | None:
    """The CPU quota as a percent of one CPU (vcpus x 100); None when there is none."""
    quota_period = _read(cgroups.dirs, "cpu.max")
    if quota_period is not None:
        parts = quota_period.split()
        quota, period = (_number(parts[0]), _number(parts[1])) if len(parts) == 2 else (None, None)
    else:
        quota = _number(_read(cgroups.dirs, "cpu.cfs_quota_us"))  # -1 (none) reads as None
        period = _number(_read(cgroups.dirs, "cpu.cfs_period_us"))
    if not quota or not period:
        return None
    return round(quota * 100 / period, 1)


def limit_counters(cgroups: CgroupLimits) -> dict[str, int]:
    """How often the sandbox hit its limits so far: ``oom_kill`` and ``pids_limit``."""
    counters = {
        "oom_kill": _keyed(_read(cgroups.dirs, "memory.events", "memory.oom_control"), "oom_kill"),
        "pids_limit": _keyed(_read(cgroups.dirs, "pids.events"), "max"),
    }
    return {kind: count for kind, count in counters.items() if count is not None}


def disk_figures(disk: SandboxDisk) -> tuple[int | None, int | None]:
    """(used, size) in bytes of the sandbox's disk image filesystem; (None, None) without one."""
    if not disk.quota:
        return None, None
    try:
        stats = os.statvfs(disk.base)
    except OSError:
        return None, None
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize, stats.f_blocks * stats.f_frsize


def limit_hit_message(kind: str, count: int, limits: Limits) -> str:
    """The event log's sentence for ``count`` more hits of a limit (``limit_counters``' kinds)."""
    if kind == "oom_kill":
        return f"{count} process(es) killed for using more than the sandbox's {limits.memory_bytes // MIB} MiB of memory."
    return f"{count} process start(s) refused at the sandbox's limit of {limits.pids} processes."


@dataclass(frozen=True)
class CpuSample:
    at: float  # time.monotonic()
    usage_usec: int


@dataclass(frozen=True)
class Usage:
    sandbox_id: str
    cpu_percent: float | None
    cpu_limit_percent: float | None
    memory_bytes: int | None
    memory_limit_bytes: int | None
    disk_bytes: int | None
    disk_limit_bytes: int | None
    pids: int | None
    pids_limit: int | None
    sampled_at: datetime

    def view(self) -> dict[str, Any]:
        """The API's ``Usage`` object."""
        return {
            "sandboxId": self.sandbox_id,
            "cpuPercent": self.cpu_percent,
            "cpuLimitPercent": self.cpu_limit_percent,
            "memoryBytes": self.memory_bytes,
            "memoryLimitBytes": self.memory_limit_bytes,
            "diskBytes": self.disk_bytes,
            "diskLimitBytes": self.disk_limit_bytes,
            "pids": self.pids,
            "pidsLimit": self.pids_limit,
            # As JavaScript's toISOString writes it, like every time the API sends.
            "sampledAt": self.sampled_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }


class UsageMeter:
    """What the runtime remembers between two looks at a sandbox: the last CPU sample (for
    the next percent) and the last limit counters (to tell when they grew)."""

    def __init__(self) -> None:
        self._cpu: dict[str, CpuSample] = {}
        self._counters: dict[str, dict[str, int]] = {}

    def begin(self, sandbox_id: str, cgroups: CgroupLimits | None) -> None:
        """The sandbox has just started: measure from here (its cgroups may be reused ones
        left by a server that crashed, so their counters are not taken to start at 0)."""
        self.forget(sandbox_id)
        if cgroups is None:
            return
        usec = cpu_usage_usec(cgroups)
        if usec is not None:
            self._cpu[sandbox_id] = CpuSample(time.monotonic(), usec)
        self._counters[sandbox_id] = limit_counters(cgroups)

    def forget(self, sandbox_id: str) -> None:
        self._cpu.pop(sandbox_id, None)
        self._counters.pop(sandbox_id, None)

    def sample(self, sandbox_id: str, cgroups: CgroupLimits | None, disk: SandboxDisk) -> Usage:
        dirs = cgroups.dirs if cgroups is not None else []
        disk_used, disk_size = disk_figures(disk)
        return Usage(
            sandbox_id=sandbox_id,
            cpu_percent=self._cpu_percent(sandbox_id, cgroups),
            cpu_limit_percent=cpu_limit_percent(cgroups) if cgroups is not None else None,
            memory_bytes=_number(_read(dirs, "memory.current", "memory.usage_in_bytes")),
            memory_limit_bytes=_number(_read(dirs, "memory.max", "memory.limit_in_bytes")),
            disk_bytes=disk_used,
            disk_limit_bytes=disk_size,
            pids=_number(_read(dirs, "pids.current")),
            pids_limit=_number(_read(dirs, "pids.max")),
            sampled_at=datetime.now(UTC),
        )

    def _cpu_percent(self, sandbox_id: str, cgroups: CgroupLimits | None) -> float | None:
        usec = cpu_usage_usec(cgroups) if cgroups is not None else None
        if usec is None:
            return None
        now = CpuSample(time.monotonic(), usec)
        previous = self._cpu.get(sandbox_id)
        if previous is None or now.at - previous.at >= MIN_CPU_WINDOW:
            self._cpu[sandbox_id] = now
        if previous is None or now.at <= previous.at:
            return None
        percent = max(0, now.usage_usec - previous.usage_usec) / ((now.at - previous.at) * 1e6) * 100
        return round(percent, 1) if math.isfinite(percent) else None

    def limit_hits(self, sandbox_id: str, cgroups: CgroupLimits | None) -> dict[str, int]:
        """How many more times each limit was hit since the last look: ``{kind: count}``."""
        if cgroups is None:
            return {}
        current = limit_counters(cgroups)
        previous = self._counters.get(sandbox_id, {})
        self._counters[sandbox_id] = current
        return {kind: count - previous.get(kind, 0) for kind, count in current.items() if count > previous.get(kind, 0)}
