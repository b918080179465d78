"""A sandbox's live shells, by session key (local-backend extension).

The hosted API has no such methods: it answers 404 or 501 (``MethodNotImplemented``), which
:func:`shell_listing_unsupported` recognises so a caller can fall back to the keys it kept.
"""

from __future__ import annotations

from pocketenv_tui.api.errors import PocketenvError
from pocketenv_tui.api.models import items_of
from pocketenv_tui.api.namespaces.base import Namespace
from pocketenv_tui.api.resource_models import Shell

# Error names a server gives a method it does not serve (api.md §1.5); a local 404 for a
# missing sandbox or shell carries its own name (SandboxNotFound, ShellNotFound).
_UNSERVED_ERRORS = frozenset({"MethodNotImplemented", "XRPCNotSupported", "MethodNotSupported"})


def shell_listing_unsupported(exc: PocketenvError) -> bool:
    """Whether ``exc`` says the server has no shell methods (rather than that a call failed)."""
    if exc.status == 501:
        return True
    return exc.status in (400, 404) and exc.error in _UNSERVED_ERRORS


class ShellsNamespace(Namespace):
    async def list(self, sandbox_id: str) -> list[Shell]:
        """The sandbox's live shells, oldest first."""
        data = await self._xrpc.call("sandbox.getShells", {"id": await self._resolve_id(sandbox_id)})
        return [s for s in map(Shell.from_json, items_of(data, "shells")) if s is not None]

    async def end(self, sandbox_id: str, key: str) -> None:
        """End the shell under ``key`` (its programs get SIGHUP, then SIGKILL)."""
        await self._xrpc.call(
            "sandbox.endShell", body={"id": await self._resolve_id(sandbox_id), "key": key}
        )
