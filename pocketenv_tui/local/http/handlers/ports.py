"""XRPC handlers for exposed ports (preview URLs served by this server) and VS Code."""

from __future__ import annotations

import shutil
import socket
from typing import Any

from pocketenv_tui.local.backend import VSCODE_PORT, Backend, vscode_service
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http import views
from pocketenv_tui.local.http.xrpc import NO_CONTENT, Call, Method, Param
from pocketenv_tui.local.state.ids import capability_token
from pocketenv_tui.local.state.store import Conflict

NS = "io.pocketenv.sandbox."


def base_url(c: Call) -> str:
    return str(c.request.base_url)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def methods(b: Backend) -> list[Method]:
    async def expose_port(c: Call) -> Any:
        port = v.integer(c.input, "port", minimum=1025, maximum=65535)
        description = v.string(c.input, "description", required=False, max_len=3000)
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        token = capability_token()
        try:
            await b.db(b.store.add_port, {
                "sandbox_id": sandbox["id"], "port": port, "target_port": port,
                "description": description, "preview_token": token,
            })
        except Conflict:
            raise v.conflict(f"Port {port} is already exposed") from None
        return {"previewUrl": views.preview_url(base_url(c), token)}

    async def unexpose_port(c: Call) -> Any:
        port = v.integer(c.input, "port", minimum=1024, maximum=65535)
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        if port == VSCODE_PORT and b.runtime.is_running(sandbox["id"]):
            await b.runtime.stop_service(sandbox["id"], vscode_service(0).id)
        if await b.db(b.store.delete_port, sandbox["id"], port) == 0:
            raise v.not_found(f"Port {port} is not exposed")
        return NO_CONTENT

    async def get_exposed_ports(c: Call) -> Any:
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        rows = await b.db(b.store.list_ports, sandbox["id"])
        return {"ports": [views.port(r, base_url(c)) for r in rows]}

    async def expose_vscode(c: Call) -> Any:
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        existing = await b.db(b.store.get_port, sandbox["id"], VSCODE_PORT)
        if existing is not None:
            return {"previewUrl": views.preview_url(base_url(c), existing["preview_token"])}
        if shutil.which("code-server") is None:
            raise v.XrpcError(
                400, "CodeServerNotFound",
                "VS Code needs code-server, which is not installed on this machine (no `code-server` on PATH)",
            )
        sandbox = await b.running_sandbox(sandbox["id"], c.did)
        target = free_port()
        token = capability_token()
        await b.runtime.start_service(sandbox["id"], vscode_service(target))
        try:
            await b.db(b.store.add_port, {
                "sandbox_id": sandbox["id"], "port": VSCODE_PORT, "target_port": target,
                "description": "VS Code Server", "preview_token": token,
            })
        except Conflict:
            await b.runtime.stop_service(sandbox["id"], vscode_service(target).id)
            raise v.conflict("VS Code is already being exposed for this sandbox") from None
        return {"previewUrl": views.preview_url(base_url(c), token)}

    sid = (Param("id", required=True),)
    return [
        Method(NS + "exposePort", "POST", expose_port, sid, has_input=True),
        Method(NS + "unexposePort", "POST", unexpose_port, sid, has_input=True),
        Method(NS + "getExposedPorts", "GET", get_exposed_ports, sid),
        Method(NS + "exposeVscode", "POST", expose_vscode, sid),
    ]
