"""The local backend's ASGI app (Starlette) and the ``pocketenv-tui serve`` command (uvicorn)."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pocketenv_tui.local import (
    handlers_ports,
    handlers_resources,
    handlers_sandboxes,
    handlers_services,
    handlers_settings,
    handlers_transfer,
)
from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.datadir import (
    DataDirLock,
    DataDirLocked,
    read_server_json,
    remove_server_json,
    resolve_data_dir,
    write_server_json,
)
from pocketenv_tui.local.identity import load_or_create_identity
from pocketenv_tui.local.ids import xid
from pocketenv_tui.local.preview import preview_routes
from pocketenv_tui.local.runtime import SandboxRuntime, SandboxRuntimeError
from pocketenv_tui.local.storage import storage_routes
from pocketenv_tui.local.store import Store
from pocketenv_tui.local.terminals import terminal_routes
from pocketenv_tui.local.xrpc import Registry, make_endpoint

log = logging.getLogger("pocketenv_tui.local")

BANNER = r"""
                 _        _
  _ __  ___  ___| | _____| |_ ___ _ ____   __
 | '_ \/ _ \/ __| |/ / _ \ __/ _ \ '_ \ \ / /
 | |_) | (_)| (__|   <  __/ ||  __/ | | \ V /
 | .__/\___/\___|_|\_\___|\__\___|_| |_|\_/
 |_|          local backend (pocketenv-tui)

"""
HANDLER_MODULES = (
    handlers_sandboxes, handlers_resources, handlers_services, handlers_ports, handlers_settings, handlers_transfer,
)
XRPC_VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(data_dir: Path, *, runtime: SandboxRuntime | None = None) -> Starlette:
    """The whole backend for ``data_dir`` as one Starlette app (identity created if missing)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    identity = load_or_create_identity(data_dir)
    store = Store(data_dir / "state.db")
    store.ensure_user(xid("rec"), identity.did, identity.handle, identity.created_at)
    runtime = runtime or SandboxRuntime(data_dir)
    backend = Backend(data_dir, identity, store, runtime)

    registry = Registry()
    for module in HANDLER_MODULES:
        for method in module.methods(backend):
            registry.add(method)

    http: dict[str, httpx.AsyncClient] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        http["client"] = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=5.0), follow_redirects=False)
        await backend.startup()
        try:
            yield
        finally:
            try:
                await backend.shutdown()
            finally:
                await http["client"].aclose()
                store.close()

    async def banner(request: Request) -> Response:
        return PlainTextResponse(BANNER)

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "NotFound", "message": f"No route for {request.url.path}"}, status_code=404)

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return JSONResponse(
            {"error": "InvalidRequest", "message": f"Method {request.method} is not allowed on {request.url.path}"},
            status_code=405,
        )

    routes = [
        Route("/", banner, methods=["GET"]),
        Route("/xrpc/{nsid}", make_endpoint(registry, identity.verify_token, SandboxRuntimeError), methods=XRPC_VERBS),
        *storage_routes(data_dir, identity.verify_token),
        *preview_routes(backend, lambda: http["client"]),
        *terminal_routes(runtime, identity.verify_token, backend.resolve_for_terminal),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.state.backend = backend
    return app


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


def print_env_lines(data_dir: Path, host: str, port: int) -> list[str]:
    identity = load_or_create_identity(data_dir)
    live = read_server_json(data_dir)
    url = live["url"] if live else _url(host, port)
    return [
        f"POCKETENV_API_URL={url}",
        f"POCKETENV_TOKEN={identity.token}",
        f"POCKETENV_PUBLIC_KEY={identity.public_key}",
        f"POCKETENV_STORAGE_URL={url}",
    ]


def run_serve(host: str, port: int, data_dir: str | Path | None, allow_remote: bool, print_env: bool) -> int:
    """``pocketenv-tui serve``: returns the process exit code, errors as one clear line."""
    data_path = resolve_data_dir(data_dir)
    try:
        data_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        _error(f"cannot create the data dir {data_path}: {exc.strerror or exc}")
        return 1
    if print_env:
        for line in print_env_lines(data_path, host, port):
            print(line)
        return 0
    if not is_loopback(host) and not allow_remote:
        _error(f"refusing to listen on {host}, which is not a loopback address; pass --allow-remote to allow it")
        return 2
    if not 0 <= port <= 65535:
        _error(f"--port must be between 0 and 65535, got {port}")
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
            app = create_app(data_path)
        except (OSError, ValueError) as exc:
            sock.close()
            _error(f"cannot open the data dir {data_path}: {exc}")
            return 1
        write_server_json(data_path, url)
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
