"""Where bwrap finds what a sandbox is made of, when the server runs as root.

bwrap runs as the sandbox's own unprivileged uid, and resolves every source path it mounts
with that uid's rights (bubblewrap 0.8 calls ``realpath()`` on each, even for ``--bind-fd``).
The data dir (default ``~/.local/share/pocketenv-tui``, in root's 0700 home) and the
server's Python installation are usually not reachable by such a uid, and must not be made
so. So a root server keeps one small directory that is, ``/run/pocketenv-tui/<data dir
hash>/`` (0711 at each level: passable, not listable):

- ``code/``: a copy of the agent's code (``inside/``), root-owned and read-only;
- ``python/``: a read-only bind mount of the server's interpreter prefix (only when it is
  not under /usr, which every sandbox gets anyway);
- ``sandboxes/<id>/``: each running sandbox's disk, mounted there (its image, or a bind of
  its directory when there is no image), with ``rootfs/`` and the volumes 0700 and owned
  by that sandbox's uid: no other sandbox uid can enter them.

The server removes its mounts when it stops and removes what a crashed server left at its
next start. A server that is not root needs none of this: bwrap then runs as the server's
own uid, which can read the data dir and its interpreter, and the paths are used directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import py_compile
import shutil
from dataclasses import dataclass
from pathlib import Path

from pocketenv_tui.local.sandbox.disk import mounts_under, run_checked, unmount
from pocketenv_tui.local.sandbox.isolation import INSIDE_DIR, interpreter

EXPORT_ROOT = Path("/run/pocketenv-tui")


@dataclass
class Exports:
    """Source paths for bwrap: the agent's code, the interpreter, the sandboxes' disks."""

    code_dir: Path
    python: str  # the interpreter's path inside the sandbox
    python_source: Path | None  # its prefix as bwrap can read it (None: under /usr already)
    python_prefix: str | None  # where that prefix goes inside (its own path)
    sandboxes_dir: Path | None  # root only: where disks are mounted for bwrap
    base: Path | None = None

    @classmethod
    def plain(cls) -> Exports:
        """No export dir: sources are used where they are (not root, or isolation "none")."""
        python, prefix = interpreter()
        return cls(INSIDE_DIR, python, Path(prefix) if prefix else None, prefix, None)

    @classmethod
    def prepare(cls, data_dir: Path) -> Exports:
        python, prefix = interpreter()
        if os.geteuid() != 0:
            return cls(INSIDE_DIR, python, Path(prefix) if prefix else None, prefix, None)
        digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:12]
        base = EXPORT_ROOT / digest
        cleanup(base)
        for path in (EXPORT_ROOT, base, base / "sandboxes"):
            path.mkdir(exist_ok=True)
            os.chmod(path, 0o711)
        code = base / "code"
        shutil.rmtree(code, ignore_errors=True)
        code.mkdir(mode=0o755)
        for source in INSIDE_DIR.glob("*.py"):
            shutil.copy2(source, code / source.name)
            os.chmod(code / source.name, 0o644)
            # Compiled here once: the agent runs with -B on a read-only view of this dir.
            py_compile.compile(str(code / source.name), doraise=False)
        for path in [code, *code.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        python_source = None
        if prefix is not None:
            python_source = base / "python"
            python_source.mkdir(exist_ok=True)
            run_checked(["mount", "--bind", prefix, str(python_source)])
            run_checked(["mount", "-o", "remount,bind,ro,nosuid,nodev", str(python_source)])
        return cls(code, python, python_source, prefix, base / "sandboxes", base)

    def disk_mount_point(self, sandbox_id: str) -> Path | None:
        if self.sandboxes_dir is None:
            return None
        path = self.sandboxes_dir / sandbox_id
        path.mkdir(exist_ok=True)
        os.chmod(path, 0o711)
        return path

    def release(self) -> None:
        if self.base is not None:
            cleanup(self.base)
            with contextlib.suppress(OSError):
                shutil.rmtree(self.base)
            with contextlib.suppress(OSError):
                EXPORT_ROOT.rmdir()  # only when no other server (data dir) still uses it


def cleanup(base: Path) -> None:
    """Unmount whatever is mounted beneath ``base`` (deepest first)."""
    if not base.exists():
        return
    for mount in mounts_under(base):
        unmount(mount)
