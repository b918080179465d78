"""What every namespace of the client shares: the XRPC transport, the config, the id resolver."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pocketenv_tui.api.config import ClientConfig
from pocketenv_tui.api.crypto import seal
from pocketenv_tui.api.xrpc import XrpcTransport

# Turns a sandbox id, name or AT-URI into the sandbox id (see SandboxesNamespace.resolve_id).
IdResolver = Callable[[str], Awaitable[str]]


class Namespace:
    def __init__(self, xrpc: XrpcTransport, config: ClientConfig, resolve_id: IdResolver) -> None:
        self._xrpc = xrpc
        self._config = config
        self._resolve_id = resolve_id

    def _seal(self, plaintext: str) -> str:
        """Seal a value to the server's public key, the only form the server accepts for it."""
        return seal(plaintext, self._config.public_key)

    async def _optional_sandbox_id(self, sandbox: str | None) -> str | None:
        return None if sandbox is None else await self._resolve_id(sandbox)
