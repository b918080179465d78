"""Bubblewrap isolation: detecting it, the sandbox's mount layout, and entering a sandbox.

A running sandbox under bwrap is one long-lived ``bwrap`` whose child is PID 1 of a new PID,
IPC and UTS namespace (and a new mount namespace, which bwrap always makes). Everything else
that runs "in" the sandbox (exec, services, shells) joins those namespaces with ``nsenter``
and then drops every capability with ``setpriv``, so it is root by uid but cannot mount,
trace or create devices. Killing PID 1 makes the kernel kill every process of the namespace.

Layout inside the sandbox (host paths are under ``<data dir>/sandboxes/<id>/``):

====================  =====================================  =========
inside                from the host                          access
====================  =====================================  =========
/usr, /bin, /sbin,    the host's (symlinks kept as symlinks)  read-only
/lib, /lib64 ...
/etc                  the host's, with /etc/shadow, gshadow   read-only
                      and the SSH host keys masked
/home/sandbox         ``home/`` (HOME, the working dir)      read-write
/tmp                  ``tmp/``                               read-write
/<name>               ``fs/<name>/`` for each entry of fs/   read-write
                      (files pushed to /workspace, /root..)
volume mount paths    ``<data dir>/volumes/<volume id>/``    as asked
/proc, /dev           fresh ones for the namespace
====================  =====================================  =========

Nothing else of the host is there: not /root, not /home, not the data dir (token, keys,
state.db). The network namespace is shared on purpose, so a server listening on
127.0.0.1:<port> inside is reachable from the host for previews.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
from pathlib import Path

HOME_INSIDE = "/home/sandbox"
TMP_INSIDE = "/tmp"

# Host directories shared read-only with every sandbox, when they exist on the host.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Files under /etc that hold host secrets and are replaced by an empty file inside.
MASKED_ETC_GLOBS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssh/ssh_host_*_key")
# Top-level names a sandbox cannot use for its own writable directories.
RESERVED_TOP_LEVEL = frozenset(
    {"", "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "sys", "run", "tmp", "home"}
)

ENTER_TOOLS = ("bwrap", "nsenter", "setpriv")


@functools.cache
def bwrap_usable() -> bool:
    """True when bwrap can make the namespaces we need here (and nsenter/setpriv exist)."""
    if not all(shutil.which(tool) for tool in ENTER_TOOLS):
        return False
    argv = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "probe"]
    argv += _system_args() + ["--proc", "/proc", "--dev", "/dev", "--", "true"]
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def _system_args() -> list[str]:
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _masked_etc_args() -> list[str]:
    args: list[str] = []
    for pattern in MASKED_ETC_GLOBS:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                args += ["--ro-bind", "/dev/null", path]
    return args


def init_argv(
    *,
    hostname: str,
    home: Path,
    tmp: Path,
    fs_root: Path,
    volumes: list[tuple[Path, str, bool]],
    info_fd: int,
) -> list[str]:
    """The bwrap command line of a sandbox's PID 1 (it just sleeps; others join it)."""
    argv = [
        "bwrap",
        "--die-with-parent",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--hostname",
        hostname,
        "--cap-drop",
        "ALL",
        "--info-fd",
        str(info_fd),
    ]
    argv += _system_args()
    argv += ["--ro-bind", "/etc", "/etc", *_masked_etc_args()]
    argv += ["--proc", "/proc", "--dev", "/dev", "--dir", "/var/tmp"]
    argv += ["--bind", str(home), HOME_INSIDE, "--bind", str(tmp), TMP_INSIDE]
    for entry in sorted(fs_root.iterdir()) if fs_root.is_dir() else []:
        if entry.is_dir() and not entry.is_symlink() and entry.name not in RESERVED_TOP_LEVEL:
            argv += ["--bind", str(entry), "/" + entry.name]
    for host_dir, mount_path, read_only in volumes:
        argv += ["--ro-bind" if read_only else "--bind", str(host_dir), mount_path]
    argv += ["--chdir", HOME_INSIDE, "--", "sleep", "infinity"]
    return argv


def enter_prefix(init_pid: int) -> list[str]:
    """Argv prefix that runs a command inside the sandbox whose PID 1 is ``init_pid``.

    ``-r``/``-w`` take the root and working directory of that PID 1 (its /home/sandbox), and
    setpriv empties the capability bounding set so the command is a powerless root.
    """
    return [
        "nsenter", "-t", str(init_pid), "-m", "-u", "-i", "-p", "-r", "-w", "--",
        "setpriv", "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--",
    ]  # fmt: skip
