"""The backend's data dir: its default place, the single-server lock and ``server.json``."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path

import platformdirs

# Set by the launcher when a dashboard starts a server in the background: the server records
# it in server.json, so that a dashboard knows it may start that server again if it dies, which
# it must not do for a server someone runs in a terminal of their own.
BACKGROUND_ENV = "POCKETENV_TUI_BACKGROUND"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("pocketenv-tui")) / "backend"


def resolve_data_dir(value: str | os.PathLike[str] | None) -> Path:
    return Path(value).expanduser().resolve() if value else default_data_dir()


class DataDirLocked(Exception):
    def __init__(self, data_dir: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"the data dir {data_dir} is already used by a running pocketenv-tui server ({who})")
        self.pid = pid


class DataDirLock:
    """An exclusive ``flock`` on ``server.lock``, held for the server's whole life.

    The kernel drops it when the process dies, so a crashed server never leaves a stale lock.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "server.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise DataDirLocked(self.data_dir, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process. A zombie is not: a server that died as the child
    of a dashboard stays one until the dashboard reaps it, and ``kill(pid, 0)`` still succeeds."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (or it just went): kill() already said it exists
    fields = stat.rsplit(")", 1)[-1].split()
    return bool(fields) and fields[0] in ("Z", "X")


def write_server_json(data_dir: Path, url: str, *, background: bool = False) -> None:
    """Record this server for its data dir. ``background`` says a dashboard started it (nobody
    watches its terminal), so a dashboard may start it again when it dies."""
    tmp = data_dir / "server.json.tmp"
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "background": background}) + "\n")
    os.replace(tmp, data_dir / "server.json")


def remove_server_json(data_dir: Path) -> None:
    path = data_dir / "server.json"
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def read_server_json(data_dir: Path) -> dict | None:
    """``{"url", "pid", "background"}`` of the server recorded for this dir, if its process is
    alive (a record without ``background``, from an older server, reads as False)."""
    try:
        info = json.loads((data_dir / "server.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int) or not isinstance(info.get("url"), str) or not pid_alive(pid):
        return None
    info["background"] = info.get("background") is True
    return info
