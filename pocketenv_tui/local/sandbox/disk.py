"""A sandbox's disk: an ext4 image of its quota, loop-mounted while it runs.

Why an image: the quota must hold for everything a sandbox writes (its home, /tmp, other
top-level directories and volumes) and fail *inside* with ENOSPC while the host stays
healthy. The options, measured on our machines by ``benchmarks/disk_quota_options.py``
(256 MiB written and fsync'd, 10 GiB images; write speeds over five runs, which vary a lot
on this shared disk):

- a sparse ext4 image per sandbox, loop-mounted: mkfs 13-20 ms (or a 5 ms copy of an empty
  template image) + mount 8-11 ms; 186-950 MB/s; ENOSPC at the quota. Needs root. **Chosen:**
  the kernel's own ext4, nothing to supervise.
- the same image mounted by fuse2fs: about the same setup, 182-302 MB/s, ENOSPC at the
  quota; works without root where /dev/fuse is usable, but every write goes through a FUSE
  daemon per sandbox that would have to be supervised (not done yet: a non-root server
  reports the quota missing).
- ext4 project quotas on the data dir: need the filesystem mounted with ``prjquota``, which
  it is not here (and changing the host's mounts is not ours to do).
- a plain directory: 226-339 MB/s, and no quota at all.

Layout of a disk (the image's root is 0711 root): ``rootfs/`` (0700, the sandbox's uid) with
one directory per top-level directory of the sandbox (``home``, ``tmp``, ``workspace``...),
and ``volumes/<volume id>/`` (each mounted at its path inside). A root server mounts it
under its export dir (``exports.py``), where bwrap can reach it. The image is sparse and mounted with ``discard``, so what the
sandbox deletes goes back to the host. A bigger ``disk`` on a later start grows the image
(resize2fs); a smaller one is kept at its size with a warning.

Without root (or without mkfs.ext4) there is no image: ``rootfs/`` and ``volumes/`` are plain
directories in ``<sandbox dir>/files``, and the record lists the disk quota as missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError

IMAGE = "disk.img"
MOUNT = "mnt"
TOOL_TIMEOUT = 60


def image_quota_possible() -> str | None:
    """None when images can be made and mounted here, else why not."""
    if os.geteuid() != 0:
        return "the server is not root, so it cannot mount a disk image"
    for tool in ("mkfs.ext4", "mount", "umount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package e2fsprogs / mount)"
    if not os.path.exists("/dev/loop-control"):
        return "this machine has no loop devices"
    return None


def run_checked(argv: list[str]) -> None:
    """Run a system tool (mkfs, mount...); SandboxRuntimeError with its last words if it fails."""
    try:
        result = subprocess.run(argv, capture_output=True, timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxRuntimeError(f"{argv[0]} failed: {exc}") from None
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SandboxRuntimeError(f"{argv[0]} failed: {message[-1] if message else result.returncode}")


def is_mount_point(path: Path) -> bool:
    target = str(path)
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            if len(fields) > 4 and _unescape(fields[4]) == target:
                return True
    return False


def _unescape(text: str) -> str:
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts_under(directory: Path) -> list[Path]:
    """Mount points beneath ``directory`` (deepest first), e.g. left by a server that crashed."""
    prefix = str(directory.resolve()).rstrip("/") + "/"
    found: list[Path] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            if len(fields) > 4 and _unescape(fields[4]).startswith(prefix):
                found.append(Path(_unescape(fields[4])))
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


# Top-level directories every sandbox has (it cannot make new ones: its / is read-only).
STANDARD_TOP_LEVEL = ("home", "root", "tmp", "var", "opt", "srv", "mnt", "workspace")


@dataclass
class SandboxDisk:
    """Where a sandbox's files live, and whether a quota holds them."""

    sandbox_dir: Path
    base: Path  # holds rootfs/ and volumes/
    quota: bool  # an image of ``size_bytes`` is mounted at ``base``
    size_bytes: int
    mounted: bool  # base is a mount made here (the image, or a bind of the plain dir)
    warnings: list[str]

    @property
    def rootfs(self) -> Path:
        return self.base / "rootfs"

    def volume_dir(self, volume_id: str) -> Path:
        return self.base / "volumes" / volume_id

    @classmethod
    def attach(
        cls, sandbox_dir: Path, size_bytes: int, uid: int | None, *, use_image: bool, mount_point: Path | None
    ) -> SandboxDisk:
        """Make (the first time) and mount the disk; what the sandbox owns is ``uid``'s."""
        sandbox_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if use_image:
            base = mount_point or sandbox_dir / MOUNT
            disk = cls(sandbox_dir, base, True, size_bytes, True, [])
            disk._mount_image(sandbox_dir / IMAGE, base)
        else:
            files = sandbox_dir / "files"
            files.mkdir(exist_ok=True, mode=0o711)
            disk = cls(sandbox_dir, mount_point or files, False, size_bytes, mount_point is not None, [])
            if mount_point is not None and not is_mount_point(mount_point):
                run_checked(["mount", "--bind", str(files), str(mount_point)])
        os.chmod(disk.base, 0o711)
        volumes = disk.base / "volumes"
        volumes.mkdir(exist_ok=True)
        os.chmod(volumes, 0o711)
        if not disk.rootfs.exists():
            # Only a rootfs nothing has run in yet is filled from outside; later on, what
            # is in it belongs to the sandbox (top-level names stay the server's: the
            # sandbox never sees rootfs/ itself, only the directories in it).
            disk.rootfs.mkdir(mode=0o700)
            # /home/coder is the hosted templates' home: scripts written for them (the
            # official SDK's backup example) name it.
            for name in (*STANDARD_TOP_LEVEL, "home/sandbox", "home/coder", "var/tmp"):
                (disk.rootfs / name).mkdir(mode=0o755, exist_ok=True)
                if uid is not None and os.geteuid() == 0:
                    os.chown(disk.rootfs / name, uid, uid)
            if uid is not None and os.geteuid() == 0:
                os.chown(disk.rootfs, uid, uid)
        return disk

    def volume(self, volume_id: str, uid: int | None) -> Path:
        path = self.volume_dir(volume_id)
        if not path.exists():
            path.mkdir(mode=0o700)
            if uid is not None and os.geteuid() == 0:
                os.chown(path, uid, uid)
        return path

    def _mount_image(self, image: Path, mount: Path) -> None:
        mount.mkdir(exist_ok=True, mode=0o711)
        if is_mount_point(mount):
            return
        if not image.exists():
            _new_image(image, self.size_bytes)
        else:
            current = image.stat().st_size
            if self.size_bytes > current:
                with open(image, "r+b") as handle:
                    handle.truncate(self.size_bytes)
                if shutil.which("resize2fs") and shutil.which("e2fsck"):
                    subprocess.run(["e2fsck", "-f", "-p", str(image)], capture_output=True, timeout=TOOL_TIMEOUT)
                    run_checked(["resize2fs", str(image)])
                else:
                    self.warnings.append("disk: the image was not grown (resize2fs is not installed)")
            elif self.size_bytes < current:
                self.warnings.append(f"disk: the quota stays {current // 1024**2} MiB (a disk image is never shrunk)")
                self.size_bytes = current
        run_checked(["mount", "-o", "loop,nosuid,nodev,discard", str(image), str(mount)])
        with contextlib.suppress(OSError):
            (mount / "lost+found").rmdir()

    def detach(self) -> None:
        if self.mounted:
            unmount(self.base)


_TEMPLATE_LOCK = threading.Lock()


def _new_image(image: Path, size_bytes: int) -> None:
    """A fresh, empty filesystem image of ``size_bytes``.

    mkfs runs once per size and server: later images are sparse copies of that empty one
    (a few MiB of metadata), which takes a third of the time of another mkfs.
    """
    template = image.parent.parent / f".empty-{size_bytes}.img"
    # Sandboxes start in parallel threads: one of them makes the template while the others
    # wait (they used to share one ".partial" name and pull it from under each other).
    with _TEMPLATE_LOCK:
        if not template.exists():
            partial = template.with_name(f"{template.name}.partial-{os.getpid()}")
            with open(partial, "wb") as handle:
                handle.truncate(size_bytes)
            run_checked(["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", str(partial)])
            os.chmod(partial, 0o600)
            os.replace(partial, template)
    partial = image.with_name(image.name + ".partial")
    run_checked(["cp", "--sparse=always", str(template), str(partial)])
    os.chmod(partial, 0o600)
    os.replace(partial, image)


def unmount(path: Path) -> None:
    if not is_mount_point(path):
        return
    for _ in range(20):
        result = subprocess.run(["umount", str(path)], capture_output=True, timeout=TOOL_TIMEOUT)
        if result.returncode == 0:
            return
        if b"busy" not in result.stderr.lower():
            break
        time.sleep(0.05)
    # Still busy (a process of the sandbox not gone yet): detach it now, freed when unused.
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=TOOL_TIMEOUT)
