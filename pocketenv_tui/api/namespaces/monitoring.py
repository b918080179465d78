"""Usage figures and the event log of sandboxes (local-backend extension).

The hosted API has no such methods; both calls answer None there (a 404 naming no handler,
or 501), so the dashboard can say "no usage here" instead of showing an error.
"""

from __future__ import annotations

from pocketenv_tui.api.errors import PocketenvError
from pocketenv_tui.api.monitoring import EventPage, SandboxUsage, usage_list_from_json
from pocketenv_tui.api.namespaces.base import Namespace

# Error names a server gives a method it does not serve (api.md §1.5); a local 404 for a
# missing sandbox carries its own name (SandboxNotFound) and is raised as usual.
_UNSERVED_ERRORS = frozenset({"MethodNotImplemented", "XRPCNotSupported", "MethodNotSupported"})

EVENTS_PAGE_MAX = 200


def method_unserved(exc: PocketenvError) -> bool:
    """Whether ``exc`` says the server has no such method (rather than that the call failed)."""
    if exc.status == 501:
        return True
    return exc.status in (400, 404) and exc.error in _UNSERVED_ERRORS


class MonitoringNamespace(Namespace):
    async def usage(self, sandbox_id: str | None = None) -> list[SandboxUsage] | None:
        """Usage of the caller's running sandboxes (just ``sandbox_id``'s when given; [] when
        it is stopped); None when the server has no usage figures."""
        params = {"id": await self._optional_sandbox_id(sandbox_id)}
        try:
            data = await self._xrpc.call("sandbox.getSandboxUsage", params)
        except PocketenvError as exc:
            if method_unserved(exc):
                return None
            raise
        return usage_list_from_json(data)

    async def events(
        self, sandbox_id: str | None = None, *, limit: int = 50, before: str | None = None
    ) -> EventPage | None:
        """One page of events, newest first, of one sandbox or all the caller's; pass the
        page's ``cursor`` as ``before`` for the next. None when the server keeps no events."""
        params = {
            "id": await self._optional_sandbox_id(sandbox_id),
            "limit": max(1, min(EVENTS_PAGE_MAX, int(limit))),
            "before": before or None,
        }
        try:
            data = await self._xrpc.call("sandbox.getSandboxEvents", params)
        except PocketenvError as exc:
            if method_unserved(exc):
                return None
            raise
        return EventPage.from_json(data)
