"""``io.pocketenv.secret.*``: values sealed on this side; the server never shows them back."""

from __future__ import annotations

from pocketenv_tui.api.namespaces.records import RecordNamespace
from pocketenv_tui.api.resource_models import Secret
from pocketenv_tui.api.xrpc import drop_none


class SecretsNamespace(RecordNamespace[Secret]):
    list_nsid = "secret.getSecrets"
    get_nsid = "secret.getSecret"
    delete_nsid = "secret.deleteSecret"
    list_key = "secrets"
    parse = Secret.from_json

    # No "redacted" companion is sent: the generic rule leaves values of 14 characters or
    # fewer unmasked, which would store short secrets in plaintext on the server.

    async def add(self, sandbox_id: str | None, name: str, value: str) -> None:
        secret = {
            "sandboxId": await self._optional_sandbox_id(sandbox_id),
            "name": name,
            "value": self._seal(value),
        }
        await self._xrpc.call("secret.addSecret", body={"secret": drop_none(secret)})

    async def update(self, id: str, *, sandbox_id: str | None, name: str, value: str) -> None:
        """Rename and/or replace the value (sealed, unlike the JS SDK which sends it in clear)."""
        secret = {
            "sandboxId": await self._optional_sandbox_id(sandbox_id),
            "name": name,
            "value": self._seal(value),
        }
        await self._xrpc.call("secret.updateSecret", body={"id": id, "secret": drop_none(secret)})
