"""``io.pocketenv.variable.*``: environment variables, plaintext both ways."""

from __future__ import annotations

from pocketenv_tui.api.namespaces.records import RecordNamespace
from pocketenv_tui.api.resource_models import Variable
from pocketenv_tui.api.xrpc import drop_none


class VariablesNamespace(RecordNamespace[Variable]):
    list_nsid = "variable.getVariables"
    get_nsid = "variable.getVariable"
    delete_nsid = "variable.deleteVariable"
    list_key = "variables"
    parse = Variable.from_json

    async def add(self, sandbox_id: str | None, name: str, value: str) -> None:
        variable = {
            "sandboxId": await self._optional_sandbox_id(sandbox_id),
            "name": name,
            "value": value,
        }
        await self._xrpc.call("variable.addVariable", body={"variable": drop_none(variable)})

    async def update(self, id: str, *, sandbox_id: str | None, name: str, value: str) -> None:
        variable = {
            "sandboxId": await self._optional_sandbox_id(sandbox_id),
            "name": name,
            "value": value,
        }
        await self._xrpc.call(
            "variable.updateVariable", body={"id": id, "variable": drop_none(variable)}
        )
