"""What this machine lets the local backend use to confine a sandbox, found out once.

Each protection a sandbox can have is named here; a sandbox record lists the ones in force
(``protections``) and, for each one that is not, why (``missingProtections``). ``serve``
prints the missing ones once when it starts, and ``serve --strict`` refuses to start a
sandbox while any is missing.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass, field

from pocketenv_tui.local.sandbox import isolation as iso
from pocketenv_tui.local.sandbox.disk import image_quota_possible
from pocketenv_tui.local.sandbox.limits import CGROUP_ROOT, PROTECTION_OF, v2_available
from pocketenv_tui.local.sandbox.network import slirp_missing
from pocketenv_tui.local.sandbox.seccomp import SeccompUnavailable, filter_bytes

# name -> what it means (shown by the sandbox screen and the README's threat model)
PROTECTIONS: dict[str, str] = {
    "namespaces": "own mount, PID, IPC, UTS and user namespaces (bubblewrap); /sys absent, /proc/sys read-only",
    "hostUid": "runs as its own unprivileged host uid, never the server's",
    "seccomp": "the default seccomp filter of container runtimes",
    "network": "own network namespace: the host's loopback and other sandboxes unreachable",
    "outboundNetwork": "outbound connections through slirp4netns",
    "pidsLimit": "a limit on processes",
    "memoryLimit": "a limit on memory",
    "cpuLimit": "a limit on CPU time",
    "diskQuota": "a disk quota (writes past it fail with ENOSPC)",
}

ENTER_TOOLS = ("bwrap", "setpriv")


@functools.cache
def bwrap_problem() -> str | None:
    """None when bwrap can make every namespace we use here, else why not."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian package bubblewrap)"
    if shutil.which("setpriv") is None:
        return "setpriv is not installed (Debian package util-linux)"
    argv = []
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    argv += [
        "bwrap", "--unshare-user", "--disable-userns", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-net", "--as-pid-1", *iso.system_args(), "--proc", "/proc", "--dev", "/dev", "--", "/usr/bin/env", "true",
    ]  # fmt: skip
    try:
        result = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=10, cwd="/",
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin:" + os.environ.get("PATH", "")},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap cannot run: {exc}"
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or f"exit code {result.returncode}"
        return f"bwrap cannot make the namespaces a sandbox needs: {message}"
    return None


def bwrap_usable() -> bool:
    return bwrap_problem() is None


def _cgroup_problems() -> dict[str, str]:
    """controller -> why it cannot be used (empty when all can)."""
    problems: dict[str, str] = {}
    if v2_available():
        try:
            available = set((CGROUP_ROOT / "cgroup.controllers").read_text().split())
        except OSError as exc:
            return {c: f"cgroups unreadable ({exc.strerror})" for c in ("pids", "memory", "cpu")}
        for controller in ("pids", "memory", "cpu"):
            if controller not in available:
                problems[controller] = f"the {controller} cgroup controller is not available"
        if not os.access(CGROUP_ROOT, os.W_OK):
            for controller in ("pids", "memory", "cpu"):
                problems.setdefault(controller, "the cgroup tree is not writable by the server")
        return problems
    for controller in ("pids", "memory", "cpu"):
        hierarchy = CGROUP_ROOT / controller
        if not (hierarchy / "cgroup.procs").exists():
            problems[controller] = f"no {controller} cgroup hierarchy on this machine"
        elif not os.access(hierarchy, os.W_OK):
            problems[controller] = f"the {controller} cgroup hierarchy is not writable by the server"
    return problems


@dataclass(frozen=True)
class Facilities:
    isolation: str  # "bwrap" or "none"
    missing: dict[str, str] = field(default_factory=dict)  # protection -> why it is off

    @property
    def protections(self) -> list[str]:
        return [name for name in PROTECTIONS if name not in self.missing]

    def missing_lines(self) -> list[str]:
        return [f"{name}: {why}" for name, why in self.missing.items()]


def probe(isolation: str) -> Facilities:
    missing: dict[str, str] = {}
    if isolation == "none":
        why = bwrap_problem() or "isolation 'none' was asked for"
        for name in ("namespaces", "seccomp", "network", "outboundNetwork"):
            missing[name] = why if name != "outboundNetwork" else "no network namespace: it uses the host's network"
        missing["network"] = f"{why}: the sandbox shares the host's network"
    else:
        try:
            filter_bytes()
        except SeccompUnavailable as exc:
            missing["seccomp"] = str(exc)
        if (why := slirp_missing()) is not None:
            missing["outboundNetwork"] = f"{why}; the sandbox has a loopback only"
    if os.geteuid() != 0:
        missing["hostUid"] = (
            "the server is not root, so sandboxes run as its uid outside their user namespace"
        )
    elif shutil.which("setpriv") is None:
        missing["hostUid"] = "setpriv is not installed (Debian package util-linux)"
    for controller, why in _cgroup_problems().items():
        missing[PROTECTION_OF[controller]] = why
    if (why := image_quota_possible()) is not None:
        missing["diskQuota"] = why
    ordered = {name: missing[name] for name in PROTECTIONS if name in missing}
    return Facilities(isolation, ordered)
