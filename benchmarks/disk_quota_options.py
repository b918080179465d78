"""Ways to give a sandbox a disk quota, measured side by side on this machine.

Run (as root, like the server on our machines): ``.venv/bin/python benchmarks/disk_quota_options.py``.

For each option: how long it takes to set up for a new sandbox, how fast a sandbox can write
through it (256 MiB, fsync'd), and what a write past the quota gets (it must be ENOSPC,
with the host unharmed). Options:

- ``loop image``: a sparse ext4 image per sandbox, loop-mounted (what the backend uses);
- ``loop image (copy of a template)``: the same, made by copying an empty image instead of
  running mkfs for each sandbox (what the backend does from the second sandbox on);
- ``fuse2fs image``: the same image mounted by fuse2fs (works without root);
- ``plain directory``: no quota at all, the speed to compare with;
- ``project quota``: ext4 project quotas on the data dir's filesystem (needs it mounted with
  prjquota; only reported).

Everything happens in a temporary directory and is unmounted and removed at the end.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

MIB = 1024 * 1024
QUOTA = 64 * MIB
WRITE = 256 * MIB
BIG = 10 * 1024 * MIB


def run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


def write_speed(directory: Path, total: int) -> float:
    """MB/s writing ``total`` bytes in 1 MiB blocks, fsync'd at the end."""
    block = os.urandom(MIB)
    path = directory / "speed.bin"
    began = time.perf_counter()
    with open(path, "wb") as out:
        for _ in range(total // MIB):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    seconds = time.perf_counter() - began
    path.unlink()
    return total / MIB / seconds


def past_quota(directory: Path) -> str:
    """What writing twice the quota gets."""
    block = os.urandom(MIB)
    written = 0
    try:
        with open(directory / "fill.bin", "wb") as out:
            for _ in range(2 * QUOTA // MIB):
                out.write(block)
                written += MIB
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        return f"{errno.errorcode.get(exc.errno, exc.errno)} after {written // MIB} MiB"
    finally:
        (directory / "fill.bin").unlink(missing_ok=True)
    return f"no error: {written // MIB} MiB written past a {QUOTA // MIB} MiB quota"


def mkfs(image: Path, size: int) -> float:
    began = time.perf_counter()
    with open(image, "wb") as handle:
        handle.truncate(size)
    run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", str(image))
    return time.perf_counter() - began


def measure_image(tmp: Path, image: Path, mount_cmd: list[str]) -> tuple[float, float, float, str]:
    """Mount ``image`` with ``mount_cmd + [image, mount point]``: (mount seconds, MB/s, MiB on
    the host after the writes, what a write past a small image's quota gets)."""
    mount = tmp / "mnt"
    mount.mkdir()
    began = time.perf_counter()
    run(*mount_cmd, str(image), str(mount))
    mounted = time.perf_counter() - began
    try:
        speed = write_speed(mount, WRITE)
        on_host = image.stat().st_blocks * 512 / MIB
    finally:
        run("umount", str(mount))
    small = tmp / "small.img"
    mkfs(small, QUOTA)
    run(*mount_cmd, str(small), str(mount))
    try:
        full = past_quota(mount)
    finally:
        run("umount", str(mount))
    return mounted, speed, on_host, full


def loop_option(tmp: Path, template: bool) -> tuple[str, str, str]:
    image = tmp / "loop.img"
    if template:
        mkfs(tmp / "template.img", BIG)
        began = time.perf_counter()
        run("cp", "--sparse=always", str(tmp / "template.img"), str(image))
        made = time.perf_counter() - began
    else:
        made = mkfs(image, BIG)
    mounted, speed, on_host, full = measure_image(tmp, image, ["mount", "-o", "loop,nosuid,nodev,discard"])
    setup = f"{'copy' if template else 'mkfs'} {made * 1000:.0f} ms + mount {mounted * 1000:.0f} ms (10 GiB image, {on_host:.0f} MiB used on the host after the writes)"
    return setup, f"{speed:.0f} MB/s", full


def fuse_option(tmp: Path) -> tuple[str, str, str]:
    if not shutil.which("fuse2fs") or not os.path.exists("/dev/fuse"):
        return "unavailable: fuse2fs or /dev/fuse missing", "-", "-"
    image = tmp / "fuse.img"
    made = mkfs(image, BIG)
    mounted, speed, _, full = measure_image(tmp, image, ["fuse2fs", "-o", "fakeroot"])
    return f"mkfs {made * 1000:.0f} ms + mount {mounted * 1000:.0f} ms (a daemon per sandbox)", f"{speed:.0f} MB/s", full


def plain_option(tmp: Path) -> tuple[str, str, str]:
    directory = tmp / "plain"
    directory.mkdir()
    return "mkdir", f"{write_speed(directory, WRITE):.0f} MB/s", "no quota (" + past_quota(directory) + ")"


def project_quota_option(tmp: Path) -> tuple[str, str, str]:
    device = subprocess.run(["findmnt", "-n", "-o", "SOURCE,OPTIONS", "--target", str(tmp)], capture_output=True, text=True).stdout.split()
    options = device[1] if len(device) > 1 else ""
    if "prjquota" not in options:
        return f"unavailable: {device[0] if device else 'the filesystem'} is mounted without prjquota ({options})", "-", "-"
    return "available (not measured)", "-", "-"


def main() -> None:
    if os.geteuid() != 0:
        print("run as root: loop devices and mounts need it (the backend's quota does too)")
        return
    with tempfile.TemporaryDirectory(prefix="pocketenv-disk-") as name:
        tmp = Path(name)
        rows = []
        for label, option in (
            ("loop image", lambda d: loop_option(d, template=False)),
            ("loop image (copy of a template)", lambda d: loop_option(d, template=True)),
            ("fuse2fs image", fuse_option),
            ("plain directory", plain_option),
            ("project quota", project_quota_option),
        ):
            work = tmp / label.replace(" ", "-").replace("(", "").replace(")", "")
            work.mkdir()
            rows.append((label, *option(work)))
        print(f"\n{'option':<33} {'setup for a new sandbox':<75} {'write speed':>11}  past the quota")
        for label, setup, speed, full in rows:
            print(f"{label:<33} {setup:<75} {speed:>11}  {full}")


if __name__ == "__main__":
    main()
