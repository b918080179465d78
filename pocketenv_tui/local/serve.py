"""``pocketenv-tui serve``: the data dir lock, the listening socket and uvicorn around the app."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from pocketenv_tui.local.client_setup import (
    TokenFileTaken,
    print_env_lines,
    server_url,
    write_cli_token,
)
from pocketenv_tui.local.http.app import create_app
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.limits import DEFAULT_LIMITS, Limits
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime
from pocketenv_tui.local.sandbox.shells import max_shells_from_env
from pocketenv_tui.local.state.datadir import (
    BACKGROUND_ENV,
    DataDirLock,
    DataDirLocked,
    remove_server_json,
    resolve_data_dir,
    write_server_json,
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    return sock


def _ignore_signal(signum: int, frame: object) -> None:
    """Stands in for the default handlers while uvicorn runs (it handles the signals itself)."""


def _error(message: str) -> None:
    print(f"pocketenv-tui serve: error: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class SandboxOptions:
    """What ``serve`` was told about sandboxes: limits by default, shells, strictness."""

    strict: bool = False
    limits: Limits = field(default_factory=lambda: DEFAULT_LIMITS)
    max_shells: int | None = None


def _warn_missing(runtime: SandboxRuntime) -> None:
    """Once, at start: which protections sandboxes of this server will lack, and why."""
    missing = runtime.facilities.missing_lines()
    if not missing:
        return
    what = "will be refused (--strict)" if runtime.strict else "will run without them"
    print(f"pocketenv-tui serve: warning: this machine cannot give sandboxes every protection; they {what}:", file=sys.stderr)
    for line in missing:
        print(f"  - {line}", file=sys.stderr)
    sys.stderr.flush()


def run_serve(
    host: str, port: int, data_dir: str | Path | None, allow_remote: bool, print_env: bool,
    sandbox: SandboxOptions | None = None, write_token: bool = False, force: bool = False,
) -> int:
    """``pocketenv-tui serve``: returns the process exit code, errors as one clear line.

    ``sandbox.max_shells`` (``--max-shells``) wins over ``POCKETENV_MAX_SHELLS``; both default to 8.
    """
    data_path = resolve_data_dir(data_dir)
    background = os.environ.pop(BACKGROUND_ENV, "") == "1"  # popped: sandboxes never see it
    try:
        data_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        _error(f"cannot create the data dir {data_path}: {exc.strerror or exc}")
        return 1
    if write_token:
        try:
            written = write_cli_token(data_path, force=force)
        except (TokenFileTaken, OSError) as exc:
            _error(f"cannot write the CLI token file: {exc}")
            return 1
        print(f"wrote {written} (mode 0600) with the token of {data_path}", file=sys.stderr)
        if not print_env:
            return 0
    if print_env:
        for line in print_env_lines(data_path, server_url(data_path, _url(host, port))):
            print(line)
        return 0
    if not is_loopback(host) and not allow_remote:
        _error(f"refusing to listen on {host}, which is not a loopback address; pass --allow-remote to allow it")
        return 2
    if not 0 <= port <= 65535:
        _error(f"--port must be between 0 and 65535, got {port}")
        return 2
    options = sandbox or SandboxOptions()
    max_shells = options.max_shells
    if max_shells is None:
        try:
            max_shells = max_shells_from_env()
        except ValueError as exc:
            _error(str(exc))
            return 2
    elif max_shells < 1:
        _error(f"--max-shells must be at least 1, got {max_shells}")
        return 2

    lock = DataDirLock(data_path)
    try:
        lock.acquire()
    except DataDirLocked as exc:
        _error(str(exc))
        return 1
    try:
        try:
            sock = _bind(host, port)
        except OSError as exc:
            _error(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another server using that port?)")
            return 1
        url = _url(host, sock.getsockname()[1])
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per proxied preview request
        try:
            runtime = SandboxRuntime(
                data_path, strict=options.strict, default_limits=options.limits, max_shells=max_shells,
            )
            _warn_missing(runtime)
            app = create_app(data_path, runtime=runtime)
        except (OSError, ValueError, SandboxRuntimeError) as exc:
            sock.close()
            _error(f"cannot open the data dir {data_path}: {exc}")
            return 1
        write_server_json(data_path, url, background=background)
        print(f"pocketenv-tui local backend listening on {url} (data dir {data_path})", flush=True)
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5, access_log=False,
        )
        server = uvicorn.Server(config)
        # uvicorn re-raises the signal that stopped it once it has shut down; with the default
        # handlers that would kill the process before server.json and the lock are cleaned up.
        previous = {sig: signal.signal(sig, _ignore_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sock.close()
            remove_server_json(data_path)
        return 0 if server.started else 1
    finally:
        lock.release()
