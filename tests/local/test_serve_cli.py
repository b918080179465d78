"""``pocketenv-tui serve``: --print-env, the data dir lock, loopback only, busy ports."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys

import pytest

from pocketenv_tui.api.crypto import parse_public_key

pytestmark = pytest.mark.timeout(60)


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pocketenv_tui", "serve", *args], capture_output=True, text=True, timeout=30,
    )


def test_print_env_creates_the_identity(tmp_path) -> None:
    result = serve("--data-dir", str(tmp_path / "d"), "--port", "9999", "--print-env")
    assert result.returncode == 0, result.stderr
    env = dict(line.split("=", 1) for line in result.stdout.strip().splitlines())
    assert env["POCKETENV_API_URL"] == "http://127.0.0.1:9999"
    assert len(env["POCKETENV_PUBLIC_KEY"]) == 64
    parse_public_key(env["POCKETENV_PUBLIC_KEY"])
    data = tmp_path / "d"
    assert json.loads((data / "token.json").read_text())["token"] == env["POCKETENV_TOKEN"]
    assert (data / "public_key").read_text().strip() == env["POCKETENV_PUBLIC_KEY"]
    for private in ("token.json", "private_key", "jwt_secret"):
        assert stat.S_IMODE((data / private).stat().st_mode) == 0o600, private
    again = serve("--data-dir", str(data), "--print-env")
    assert again.stdout.splitlines()[1] == f"POCKETENV_TOKEN={env['POCKETENV_TOKEN']}"


def test_print_env_reports_the_live_server(local_backend) -> None:
    result = serve("--data-dir", str(local_backend.data_dir), "--print-env")
    assert f"POCKETENV_API_URL={local_backend.url}" in result.stdout.splitlines()


def test_second_server_on_the_same_dir_is_refused(local_backend) -> None:
    result = serve("--data-dir", str(local_backend.data_dir), "--port", "0")
    assert result.returncode == 1
    assert "already used by a running pocketenv-tui server" in result.stderr
    assert f"pid {local_backend.process.pid}" in result.stderr
    assert "Traceback" not in result.stderr


def test_non_loopback_needs_allow_remote(tmp_path) -> None:
    result = serve("--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr and "Traceback" not in result.stderr


def test_busy_port_is_a_clear_error(tmp_path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = serve("--port", str(port), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "server.json").exists()


def test_ensure_backend_starts_once_then_reuses(tmp_path) -> None:
    import os
    import signal
    import time

    import httpx

    from pocketenv_tui.local.launcher import ensure_backend
    from pocketenv_tui.local.state.datadir import read_server_json
    from tests.conftest import assert_no_leftover_processes

    data = tmp_path / "auto"
    first = ensure_backend(data)
    pid = read_server_json(data)["pid"]
    try:
        assert first.started
        profile = httpx.get(
            f"{first.url}/xrpc/io.pocketenv.actor.getProfile", headers={"Authorization": f"Bearer {first.token}"}
        )
        assert profile.json()["handle"] == "local"
        second = ensure_backend(data)
        assert not second.started and second.url == first.url and second.token == first.token
        assert (data / "server.log").exists()
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while read_server_json(data) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
    assert read_server_json(data) is None
    assert_no_leftover_processes(data)


def test_max_shells_must_be_a_positive_number(tmp_path) -> None:
    result = serve("--data-dir", str(tmp_path), "--port", "0", "--max-shells", "0")
    assert result.returncode == 2
    assert "--max-shells must be at least 1, got 0" in result.stderr and "Traceback" not in result.stderr
    env_result = subprocess.run(
        [sys.executable, "-m", "pocketenv_tui", "serve", "--data-dir", str(tmp_path), "--port", "0"],
        capture_output=True, text=True, timeout=30, env={**os.environ, "POCKETENV_MAX_SHELLS": "lots"},
    )
    assert env_result.returncode == 2
    assert "POCKETENV_MAX_SHELLS must be a whole number of at least 1, got 'lots'" in env_result.stderr
    assert "--max-shells" in serve("--help").stdout
