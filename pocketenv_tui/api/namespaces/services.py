"""``io.pocketenv.service.*``: long-running commands supervised inside a sandbox."""

from __future__ import annotations

from collections.abc import Sequence

from pocketenv_tui.api.models import items_of
from pocketenv_tui.api.namespaces.base import Namespace
from pocketenv_tui.api.resource_models import Service
from pocketenv_tui.api.xrpc import drop_none


def _service_body(
    name: str, command: str, description: str | None, ports: Sequence[int] | None
) -> dict[str, object]:
    return {
        "service": drop_none(
            {
                "name": name,
                "command": command,
                "description": description,
                "ports": [int(p) for p in ports] if ports is not None else None,
            }
        )
    }


class ServicesNamespace(Namespace):
    async def add(
        self,
        sandbox_id: str,
        name: str,
        command: str,
        *,
        description: str | None = None,
        ports: Sequence[int] | None = None,
    ) -> None:
        """Add a service; it starts at once if the sandbox is running."""
        await self._xrpc.call(
            "service.addService",
            {"sandboxId": await self._resolve_id(sandbox_id)},
            _service_body(name, command, description, ports),
        )

    async def list(self, sandbox_id: str) -> list[Service]:
        data = await self._xrpc.call(
            "service.getServices", {"sandboxId": await self._resolve_id(sandbox_id)}
        )
        return [s for s in map(Service.from_json, items_of(data, "services")) if s is not None]

    async def update(
        self,
        service_id: str,
        *,
        name: str,
        command: str,
        description: str | None = None,
        ports: Sequence[int] | None = None,
    ) -> None:
        """Change a service (ports replaced when given); it is not restarted."""
        await self._xrpc.call(
            "service.updateService",
            {"serviceId": service_id},
            _service_body(name, command, description, ports),
        )

    async def start(self, service_id: str) -> None:
        await self._xrpc.call("service.startService", {"serviceId": service_id})

    async def stop(self, service_id: str) -> None:
        await self._xrpc.call("service.stopService", {"serviceId": service_id})

    async def restart(self, service_id: str) -> None:
        await self._xrpc.call("service.restartService", {"serviceId": service_id})

    async def delete(self, service_id: str) -> None:
        await self._xrpc.call("service.deleteService", {"serviceId": service_id})

    async def logs(self, service_id: str) -> str:
        """The service's output so far (local backend only; the hosted server answers 404)."""
        data = await self._xrpc.call("service.getServiceLogs", {"serviceId": service_id})
        log = data.get("log") if isinstance(data, dict) else None
        return log if isinstance(log, str) else ""
