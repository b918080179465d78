"""Live usage figures: one ``monitoring.usage()`` call per list refresh (made beside the list
call, in the same worker), the newest figures per running sandbox, and a short history per
sandbox for the sandbox screen's graphs.

Everything lives in one :class:`Monitor` per app and API (``monitor_of(app)``): the list's poll
and the sandbox screen's poll both feed it, so opening a sandbox shows the samples the list
already gathered. A server without usage figures (the hosted API) answers None once; the
monitor remembers that and asks no more, and the views show the limits with ``-`` for use.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.monitoring import SandboxUsage
from pocketenv_tui.app.formatting import GIB, MIB
from pocketenv_tui.app.seen_events import StatusWatch

if TYPE_CHECKING:
    from textual.app import App

    from pocketenv_tui.api import PocketenvClient
    from pocketenv_tui.app.app import PocketenvApp
    from pocketenv_tui.app.screens.sandboxes import SandboxesScreen

HISTORY_SAMPLES = 60  # per sandbox: a minute or more of graph at the usual refresh
NO_USAGE_NOTICE = "No usage figures from this server: CPU, MEM and DISK show the limits only."


@dataclass(frozen=True)
class Limits:
    """What a sandbox may use: vCPUs, bytes of memory and disk, processes (None: unknown)."""

    vcpus: float | None = None
    memory_bytes: int | None = None
    disk_bytes: int | None = None
    pids: int | None = None


def limits_of(sandbox: Sandbox, usage: SandboxUsage | None = None) -> Limits:
    """The limits in force: the usage sample's (what the server enforces now) first, then the
    record's ``limits`` (the local backend's), then its sizes in GB (the hosted API's)."""
    record = sandbox.limits
    vcpus: float | None = record.vcpus if record else None
    memory = record.memory_mib * MIB if record and record.memory_mib is not None else None
    disk = record.disk_mib * MIB if record and record.disk_mib is not None else None
    pids = record.pids if record else None
    if vcpus is None and sandbox.vcpus is not None:
        vcpus = float(sandbox.vcpus)
    if memory is None and sandbox.memory is not None:
        memory = sandbox.memory * GIB
    if disk is None and sandbox.disk is not None:
        disk = sandbox.disk * GIB
    if usage is not None:
        if usage.cpu_limit_percent is not None:
            vcpus = usage.cpu_limit_percent / 100.0
        memory = usage.memory_limit_bytes if usage.memory_limit_bytes is not None else memory
        disk = usage.disk_limit_bytes if usage.disk_limit_bytes is not None else disk
        pids = usage.pids_limit if usage.pids_limit is not None else pids
    return Limits(vcpus, memory, disk, pids)


class UsageHistory:
    """The last ``size`` samples of each sandbox, oldest first."""

    def __init__(self, size: int = HISTORY_SAMPLES) -> None:
        self.size = size
        self._samples: dict[str, deque[SandboxUsage]] = {}

    def add(self, usage: SandboxUsage) -> bool:
        """Keep ``usage``; False when it is the sample already kept (the list and the sandbox
        screen may both read the server's same sample)."""
        samples = self._samples.setdefault(usage.sandbox_id, deque(maxlen=self.size))
        if samples and usage.sampled_at is not None and samples[-1].sampled_at == usage.sampled_at:
            if samples[-1] == usage:
                return False
            samples.pop()  # the same instant, figures filled in since: keep the fuller one
        samples.append(usage)
        return True

    def samples(self, sandbox_id: str) -> list[SandboxUsage]:
        return list(self._samples.get(sandbox_id, ()))

    def series(self, sandbox_id: str, figure: Callable[[SandboxUsage], float | int | None]) -> list[float]:
        """One figure over time, the samples that lack it left out."""
        values = (figure(sample) for sample in self._samples.get(sandbox_id, ()))
        return [float(value) for value in values if value is not None]


@dataclass
class Monitor:
    """Usage and seen statuses for one API, shared by every view of the app."""

    scope: str
    history: UsageHistory = field(default_factory=UsageHistory)
    latest: dict[str, SandboxUsage] = field(default_factory=dict)  # running sandboxes only
    usage_supported: bool | None = None  # None until the server answered once
    events_supported: bool | None = None
    usage_notice_given: bool = False
    seen: StatusWatch = field(default_factory=StatusWatch)

    def take_usage(self, figures: list[SandboxUsage] | None, sandbox_id: str | None = None) -> bool:
        """Keep an answer of ``usage(sandbox_id)``; True when the newest figures changed."""
        if figures is None:
            changed = self.usage_supported is not False or bool(self.latest)
            self.usage_supported = False
            self.latest.clear()
            return changed
        self.usage_supported = True
        for usage in figures:
            self.history.add(usage)
        fresh = {usage.sandbox_id: usage for usage in figures}
        if sandbox_id is None:
            # Only running sandboxes are listed: one that is missing has no figures now.
            changed, self.latest = fresh != self.latest, fresh
            return changed
        before = self.latest.get(sandbox_id)
        after = fresh.get(sandbox_id)
        if after is None:
            self.latest.pop(sandbox_id, None)
        else:
            self.latest[sandbox_id] = after
        return before != after

    def usage_of(self, sandbox_id: str) -> SandboxUsage | None:
        return self.latest.get(sandbox_id)


_MONITORS: WeakKeyDictionary[App, Monitor] = WeakKeyDictionary()


def monitor_of(app: App) -> Monitor:
    """The app's monitor for the API it talks to now (a fresh one after a context switch:
    sandbox ids, figures and what the server offers all belong to one API)."""
    context = getattr(app, "context", None)
    scope = str(getattr(context, "api_url", ""))
    monitor = _MONITORS.get(app)
    if monitor is None or monitor.scope != scope:
        monitor = Monitor(scope)
        _MONITORS[app] = monitor
    return monitor


async def fetch_usage(client: PocketenvClient, monitor: Monitor, sandbox_id: str | None = None) -> bool:
    """One ``usage()`` call into ``monitor``; True when the figures shown should change.

    A failed call keeps the last figures: the view's own poll reports an unreachable server,
    and usage alone is not worth a second error."""
    if monitor.usage_supported is False:
        return False
    try:
        figures = await client.monitoring.usage(sandbox_id)
    except PocketenvError:
        return False
    return monitor.take_usage(figures, sandbox_id)


async def follow_sandbox(
    client: PocketenvClient, monitor: Monitor, sandbox_id: str, fresh: Sandbox | None, now: datetime
) -> None:
    """After the sandbox screen read one sandbox: note its status (the events fallback) and,
    while it runs, read its usage."""
    if fresh is None:
        monitor.seen.gone(sandbox_id, now)
        monitor.latest.pop(sandbox_id, None)
        return
    monitor.seen.observe_one(fresh, now)
    if fresh.is_running:
        await fetch_usage(client, monitor, sandbox_id)
    else:
        monitor.latest.pop(sandbox_id, None)


async def listed_with_usage(app: PocketenvApp, listing: AsyncIterator[Sandbox]) -> list[Sandbox]:
    """The list poll's sandboxes, with one ``usage()`` call made beside the listing (at the
    same time, so the rows arrive once, figures and all, no later than the list alone would)."""

    async def collect() -> list[Sandbox]:
        return [sandbox async for sandbox in listing]

    found, _ = await asyncio.gather(collect(), fetch_usage(app.client, monitor_of(app)))
    return found


def follow_list(screen: SandboxesScreen, found: list[Sandbox]) -> None:
    """After each list poll: note the statuses (the events fallback), and say once that the
    server has no usage figures (not an error: the columns show the limits)."""
    app = screen.pocketenv
    monitor = monitor_of(app)
    if screen.view in ("mine", "running"):
        # Only "mine" lists every sandbox, so only there does a missing one mean it is gone.
        monitor.seen.observe(found, app.now(), complete=screen.view == "mine")
    if monitor.usage_supported is False and not monitor.usage_notice_given:
        monitor.usage_notice_given = True
        screen.notify(NO_USAGE_NOTICE, title="Usage", severity="information", timeout=8)


def latest_usage(app: App) -> Mapping[str, SandboxUsage]:
    """Sandbox id -> its newest figures (running sandboxes the server measured)."""
    return monitor_of(app).latest
