"""File work the server needs done in a sandbox, run *inside* it as the sandbox's own user.

Standard library only: this runs under the sandbox's interpreter view, without pocketenv_tui.
The agent starts it like any other command, so it has exactly the sandbox's rights: a path
the sandbox planted (a symlink in ``~/.ssh``, a directory swapped for a link between two
steps) can only ever lead to something the sandbox could already write or read itself. On
top of that it refuses to follow a symlink in the last component of a file it writes, and
unpacking keeps every member beneath its target.

Commands (``argv[1:]``), reporting failures on stderr with exit code 1 (2 for bad usage):

``write-files``        stdin: JSON ``[{"path", "data" (base64), "mode", "dir_mode"}]``;
                       writes each one atomically (temp file + rename). Failures are
                       reported per file on stdout as JSON lines and do not stop the rest.
``remove-files``       stdin: JSON ``[{"path", "sha256", "size"}]``; removes each path that is
                       still a regular file (not a link) with exactly that content, and
                       leaves anything else alone: a file the sandbox changed is its own.
                       Each path left in place is reported on stdout as a JSON line.
``pack DIR``           a tar.gz of DIR's contents on stdout (symlinks stored as links).
``unpack DIR [--replace]``  a tar.gz on stdin unpacked into DIR, which is created if
                       missing; with ``--replace`` DIR's old contents go first. The archive
                       is checked whole (into a scratch directory) before DIR is touched.
``is-dir PATH``        exit 0 when PATH is a directory (not a link to one), else 1.

With ``POCKETENV_ROOT`` set (isolation "none", where there is no mount namespace) every
path is taken relative to that directory instead of ``/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
import sys
import tarfile
import tempfile

ROOT_ENV = "POCKETENV_ROOT"


class ToolError(Exception):
    pass


def resolve(path: str) -> str:
    """The real location of a sandbox path (the same path, except under isolation "none")."""
    if not path.startswith("/"):
        path = os.path.join(os.environ.get("HOME", "/"), path)
    root = os.environ.get(ROOT_ENV)
    if root:
        relative = os.path.normpath(path).lstrip("/")
        return os.path.join(root, relative) if relative not in ("", ".") else root
    return os.path.normpath(path)


def write_file(path: str, data: bytes, mode: int, dir_mode: int | None) -> None:
    target = resolve(path)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    if dir_mode is not None:
        os.chmod(parent, dir_mode)
    if os.path.isdir(target) and not os.path.islink(target):
        raise ToolError(f"{path} is a directory")
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".pocketenv-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        # rename() replaces a planted symlink itself instead of writing through it.
        os.rename(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_files(entries: list[dict]) -> int:
    for entry in entries:
        path = str(entry.get("path"))
        try:
            write_file(path, base64.b64decode(entry.get("data", "")), int(entry.get("mode", 0o644)), entry.get("dir_mode"))
        except (OSError, ToolError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(json.dumps({"path": path, "error": reason}), flush=True)
    return 0


def remove_if_unchanged(path: str, sha256: str, size: int) -> str | None:
    """Why ``path`` was left in place, or None once it is removed (or already gone)."""
    target = resolve(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return "it is no longer a regular file"
    if info.st_size != size:
        return "it was changed in the sandbox"
    digest = hashlib.sha256()
    fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between the look and the open
            return "it is no longer a regular file"
        for chunk in iter(lambda: handle.read(65536), b""):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        return "it was changed in the sandbox"
    os.unlink(target)
    return None


def remove_files(entries: list[dict]) -> int:
    for entry in entries:
        path = str(entry.get("path"))
        try:
            kept = remove_if_unchanged(path, str(entry.get("sha256")), int(entry.get("size", -1)))
        except (OSError, ValueError) as exc:
            kept = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if kept is not None:
            print(json.dumps({"path": path, "kept": kept}), flush=True)
    return 0


def pack(directory: str) -> int:
    source = resolve(directory)
    if not os.path.isdir(source) or os.path.islink(source):
        raise ToolError(f"{directory} is not a directory in the sandbox")
    with tarfile.open(fileobj=sys.stdout.buffer, mode="w|gz") as tar:
        for name in sorted(os.listdir(source)):
            tar.add(os.path.join(source, name), arcname=name, recursive=True)
    return 0


def unpack(directory: str, replace: bool) -> int:
    target = resolve(directory)
    if os.path.islink(target):
        raise ToolError(f"{directory} is a symbolic link, not a directory")
    os.makedirs(target, exist_ok=True)
    scratch = tempfile.mkdtemp(dir=target, prefix=".pocketenv-unpack-")
    try:
        try:
            with tarfile.open(fileobj=sys.stdin.buffer, mode="r|*") as tar:
                if hasattr(tarfile, "data_filter"):
                    # The "data" filter refuses absolute names, "..", links leading outside,
                    # device nodes and set-uid bits: nothing lands outside the scratch dir.
                    tar.extractall(scratch, filter="data")
                else:  # Pythons before 3.11.4: the same rules, checked here
                    for member in tar:
                        tar.extract(_checked(member, scratch), scratch, set_attrs=False)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ToolError(f"the archive could not be unpacked: {exc}") from None
        if replace:
            for name in os.listdir(target):
                path = os.path.join(target, name)
                if path != scratch:
                    _remove(path)
        for name in os.listdir(scratch):
            _move(os.path.join(scratch, name), os.path.join(target, name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _checked(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """What tarfile's "data" filter refuses, for interpreters that lack it."""
    name = member.name.lstrip("/")
    real_dest = os.path.realpath(dest)
    target = os.path.realpath(os.path.join(dest, name))
    if os.path.commonpath([real_dest, target]) != real_dest:
        raise tarfile.TarError(f"{member.name!r} would be extracted outside the destination")
    if member.ischr() or member.isblk() or member.isdev() and not member.isfifo():
        raise tarfile.TarError(f"{member.name!r} is a device node")
    if member.issym() or member.islnk():
        base = os.path.dirname(target) if member.issym() else real_dest
        link = os.path.realpath(os.path.join(base, member.linkname.lstrip("/") if member.islnk() else member.linkname))
        if member.linkname.startswith("/") or os.path.commonpath([real_dest, link]) != real_dest:
            raise tarfile.TarError(f"{member.name!r} links outside the destination")
    member.name = name
    member.mode &= 0o777 & ~0o022 if member.isfile() else 0o777
    return member


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _move(source: str, dest: str) -> None:
    """Move ``source`` to ``dest``, merging directories into existing ones."""
    if os.path.isdir(source) and not os.path.islink(source) and os.path.isdir(dest) and not os.path.islink(dest):
        for name in os.listdir(source):
            _move(os.path.join(source, name), os.path.join(dest, name))
        return
    _remove(dest)
    os.rename(source, dest)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: pocketenv_tools COMMAND ...", file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    try:
        if command == "write-files":
            return write_files(json.loads(sys.stdin.buffer.read() or b"[]"))
        if command == "remove-files":
            return remove_files(json.loads(sys.stdin.buffer.read() or b"[]"))
        if command == "pack" and len(args) == 1:
            return pack(args[0])
        if command == "unpack" and len(args) in (1, 2):
            return unpack(args[0], replace=args[1:] == ["--replace"])
        if command == "is-dir" and len(args) == 1:
            path = resolve(args[0])
            return 0 if os.path.isdir(path) and not os.path.islink(path) else 1
    except (ToolError, OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(reason, file=sys.stderr)
        return 1
    print(f"pocketenv_tools: bad command {argv!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
