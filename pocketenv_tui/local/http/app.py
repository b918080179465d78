"""The local backend as one ASGI app (Starlette): XRPC, copy storage, previews and terminals."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http.handlers import MODULES as HANDLER_MODULES
from pocketenv_tui.local.http.preview import preview_routes
from pocketenv_tui.local.http.storage import storage_routes
from pocketenv_tui.local.http.terminals import terminal_routes
from pocketenv_tui.local.http.xrpc import Registry, make_endpoint
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime, SandboxRuntimeError
from pocketenv_tui.local.state.identity import load_or_create_identity
from pocketenv_tui.local.state.ids import xid
from pocketenv_tui.local.state.store import Store

log = logging.getLogger("pocketenv_tui.local")

BANNER = r"""
                 _        _
  _ __  ___  ___| | _____| |_ ___ _ ____   __
 | '_ \/ _ \/ __| |/ / _ \ __/ _ \ '_ \ \ / /
 | |_) | (_)| (__|   <  __/ ||  __/ | | \ V /
 | .__/\___/\___|_|\_\___|\__\___|_| |_|\_/
 |_|          local backend (pocketenv-tui)

"""
XRPC_VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(data_dir: Path, *, runtime: SandboxRuntime | None = None) -> Starlette:
    """The whole backend for ``data_dir`` as one Starlette app (identity created if missing).

    Without ``runtime`` one is made with the defaults (shells per sandbox from
    ``POCKETENV_MAX_SHELLS``, default 8).
    """
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

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await backend.startup()
        try:
            yield
        finally:
            try:
                await backend.shutdown()
            finally:
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
        Route("/xrpc/{nsid}", make_endpoint(registry, identity, SandboxRuntimeError), methods=XRPC_VERBS),
        *storage_routes(data_dir, identity),
        *preview_routes(backend),
        *terminal_routes(runtime, identity.verify_terminal_token, backend.resolve_for_terminal),
    ]
    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: method_not_allowed},
    )
    app.state.backend = backend
    return app
