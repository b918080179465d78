"""Fixed usage figures and events for snapshot tests, and a proxy that hides both.

``FixedMonitoring`` stands in for ``client.monitoring`` inside ``StableView``: ``usage()``
still asks the real backend (so only running sandboxes are listed, as the server lists them)
but answers fixed figures and limits for them, keyed by the stable ids; ``events()`` answers a
fixed log of the sandboxes the view has seen. Real figures move every second and real limits
depend on the machine (the disk quota's filesystem), so neither may reach a snapshot.

``hide_monitoring`` is a ``BackendProxy`` ``before`` hook answering 404 ``XRPCNotSupported``
for both methods, as the hosted API does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pocketenv_tui.api.monitoring import EventPage, SandboxEvent, SandboxUsage
from tests.app.snapshot_support import FIXED_INSTANT, IdBook
from tests.backend_proxy import xrpc_method

MIB = 1024**2
GIB = 1024**3
MONITORING_METHODS = frozenset({"sandbox.getSandboxUsage", "sandbox.getSandboxEvents"})


@dataclass(frozen=True)
class Figures:
    cpu_percent: float
    memory_bytes: int
    disk_bytes: int
    pids: int


FIXED_FIGURES = {
    "alpha": Figures(3.2, 48 * MIB, 300 * MIB, 4),
    "charlie": Figures(62.5, 310 * MIB, int(1.2 * GIB), 9),
}
DEFAULT_FIGURES = Figures(1.0, 32 * MIB, 200 * MIB, 3)


def fixed_usage(sandbox_id: str, figures: Figures, sampled_at: datetime = FIXED_INSTANT) -> SandboxUsage:
    return SandboxUsage(
        sandbox_id=sandbox_id,
        cpu_percent=figures.cpu_percent,
        cpu_limit_percent=200.0,
        memory_bytes=figures.memory_bytes,
        memory_limit_bytes=2 * GIB,
        disk_bytes=figures.disk_bytes,
        disk_limit_bytes=10 * GIB,
        pids=figures.pids,
        pids_limit=1024,
        sampled_at=sampled_at,
    )


@dataclass(frozen=True)
class LoggedEvent:
    name: str  # the sandbox's
    kind: str
    message: str
    seconds: int  # after FIXED_INSTANT
    data: dict[str, Any] = field(default_factory=dict)


FIXED_EVENTS = [
    LoggedEvent("alpha", "created", "The sandbox alpha was created.", 0, {"base": "shell"}),
    LoggedEvent("alpha", "started", "The sandbox started.", 4, {"warnings": 0}),
    LoggedEvent("bravo", "created", "The sandbox bravo was created.", 10, {"base": "shell"}),
    LoggedEvent("bravo", "started", "The sandbox started.", 13, {"warnings": 0}),
    LoggedEvent("charlie", "created", "The sandbox charlie was created.", 20, {"base": "shell"}),
    LoggedEvent("charlie", "started", "The sandbox started.", 24, {"warnings": 0}),
    LoggedEvent("bravo", "stopped", "The sandbox was stopped.", 30, {"reason": "request"}),
    LoggedEvent("charlie", "service_started", "Service worker started.", 41, {"name": "worker"}),
    LoggedEvent("charlie", "service_exited", "Service worker exited with code 3.", 47,
                {"name": "worker", "exitCode": 3}),
    LoggedEvent("charlie", "exec_timed_out", "A command ran past its 30 s limit and was killed.", 65,
                {"command": "make test", "timeout": 30}),
    LoggedEvent("alpha", "oom_kill", "A process was killed: the sandbox ran out of memory (2 GB).", 80,
                {"count": 1}),
]


class FixedMonitoring:
    def __init__(self, inner: Any, book: IdBook, figures: dict[str, Figures] | None = None,
                 events: list[LoggedEvent] | None = None) -> None:
        self._inner = inner
        self._book = book
        self.figures = FIXED_FIGURES if figures is None else figures
        self.logged = FIXED_EVENTS if events is None else events

    def _stable_ids(self) -> dict[str, str]:
        return {real: stable for stable, real in self._book.real_by_stable.items()}

    async def usage(self, sandbox_id: str | None = None) -> list[SandboxUsage] | None:
        real = self._book.real(sandbox_id) if sandbox_id else None
        answer = await self._inner.usage(real)
        if answer is None:
            return None
        stable_ids = self._stable_ids()
        fixed = []
        for usage in answer:
            stable = stable_ids.get(usage.sandbox_id)
            if stable is not None:
                name = stable.removeprefix("sbx_")
                fixed.append(fixed_usage(stable, self.figures.get(name, DEFAULT_FIGURES)))
        return fixed

    async def events(self, sandbox_id: str | None = None, *, limit: int = 50,
                     before: str | None = None) -> EventPage | None:
        known = set(self._book.real_by_stable)
        events = [
            SandboxEvent(
                id=f"evt_{number:012d}",
                sandbox_id=f"sbx_{item.name}",
                sandbox_name=item.name,
                kind=item.kind,
                message=item.message,
                data=dict(item.data),
                created_at=FIXED_INSTANT + timedelta(seconds=item.seconds),
            )
            for number, item in enumerate(self.logged, start=1)
            if f"sbx_{item.name}" in known and (sandbox_id is None or f"sbx_{item.name}" == sandbox_id)
        ]
        return EventPage(events=list(reversed(events))[:limit], cursor=None)


def hide_monitoring(request: Request) -> Response | None:
    """Answer the two monitoring methods as a server without them does."""
    if xrpc_method(request) in MONITORING_METHODS:
        return JSONResponse({"error": "XRPCNotSupported", "message": "XRPCNotSupported"}, status_code=404)
    return None
