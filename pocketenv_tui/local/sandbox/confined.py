"""Symlink-free path resolution beneath a sandbox's root, for the few steps done from outside.

Almost everything the server does to a sandbox's files happens inside the sandbox (see
``files.py``). What cannot: before a sandbox starts, bwrap needs the directories its volumes
are mounted on. At that moment nothing of the sandbox runs (a start first makes sure the
sandbox's previous processes are all gone), so what is checked cannot change before it is
used; still, the walk never follows a symlink the sandbox left behind. Each step opens one
component relative to the directory fd of the step before with ``openat2`` and
``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`` (Linux 5.6+), or, where
that is missing, ``O_NOFOLLOW | O_DIRECTORY`` one component at a time.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform

SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437, "arm64": 437}.get(platform.machine(), 437)
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _syscall = _libc.syscall
    _syscall.restype = ctypes.c_long
except (OSError, AttributeError):  # pragma: no cover - every Linux libc has syscall()
    _syscall = None
_openat2_works: bool | None = None


def openat2(dir_fd: int, path: str, flags: int) -> int:
    """``openat2(dir_fd, path, flags, RESOLVE_BENEATH|NO_SYMLINKS|NO_MAGICLINKS)``."""
    global _openat2_works
    if _syscall is not None and _openat2_works is not False:
        how = _OpenHow(flags | os.O_CLOEXEC, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
        fd = _syscall(
            ctypes.c_long(SYS_OPENAT2), ctypes.c_int(dir_fd), ctypes.c_char_p(os.fsencode(path)),
            ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)),
        )
        if fd >= 0:
            _openat2_works = True
            return fd
        err = ctypes.get_errno()
        if err != errno.ENOSYS:
            _openat2_works = True
            raise OSError(err, os.strerror(err), path)
        _openat2_works = False
    return _walk_nofollow(dir_fd, path, flags)


def _walk_nofollow(dir_fd: int, path: str, flags: int) -> int:
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise OSError(errno.EXDEV, "path leaves its root", path)
    current = os.dup(dir_fd)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            step_flags = (flags if last else os.O_PATH | os.O_DIRECTORY) | os.O_NOFOLLOW | os.O_CLOEXEC
            nxt = os.open(part, step_flags, dir_fd=current)
            os.close(current)
            current = nxt
        return current
    except BaseException:
        os.close(current)
        raise


def ensure_directories(root: str | os.PathLike[str], relative: str, uid: int | None) -> None:
    """Make ``root/relative`` (and the directories above it) without following any symlink.

    Raises OSError (ELOOP, ENOTDIR, EXDEV...) when a component is a symlink or not a
    directory. New directories are owned by ``uid`` when given (the server is root then).
    """
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        current = os.dup(root_fd)
        built = ""
        try:
            for part in [p for p in relative.split("/") if p not in ("", ".")]:
                if part == "..":
                    raise OSError(errno.EXDEV, "path leaves its root", relative)
                built = f"{built}/{part}" if built else part
                try:
                    os.mkdir(part, 0o755, dir_fd=current)
                    if uid is not None:
                        os.chown(part, uid, uid, dir_fd=current, follow_symlinks=False)
                except FileExistsError:
                    pass
                nxt = openat2(root_fd, built, os.O_PATH | os.O_DIRECTORY)
                os.close(current)
                current = nxt
        finally:
            os.close(current)
    finally:
        os.close(root_fd)
