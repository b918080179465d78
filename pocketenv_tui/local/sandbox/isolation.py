"""What a local sandbox is made of: its bwrap command line and mount layout.

A running sandbox is one ``bwrap`` whose command, the agent (``inside/pocketenv_agent.py``),
is PID 1 of new user, PID, IPC, UTS, network, mount and (where the kernel has them) cgroup
namespaces. When the server is root, bwrap is started as the sandbox's own unprivileged host
uid/gid (``setpriv``), and the user namespace maps only that uid to root inside: the prompt
says ``root@<name>``, but outside the namespace the sandbox owns nothing but its own files.
bwrap loads the seccomp filter and sets ``no_new_privs``; nested user namespaces are
disabled; the capability bounding set is empty.

Layout inside (``rootfs`` is on the sandbox's disk, see ``disk.py``):

====================  ============================================  =========
inside                from the host                                 access
====================  ============================================  =========
/                     a tmpfs made by bwrap, read-only once built   read-only
/usr, /bin, /sbin,    the host's (symlinks kept as symlinks)        read-only
/lib, /lib64 ...
/etc                  the host's, with /etc/shadow, gshadow and     read-only
                      the SSH host keys masked; resolv.conf
                      pointing at slirp4netns' DNS
/home, /root, /tmp,   ``rootfs/<name>``: the sandbox's own files,   read-write
/var, /opt, /srv,     one directory per top-level name (HOME is
/mnt, /workspace ...  /home/sandbox, the working directory)
volume mount paths    ``volumes/<volume id>/`` on the same disk     as asked
/proc                 a new procfs of the sandbox's PID namespace   /proc/sys
                      (bwrap covers /proc/sys and sysrq-trigger)    read-only
/sys                  absent
/dev                  a minimal /dev (null, zero, random, tty, pts) read-write
/.pocketenv           the agent's code                              read-only
the interpreter       the server's Python installation, so the      read-only
                      agent runs on the interpreter it was tested
                      with (omitted when that is under /usr)
====================  ============================================  =========

Nothing else of the host is there: not the host's /root or /home, not /sys, not the data dir
(token, keys, state.db). The top-level names are the server's to make (the sandbox never sees
``rootfs/`` itself, and its / is read-only): the standard ones when the disk is new, and the
one a file record or volume asks for at the next start.
"""

from __future__ import annotations

import functools
import glob
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

HOME_INSIDE = "/home/sandbox"
TMP_INSIDE = "/tmp"
INSIDE_CODE = "/.pocketenv"
INSIDE_DIR = Path(__file__).with_name("inside")

# Host directories shared read-only with every sandbox, when they exist on the host.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Files under /etc that hold host secrets and are replaced by an empty file inside.
MASKED_ETC_GLOBS = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssh/ssh_host_*_key")
# Top-level names inside that are the system's, never a sandbox's own files or volumes.
SYSTEM_TOP_LEVEL = frozenset(
    {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "sys", "run", "boot", ".pocketenv"}
)

_AGENT_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); import pocketenv_agent; pocketenv_agent.main()"
_TOOLS_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); import pocketenv_tools; sys.exit(pocketenv_tools.main(sys.argv[2:]))"
)


def interpreter() -> tuple[str, str | None]:
    """(the Python executable to run the agent with, its installation prefix or None).

    The prefix is None when the interpreter already lives under the shared system dirs.
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [os.path.join(sys.base_prefix, "bin", version), os.path.realpath(sys.executable)]
    executable = next((c for c in candidates if os.path.isfile(c) and os.access(c, os.X_OK)), sys.executable)
    prefix = os.path.realpath(sys.base_prefix)
    if any(prefix == d or prefix.startswith(d + "/") for d in SYSTEM_DIRS):
        return executable, None
    return executable, prefix


def agent_argv(python: str, inside_dir: str) -> list[str]:
    return [python, "-I", "-S", "-B", "-c", _AGENT_BOOT, inside_dir]


def tools_argv(python: str, inside_dir: str, *args: str) -> list[str]:
    return [python, "-I", "-S", "-B", "-c", _TOOLS_BOOT, inside_dir, *args]


@functools.cache
def _system_args() -> tuple[str, ...]:
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return tuple(args)


def system_args() -> list[str]:
    """Binds of the host's system directories (the host's layout, read once per process)."""
    return list(_system_args())


def masked_etc_args() -> list[str]:
    # Looked for at every start (not cached): a host key made after the server started must
    # be masked too.
    args: list[str] = []
    for pattern in MASKED_ETC_GLOBS:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                args += ["--ro-bind", "/dev/null", path]
    return args


@dataclass
class BwrapCommand:
    """A bwrap command line and the fds it refers to (passed to the child, closed after)."""

    argv: list[str] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)

    def fd(self, fd: int) -> str:
        self.fds.append(fd)
        return str(fd)

    def close_fds(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds.clear()


def bwrap_command(
    *,
    hostname: str,
    rootfs: Path,
    top_level: list[str],
    volumes: list[tuple[Path, str, bool]],
    info_fd: int,
    seccomp_fd: int | None,
    resolv_conf_fd: int | None,
    agent_fd: int,
    host_uid: int | None,
    code_dir: Path,
    python: str,
    python_source: Path | None,
    python_prefix: str | None,
    share_net: bool = False,
) -> BwrapCommand:
    """The whole command that starts a sandbox (see the module docs for the layout).

    Source paths must be readable by ``host_uid`` (see ``exports.py``); destinations are
    fixed here or were checked to hold no symlink (``confined.py``).
    """
    cmd = BwrapCommand()
    argv = cmd.argv
    if host_uid is not None:
        argv += [
            "setpriv", f"--reuid={host_uid}", f"--regid={host_uid}", "--clear-groups",
            "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--",
        ]  # fmt: skip
    argv += [
        "bwrap", "--unshare-user", "--uid", "0", "--gid", "0", "--disable-userns",
        "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", hostname, "--die-with-parent", "--as-pid-1",
        "--info-fd", cmd.fd(info_fd),
    ]  # fmt: skip
    if not share_net:
        argv.append("--unshare-net")
    argv += system_args()
    argv += ["--ro-bind", "/etc", "/etc", *masked_etc_args()]
    if resolv_conf_fd is not None:
        argv += ["--ro-bind-data", cmd.fd(resolv_conf_fd), "/etc/resolv.conf"]
    # bwrap covers /proc/sys, /proc/sysrq-trigger, /proc/irq and /proc/bus of the new procfs
    # with read-only binds of themselves; the user namespace makes writes fail even below.
    argv += ["--proc", "/proc", "--dev", "/dev"]
    for name in top_level:
        argv += ["--bind", str(rootfs / name), "/" + name]
    if python_source is not None and python_prefix is not None:
        argv += ["--ro-bind", str(python_source), python_prefix]
    argv += ["--ro-bind", str(code_dir), INSIDE_CODE]
    for source, mount_path, read_only in sorted(volumes, key=lambda v: v[1].count("/")):
        argv += ["--ro-bind" if read_only else "--bind", str(source), mount_path]
    argv += ["--remount-ro", "/"]
    if seccomp_fd is not None:
        argv += ["--seccomp", cmd.fd(seccomp_fd)]
    argv += ["--chdir", HOME_INSIDE, "--", *agent_argv(python, INSIDE_CODE)]
    cmd.fds.append(agent_fd)
    return cmd


def is_system_path(path: str) -> bool:
    """Whether an absolute path inside a sandbox is ``/`` or part of the shared system."""
    parts = [p for p in path.split("/") if p]
    return not parts or parts[0] in SYSTEM_TOP_LEVEL
