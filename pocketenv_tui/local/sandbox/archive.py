"""tar.gz packing and safe unpacking of sandbox directories (backups and copies).

Packing stores symlinks as links (never follows them), so a link inside a sandbox cannot
leak a host file. Unpacking uses tarfile's ``data`` filter: absolute names, ``..``, links
pointing outside the destination, device files and setuid bits are refused, which is what
keeps an upload from writing outside the sandbox.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path


class ArchiveError(Exception):
    """The archive is unreadable or tries to escape its destination."""


def pack_directory(source: Path, target: Path) -> None:
    """Write ``source``'s contents (not the directory itself) to ``target`` as tar.gz, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    os.close(fd)
    try:
        with tarfile.open(tmp_name, "w:gz") as tar:
            for child in sorted(source.iterdir()):
                tar.add(child, arcname=child.name, recursive=True)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def unpack_into(archive: Path, destination: Path, *, replace: bool = False) -> None:
    """Extract ``archive`` into ``destination``; with ``replace`` the old contents go first.

    The archive is fully checked (by extracting into a scratch directory inside the
    destination, so moves stay on one filesystem) before anything else is touched, so a
    refused archive changes nothing.
    """
    destination.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=destination, prefix=".pocketenv-unpack-"))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ArchiveError(f"the archive could not be unpacked: {exc}") from None
        if replace:
            for child in destination.iterdir():
                if child == scratch:
                    continue
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        for child in scratch.iterdir():
            target = destination / child.name
            if target.is_dir() and not target.is_symlink() and child.is_dir():
                _merge(child, target)
            else:
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
                os.replace(child, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _merge(source: Path, target: Path) -> None:
    for child in source.iterdir():
        dest = target / child.name
        if dest.is_dir() and not dest.is_symlink() and child.is_dir():
            _merge(child, dest)
        else:
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            elif dest.exists() or dest.is_symlink():
                dest.unlink()
            os.replace(child, dest)
