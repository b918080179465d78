"""Start, find and wait for a local backend process (used by the dashboard and the tests)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pocketenv_tui.local.state.datadir import BACKGROUND_ENV, read_server_json, resolve_data_dir


def answers_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether ``GET url/`` answers 200. The standard library is enough for a loopback probe,
    and the dashboard's start-up does not wait for httpx to load."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path.rstrip("/") + "/")
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


class BackendStartError(Exception):
    """The local backend could not be started; the message says why (from its log when possible)."""


@dataclass(frozen=True)
class BackendInfo:
    url: str
    token: str
    public_key: str
    started: bool  # True when this call started the server, False when it reused a live one
    data_dir: Path | None = None
    pid: int | None = None
    background: bool = False  # a dashboard started it (see datadir.BACKGROUND_ENV)


def serve_command(data_dir: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    return [sys.executable, "-m", "pocketenv_tui", "serve", "--host", host, "--port", str(port), "--data-dir", str(data_dir)]


def start_backend_process(
    data_dir: Path, port: int, *, detached: bool = False, log_path: Path | None = None,
    env: Mapping[str, str] | None = None, extra_args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Launch ``pocketenv-tui serve`` for ``data_dir`` (port 0 picks a free one, see server.json).

    ``detached`` puts it in its own session so it outlives the caller (the dashboard's case).
    Output goes to ``log_path`` when given, else it is inherited. ``env`` is added to (and
    overrides) this process's environment; ``extra_args`` go after the serve options (e.g.
    ``["--max-shells", "2"]``).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    out = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [*serve_command(data_dir, port), *extra_args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            start_new_session=detached,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    finally:
        if out is not None:
            out.close()


def wait_until_ready(url: str, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``GET url/`` until it answers 200; raises BackendStartError on timeout or process exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BackendStartError(f"the local backend exited with code {process.returncode} before it was ready")
        if answers_ok(url):
            return
        time.sleep(0.1)
    raise BackendStartError(f"the local backend at {url} did not answer within {timeout:.0f}s")


def wait_for_server_json(
    data_dir: Path, process: subprocess.Popen[bytes], timeout: float = 20.0
) -> str:
    """The URL a just-started server recorded in ``server.json`` (needed with port 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = read_server_json(data_dir)
        if info is not None and info["pid"] == process.pid:
            return info["url"]
        if process.poll() is not None:
            raise BackendStartError(f"the local backend exited with code {process.returncode} before it was ready")
        time.sleep(0.05)
    raise BackendStartError(f"the local backend did not record its address within {timeout:.0f}s")


def find_running_backend(data_dir: Path) -> str | None:
    """The URL of the live server for ``data_dir`` (server.json plus a pid check and a GET /)."""
    info = read_server_json(Path(data_dir))
    if info is None:
        return None
    return info["url"] if answers_ok(info["url"]) else None


def read_credentials(data_dir: Path) -> tuple[str, str]:
    token = json.loads((data_dir / "token.json").read_text())["token"]
    public_key = (data_dir / "public_key").read_text().strip()
    return token, public_key


def find_backend(data_dir: Path | str, *, probe_timeout: float = 2.0) -> BackendInfo | None:
    """The live server recorded for ``data_dir`` with its credentials (read afresh: a new server
    may come with a new identity), or None when none answers. A server records itself a moment
    before it answers, so a just-started one may read as None once."""
    path = Path(data_dir)
    record = read_server_json(path)
    if record is None or not answers_ok(record["url"], timeout=probe_timeout):
        return None
    try:
        token, public_key = read_credentials(path)
    except (OSError, ValueError, KeyError) as exc:
        raise BackendStartError(f"the local backend at {record['url']} runs, but its credentials in {path} cannot be read: {exc}") from None
    return BackendInfo(
        url=record["url"], token=token, public_key=public_key, started=False, data_dir=path,
        pid=record["pid"], background=record["background"],
    )


# The backends this process started in the background, by pid. Each is our child: when one
# dies it stays a zombie until we wait for it, so reap_launched() polls them (the dashboard's
# backend watch calls it on every check).
_launched: dict[int, subprocess.Popen[bytes]] = {}
_launched_lock = threading.Lock()


def reap_launched() -> dict[int, int]:
    """Wait for every background backend this process started that has exited; returns the
    exit code of each of those by pid (negative: the signal that killed it)."""
    with _launched_lock:
        children = list(_launched.items())
    exited = {pid: code for pid, process in children if (code := process.poll()) is not None}
    with _launched_lock:
        for pid in exited:
            _launched.pop(pid, None)
    return exited


def launched_process(pid: int) -> subprocess.Popen[bytes] | None:
    """The process handle of a background backend this process started and has not reaped."""
    with _launched_lock:
        return _launched.get(pid)


def ensure_backend(data_dir: Path | str | None = None, *, timeout: float = 30.0) -> BackendInfo:
    """Reuse the live server for ``data_dir`` or start a detached one (log in ``server.log``)."""
    path = resolve_data_dir(data_dir)
    found = find_backend(path)
    if found is not None:
        return found
    process = start_backend_process(
        path, 0, detached=True, log_path=path / "server.log", env={BACKGROUND_ENV: "1"}
    )
    with _launched_lock:
        _launched[process.pid] = process
    try:
        url = wait_for_server_json(path, process, timeout)
        wait_until_ready(url, timeout, process)
    except BackendStartError as exc:
        # Two dashboards may race to start it: the loser's server exits on the lock.
        found = find_backend(path)
        if found is not None:
            return found
        raise BackendStartError(f"{exc}; see {path / 'server.log'}: {_log_tail(path / 'server.log')}") from None
    token, public_key = read_credentials(path)
    return BackendInfo(
        url=url, token=token, public_key=public_key, started=True, data_dir=path,
        pid=process.pid, background=True,
    )


def _log_tail(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def stop_backend_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM (graceful: sandboxes are stopped), then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextmanager
def throwaway_backend(prefix: str = "pocketenv-") -> Iterator[BackendInfo]:
    """A backend of its own for a script or benchmark: a temporary data dir, a free loopback
    port; on exit the server is stopped (its sandboxes with it) and the directory removed."""
    with tempfile.TemporaryDirectory(prefix=prefix) as temp:
        data_dir = Path(temp) / "data"
        data_dir.mkdir()
        process = start_backend_process(data_dir, 0, log_path=Path(temp) / "server.log")
        try:
            url = wait_for_server_json(data_dir, process, timeout=30)
            wait_until_ready(url, timeout=30, process=process)
            token, public_key = read_credentials(data_dir)
            yield BackendInfo(url=url, token=token, public_key=public_key, data_dir=data_dir, started=True)
        finally:
            stop_backend_process(process, timeout=15)
