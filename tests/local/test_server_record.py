"""The data dir's server record (server.json) and the backends a dashboard starts: who started
a server, a dead server read as dead (zombie or not), and dead children reaped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pocketenv_tui.local.launcher import (
    ensure_backend,
    find_backend,
    launched_process,
    reap_launched,
)
from pocketenv_tui.local.state.datadir import pid_alive, read_server_json
from tests.conftest import (
    assert_no_leftover_processes,
    assert_nothing_left_on_the_host,
    stop_what_serves,
)

pytestmark = pytest.mark.timeout(120)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while _state(child.pid) != "Z":  # exited, not waited for: a zombie
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.02)
        assert not pid_alive(child.pid)
        assert pid_alive(os.getpid())
    finally:
        child.wait()


def test_the_record_says_whether_a_dashboard_started_the_server(local_backend) -> None:
    assert read_server_json(local_backend.data_dir)["background"] is False  # `serve` by hand
    found = find_backend(local_backend.data_dir)
    assert found is not None and not found.started and not found.background
    assert (found.url, found.pid, found.token) == (
        local_backend.url, local_backend.process.pid, local_backend.token
    )


def test_a_killed_background_backend_is_reaped_and_read_as_gone(tmp_path) -> None:
    data_dir = tmp_path / "bg"
    info = ensure_backend(data_dir)
    try:
        assert info.started and info.background and read_server_json(data_dir)["background"] is True
        os.kill(info.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        exited: dict[int, int] = {}
        while info.pid not in exited:
            assert time.monotonic() < deadline, "the killed backend was never reaped"
            exited.update(reap_launched())
            time.sleep(0.05)
        assert exited[info.pid] == -signal.SIGKILL
        assert not Path(f"/proc/{info.pid}").exists()  # no zombie left
        assert launched_process(info.pid) is None
        # A crashed server leaves its record behind; its pid is dead, so it reads as no server.
        assert (data_dir / "server.json").exists() and read_server_json(data_dir) is None

        # Starting it again clears what the crashed one left.
        again = ensure_backend(data_dir)
        assert again.started and again.pid != info.pid
    finally:
        stop_what_serves(data_dir)
    assert_no_leftover_processes(data_dir)
    assert_nothing_left_on_the_host(data_dir)

