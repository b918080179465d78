"""XRPC handlers for services (supervised processes) and their bounded output log."""

from __future__ import annotations

from typing import Any

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http import views
from pocketenv_tui.local.http.xrpc import NO_CONTENT, Call, Method, Param
from pocketenv_tui.local.sandbox.runtime import SandboxRuntimeError, ServiceSpec
from pocketenv_tui.local.state.ids import capability_token, xid
from pocketenv_tui.local.state.store import Conflict

NS = "io.pocketenv.service."


def _service_input(body: dict[str, Any]) -> dict[str, Any]:
    where = "Input/service"
    item = v.obj(body, "service")
    assert item is not None
    return {
        "name": v.string(item, "name", where, min_len=1, max_len=100),
        "command": v.string(item, "command", where, min_len=1, max_len=16_000),
        "description": v.string(item, "description", where, required=False, max_len=3000),
        "ports": v.int_list(item, "ports", where, minimum=1025, maximum=65535, max_items=100),
    }


def _port_rows(sandbox_id: str, service_id: str, name: str, ports: list[int] | None) -> list[dict[str, Any]]:
    return [
        {
            "sandbox_id": sandbox_id, "port": p, "target_port": p, "service_id": service_id,
            "description": f"Port {p} for service {name}", "preview_token": capability_token(),
        }
        for p in ports or []
    ]


def methods(b: Backend) -> list[Method]:
    async def owned(service_id: str, did: str) -> tuple[dict[str, Any], dict[str, Any]]:
        service = await b.db(b.store.get_service, service_id, did)
        if service is None:
            raise v.not_found("Service not found")
        sandbox = await b.db(b.store.get_sandbox, service["sandbox_id"])
        return service, sandbox

    async def start(sandbox: dict[str, Any], service: dict[str, Any]) -> None:
        await b.runtime.start_service(sandbox["id"], ServiceSpec(id=service["id"], name=service["name"], command=service["command"]))
        await b.db(b.store.set_service_status, service["id"], "RUNNING")

    async def stop(sandbox: dict[str, Any], service: dict[str, Any]) -> None:
        if b.runtime.is_running(sandbox["id"]):
            await b.runtime.stop_service(sandbox["id"], service["id"])
        await b.db(b.store.set_service_status, service["id"], "STOPPED")

    async def add_service(c: Call) -> Any:
        fields = _service_input(c.input)
        sandbox = await b.own_sandbox(c.params["sandboxId"], c.did)
        row = {"id": xid("rec"), "sandbox_id": sandbox["id"], **fields}
        try:
            await b.db(b.store.add_service, row, _port_rows(sandbox["id"], row["id"], fields["name"], fields["ports"]))
        except Conflict:
            raise v.conflict(
                f"Service {fields['name']!r} already exists in this sandbox, or one of its ports is already exposed"
            ) from None
        if sandbox["status"] == "RUNNING" and b.runtime.is_running(sandbox["id"]):
            await start(sandbox, {**row, "status": "STOPPED"})
        return NO_CONTENT

    async def get_services(c: Call) -> Any:
        sandbox = await b.own_sandbox(c.params["sandboxId"], c.did)
        rows = await b.db(b.store.list_services, sandbox["id"])
        return {"services": [views.service(r, *await b.service_status(sandbox, r)) for r in rows]}

    async def update_service(c: Call) -> Any:
        fields = _service_input(c.input)
        service, sandbox = await owned(c.params["serviceId"], c.did)
        ports = None if fields["ports"] is None else _port_rows(sandbox["id"], service["id"], fields["name"], fields["ports"])
        try:
            await b.db(b.store.update_service, service["id"], fields, ports)
        except Conflict:
            raise v.conflict(
                f"Service {fields['name']!r} already exists in this sandbox, or one of its ports is already exposed"
            ) from None
        return NO_CONTENT

    async def start_service(c: Call) -> Any:
        service, sandbox = await owned(c.params["serviceId"], c.did)
        sandbox = await b.running_sandbox(sandbox["id"], c.did, wait_for_start=True)
        if (await b.service_status(sandbox, service))[0] != "RUNNING":
            await start(sandbox, service)
        return NO_CONTENT

    async def stop_service(c: Call) -> Any:
        service, sandbox = await owned(c.params["serviceId"], c.did)
        await stop(sandbox, service)
        return NO_CONTENT

    async def restart_service(c: Call) -> Any:
        service, sandbox = await owned(c.params["serviceId"], c.did)
        sandbox = await b.running_sandbox(sandbox["id"], c.did, wait_for_start=True)
        await stop(sandbox, service)
        await start(sandbox, service)
        return NO_CONTENT

    async def delete_service(c: Call) -> Any:
        service, sandbox = await owned(c.params["serviceId"], c.did)
        await stop(sandbox, service)
        await b.db(b.store.delete_service, service["id"])
        return NO_CONTENT

    async def get_service_logs(c: Call) -> Any:
        service, sandbox = await owned(c.params["serviceId"], c.did)
        try:
            log = b.runtime.service_log(sandbox["id"], service["id"])
        except SandboxRuntimeError:
            log = ""
        return {"serviceId": service["id"], "log": log}

    by_service = (Param("serviceId", required=True),)
    return [
        Method(NS + "addService", "POST", add_service, (Param("sandboxId", required=True),), has_input=True),
        Method(NS + "getServices", "GET", get_services, (Param("sandboxId", required=True),)),
        Method(NS + "updateService", "POST", update_service, by_service, has_input=True),
        Method(NS + "startService", "POST", start_service, by_service),
        Method(NS + "stopService", "POST", stop_service, by_service),
        Method(NS + "restartService", "POST", restart_service, by_service),
        Method(NS + "deleteService", "POST", delete_service, by_service),
        Method(NS + "getServiceLogs", "GET", get_service_logs, by_service),
    ]
