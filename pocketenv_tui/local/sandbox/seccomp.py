"""The seccomp filter every local sandbox runs under.

Built with libseccomp (through ``pyseccomp``, a ctypes binding with libseccomp's own Python
API), exported as BPF once per server, and handed to bwrap's ``--seccomp FD``: bwrap loads
it (with ``no_new_privs``) right before it executes the sandbox's first process, and every
process of the sandbox inherits it. Everything is allowed except the calls below, which fail
with EPERM. The list follows what container runtimes deny by default (Docker's and Podman's
default profiles): calls that reach kernel state no namespace isolates, or that are
frequent entry points of kernel exploits. A sandbox is root only inside its own user
namespace and holds no capabilities, so many of these would fail anyway; the filter makes
that hold even if a capability check has a bug.

The filter also covers the 32-bit ABIs of the machine (i386 and x32 on x86-64), so a 32-bit
binary cannot use another system-call table to get around it.
"""

from __future__ import annotations

import errno
import functools
import os
import platform
import tempfile

# name -> why it is denied (the README's threat model lists these too)
DENIED_SYSCALLS: dict[str, str] = {
    "keyctl": "kernel keyrings are not namespaced",
    "add_key": "kernel keyrings are not namespaced",
    "request_key": "kernel keyrings are not namespaced",
    "bpf": "eBPF programs run in the kernel",
    "perf_event_open": "performance counters expose the host and have a long bug history",
    "userfaultfd": "used to widen race windows in kernel exploits",
    "io_uring_setup": "io_uring bypasses this filter for the calls it carries and is a frequent exploit target",
    "io_uring_enter": "see io_uring_setup",
    "io_uring_register": "see io_uring_setup",
    "kexec_load": "loads a new kernel",
    "kexec_file_load": "loads a new kernel",
    "reboot": "reboots the machine",
    "init_module": "loads kernel modules",
    "finit_module": "loads kernel modules",
    "delete_module": "unloads kernel modules",
    "open_by_handle_at": "opens files by handle, around the mount namespace (the 'shocker' escape)",
    "name_to_handle_at": "the other half of open_by_handle_at",
    "mount": "changes the mount table",
    "umount2": "changes the mount table",
    "pivot_root": "changes the mount table",
    "move_mount": "changes the mount table (new mount API)",
    "open_tree": "changes the mount table (new mount API)",
    "fsopen": "changes the mount table (new mount API)",
    "fsconfig": "changes the mount table (new mount API)",
    "fsmount": "changes the mount table (new mount API)",
    "fspick": "changes the mount table (new mount API)",
    "mount_setattr": "changes the mount table (new mount API)",
    "setns": "joins other namespaces",
    "unshare": "makes new namespaces",
    "swapon": "changes the host's swap",
    "swapoff": "changes the host's swap",
    "acct": "process accounting is host-wide",
    "quotactl": "filesystem quotas are host-wide",
    "quotactl_fd": "filesystem quotas are host-wide",
    "syslog": "reads the kernel log",
    "settimeofday": "sets the host's clock",
    "clock_settime": "sets the host's clock",
    "clock_adjtime": "sets the host's clock",
    "adjtimex": "sets the host's clock",
    "iopl": "raw I/O port access",
    "ioperm": "raw I/O port access",
    "lookup_dcookie": "kernel profiling",
    "nfsservctl": "kernel NFS server",
    "uselib": "obsolete, old exploit target",
    "ustat": "obsolete",
    "sysfs": "obsolete",
    "_sysctl": "obsolete way to change kernel settings",
    "vm86": "obsolete, old exploit target",
    "vm86old": "obsolete, old exploit target",
    "get_mempolicy": "NUMA policy of the host",
    "set_mempolicy": "NUMA policy of the host",
    "mbind": "NUMA policy of the host",
    "move_pages": "NUMA policy of the host",
    "migrate_pages": "NUMA policy of the host",
    "kcmp": "compares kernel objects of other processes",
    "process_vm_readv": "reads other processes' memory without ptrace's checks on attach",
    "process_vm_writev": "writes other processes' memory without ptrace's checks on attach",
}


class SeccompUnavailable(Exception):
    """The filter cannot be built here; ``str()`` says why."""


@functools.cache
def filter_bytes() -> bytes:
    """The BPF program (built once per process)."""
    try:
        import pyseccomp as sc
    except (ImportError, RuntimeError, OSError) as exc:
        raise SeccompUnavailable(f"libseccomp is not usable ({exc}); install libseccomp2 and pyseccomp") from None
    flt = sc.SyscallFilter(defaction=sc.ALLOW)
    if platform.machine() == "x86_64":
        for arch in (sc.Arch.X86, sc.Arch.X32):
            try:
                flt.add_arch(arch)
            except OSError:
                pass
    for name in DENIED_SYSCALLS:
        try:
            flt.add_rule(sc.ERRNO(errno.EPERM), name)
        except (OSError, ValueError, RuntimeError):
            continue  # a call this architecture does not have
    with tempfile.TemporaryFile() as out:
        flt.export_bpf(out)
        out.seek(0)
        return out.read()


def filter_fd() -> int:
    """A fresh fd positioned at the start of the filter (bwrap reads it to the end)."""
    data = filter_bytes()
    fd = os.memfd_create("pocketenv-seccomp", os.MFD_CLOEXEC)
    try:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd
