"""A sandbox's files made ready before it starts: volume dirs, mount points, top-level names.

This runs while nothing of the sandbox runs (before bwrap starts), so what it checks cannot
change before bwrap uses it; even so it never follows a symlink the sandbox left behind
(``confined.py``). Top-level names of a sandbox's root are the server's to make: the
sandbox never sees ``rootfs/`` itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from pocketenv_tui.local.sandbox import isolation as iso
from pocketenv_tui.local.sandbox.confined import ensure_directories
from pocketenv_tui.local.sandbox.disk import SandboxDisk
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError

if TYPE_CHECKING:
    from pocketenv_tui.local.sandbox.box import Box


def prune_volumes(disk: SandboxDisk, keep: set[str]) -> None:
    """Remove the data of volumes no record uses any more (nothing of the sandbox runs yet;
    rmtree works on directory fds and never follows a symlink)."""
    volumes = disk.base / "volumes"
    for entry in os.scandir(volumes):
        if entry.name not in keep:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def top_level_and_volumes(box: Box) -> tuple[list[str], list[tuple[Path, str, bool]]]:
    """The top-level directories to bind and the volumes that can be mounted."""
    rootfs = box.disk.rootfs
    wanted = {box.normalize(path).split("/")[1] for path, _ in box.spec.files}
    volumes: list[tuple[Path, str, bool]] = []
    for volume_id, mount, read_only in box.spec.volumes:
        inside = box.normalize(mount)
        parts = inside.strip("/").split("/")
        if iso.is_system_path(inside) or inside in ("/", iso.HOME_INSIDE, iso.TMP_INSIDE) or len(parts) < 1:
            box.warnings.append(f"volume at {mount} was not mounted: that is a system directory")
            continue
        try:
            ensure_directories(rootfs, inside.lstrip("/"), box.uid)
        except OSError as exc:
            box.warnings.append(f"volume at {mount} was not mounted: {exc.strerror or exc}")
            continue
        volumes.append((box.disk.volume(volume_id, box.uid), inside, read_only))
    for name in sorted(wanted):
        if name and name not in iso.SYSTEM_TOP_LEVEL:
            with contextlib.suppress(OSError):
                ensure_directories(rootfs, name, box.uid)
    prefix = box.python_prefix
    if prefix and prefix.strip("/").split("/")[0] not in iso.SYSTEM_TOP_LEVEL:
        # The interpreter is mounted at its own path, which may lie in one of the sandbox's
        # directories (/root/.pyenv...): that path must be real directories, not links.
        try:
            ensure_directories(rootfs, prefix.lstrip("/"), box.uid)
        except OSError as exc:
            raise SandboxRuntimeError(
                f"could not start the sandbox: {prefix} inside it is not a plain directory ({exc.strerror or exc})"
            ) from None
    top = sorted(
        entry.name for entry in os.scandir(rootfs)
        if entry.is_dir(follow_symlinks=False) and entry.name not in iso.SYSTEM_TOP_LEVEL
    )
    return top, volumes


def plain_volumes(box: Box) -> None:
    """Without a mount namespace a volume is a symlink at its mount path (read-only not kept)."""
    rootfs = box.disk.rootfs
    (rootfs / iso.HOME_INSIDE.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for volume_id, mount, read_only in box.spec.volumes:
        inside = box.normalize(mount)
        if iso.is_system_path(inside) or inside in (iso.HOME_INSIDE, iso.TMP_INSIDE):
            box.warnings.append(f"volume at {mount} was not mounted: that is a system directory")
            continue
        link = rootfs / inside.lstrip("/")
        try:
            ensure_directories(rootfs, str(Path(inside.lstrip("/")).parent), None)
            if link.is_symlink():
                link.unlink()
            elif link.is_dir() and not any(link.iterdir()):
                link.rmdir()
            link.symlink_to(box.disk.volume(volume_id, None), target_is_directory=True)
        except OSError as exc:
            box.warnings.append(f"volume at {mount} was not mounted: {exc.strerror or exc}")
            continue
        if read_only:
            box.warnings.append(f"volume at {mount} is writable: read-only needs bubblewrap isolation")
