"""Shared fixtures: a real local backend process (``pocketenv-tui serve``) on a temp data dir.

- ``local_backend`` (session): one server for the whole run.
- ``make_backend`` (function): a factory for tests that stop and restart a server on the same
  data dir, or need one of their own (``env=`` adds environment variables, ``args=`` serve
  options); every server it started is stopped at the end of the test.

Teardown sends SIGTERM (SIGKILL after a few seconds) and then checks that no process of the
backend's sandboxes survived it.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings

from pocketenv_tui.local.launcher import (
    launched_process,
    read_credentials,
    reap_launched,
    start_backend_process,
    stop_backend_process,
    wait_for_server_json,
    wait_until_ready,
)


def stop_what_serves(data_dir: Path, timeout: float = 15.0) -> None:
    """Stop whatever server serves ``data_dir`` as a user would (SIGTERM; a backend this process
    launched is stopped through its handle and reaped), and wait until its record is gone."""
    from pocketenv_tui.local.state.datadir import read_server_json

    record = read_server_json(data_dir)
    if record is not None:
        process = launched_process(record["pid"])
        if process is not None:
            stop_backend_process(process, timeout=timeout)
        else:
            os.kill(record["pid"], signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while read_server_json(data_dir) is not None and time.monotonic() < deadline:
                time.sleep(0.1)
    reap_launched()


# On CI the property tests replay the same examples every run (a submission must not fail on
# an input found by chance); elsewhere they keep exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@dataclass
class BackendHandle:
    url: str
    token: str
    public_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path = field(default=Path("/dev/null"))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        """Stop the server (gracefully, as a user would) and check nothing of it survived."""
        stop_backend_process(self.process, timeout=15)
        assert_no_leftover_processes(self.data_dir)
        assert_nothing_left_on_the_host(self.data_dir)


def launch_backend(
    data_dir: Path, *, env: dict[str, str] | None = None, args: Sequence[str] = ()
) -> BackendHandle:
    """A server on ``data_dir``; ``env`` adds environment variables, ``args`` serve options."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}-server.log"
    process = start_backend_process(data_dir, 0, log_path=log_path, env=env, extra_args=args)
    try:
        url = wait_for_server_json(data_dir, process, timeout=30)
        wait_until_ready(url, timeout=30, process=process)
    except Exception:
        stop_backend_process(process)
        raise
    token, public_key = read_credentials(data_dir)
    return BackendHandle(url=url, token=token, public_key=public_key, data_dir=data_dir, process=process, log_path=log_path)


def assert_nothing_left_on_the_host(data_dir: Path) -> None:
    """No mount (disk images, the export dir) and no cgroup of the server outlives it."""
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()
    roots = (str(data_dir.resolve()) + "/", f"/run/pocketenv-tui/{digest[:12]}")
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    left = [m for m in mounts if m.startswith(roots)]
    assert left == [], f"mounts survived the backend: {left}"
    prefix = f"pocketenv-{digest[:8]}-"
    groups = [p for p in Path("/sys/fs/cgroup").glob("**/" + prefix + "*") if p.is_dir()] if os.geteuid() == 0 else []
    assert groups == [], f"cgroups survived the backend: {groups}"
    assert not Path(roots[1]).exists(), f"{roots[1]} survived the backend"
    if Path("/run/pocketenv-tui").is_dir():  # another server's may still be there; none of ours
        assert not any(p.name == digest[:12] for p in Path("/run/pocketenv-tui").iterdir())


def _mentions(pid: int, needle: bytes) -> bool:
    proc = Path("/proc") / str(pid)
    try:
        if needle in (proc / "cmdline").read_bytes() or needle in (proc / "environ").read_bytes():
            return True
        return os.readlink(proc / "cwd").encode().startswith(needle)
    except OSError:
        return False


def leftover_processes(data_dir: Path) -> list[int]:
    """Pids of live processes whose command line, environment or cwd points into ``data_dir``."""
    needle = str(data_dir.resolve()).encode()
    me = os.getpid()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and _mentions(int(entry.name), needle):
            pids.append(int(entry.name))
    return pids


def assert_no_leftover_processes(data_dir: Path, grace: float = 5.0) -> None:
    deadline = time.monotonic() + grace
    while (pids := leftover_processes(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pids:
        for pid in pids:  # clean up so one failure does not leak into later tests
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pytest.fail(f"sandbox processes survived the backend: {pids}")


@pytest.fixture(scope="session")
def local_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendHandle]:
    handle = launch_backend(tmp_path_factory.mktemp("backend") / "data")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def make_backend(tmp_path: Path) -> Iterator[Callable[..., BackendHandle]]:
    started: list[BackendHandle] = []

    def make(
        data_dir: Path | None = None, *, env: dict[str, str] | None = None, args: Sequence[str] = ()
    ) -> BackendHandle:
        handle = launch_backend(data_dir or tmp_path / "data", env=env, args=args)
        started.append(handle)
        return handle

    try:
        yield make
    finally:
        for handle in started:
            if handle.process.poll() is None:
                handle.stop()
