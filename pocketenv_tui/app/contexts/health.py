"""How a context is doing, for the contexts picker: reachable or not (and why), who the token
speaks for (``actor.getProfile``), how many sandboxes (``getActorSandboxes`` total) and the
latency of the profile call.

A local context whose backend is not running is reported as such and never started: the
picker only looks. Nothing here knows Textual; the picker runs one probe per context in its
own worker, and tests (and snapshots) pass a probe of their own with fixed figures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pocketenv_tui.api.config import ConfigError
from pocketenv_tui.api.errors import PocketenvConnectionError, PocketenvError
from pocketenv_tui.app.contexts.resolve import AppContext, ContextError

if TYPE_CHECKING:
    from pocketenv_tui.app.contexts.catalog import ContextCatalog

# Short: the picker is open and waiting, and a context that needs longer is not usable anyway.
HEALTH_TIMEOUT = 4.0

HealthState = Literal["checking", "reachable", "unreachable", "not running", "unusable"]


@dataclass(frozen=True)
class ContextHealth:
    state: HealthState
    reason: str = ""  # why it is unreachable or unusable
    who: str | None = None  # the profile's handle (or name, or DID)
    sandboxes: int | None = None
    latency_ms: int | None = None

    @property
    def summary(self) -> str:
        """One line: ``reachable · alice · 3 sandboxes · 12 ms``, ``unreachable: why``..."""
        if self.state == "reachable":
            parts = ["reachable", self.who or "unknown user"]
            if self.sandboxes is not None:
                parts.append(f"{self.sandboxes} sandbox{'' if self.sandboxes == 1 else 'es'}")
            if self.latency_ms is not None:
                parts.append(f"{self.latency_ms} ms")
            return " · ".join(parts)
        if self.state == "not running":
            return "not running (starts when chosen)"
        if self.state == "checking":
            return "checking…"
        return f"{self.state}: {self.reason}" if self.reason else self.state


CHECKING = ContextHealth("checking")
NOT_RUNNING = ContextHealth("not running")

HealthProbe = Callable[[str], Awaitable[ContextHealth]]


async def measure_health(
    catalog: ContextCatalog, name: str, *, timeout: float = HEALTH_TIMEOUT  # noqa: ASYNC109
) -> ContextHealth:
    """The health of the context ``catalog`` knows as ``name``, within about ``timeout``."""
    try:
        # Files and, for a local context, a probe of its recorded server: off the event loop.
        context = await asyncio.to_thread(catalog.peek, name, probe_timeout=min(2.0, timeout))
    except (ContextError, ConfigError) as exc:
        return ContextHealth("unusable", str(exc).rstrip("."))
    if context is None:
        return NOT_RUNNING
    return await probe_context(context, timeout=timeout)


async def probe_context(context: AppContext, *, timeout: float = HEALTH_TIMEOUT) -> ContextHealth:  # noqa: ASYNC109
    """Ask ``context``'s API who the token is and how many sandboxes it has."""
    try:
        client = context.make_client()
    except ConfigError as exc:
        return ContextHealth("unusable", str(exc))
    try:
        async with asyncio.timeout(timeout):
            started = time.perf_counter()
            profile = await client.actor.get_profile()
            latency = round((time.perf_counter() - started) * 1000)
            page = await client.actor.get_sandboxes(profile.did if profile else None, limit=1)
    except TimeoutError:
        return ContextHealth("unreachable", f"no answer within {timeout:g} s")
    except PocketenvConnectionError as exc:
        return ContextHealth("unreachable", str(exc))
    except PocketenvError as exc:
        return ContextHealth("unusable", str(exc))
    finally:
        await client.aclose()
    who = (profile.handle or profile.display_name or profile.did) if profile else None
    count = page.total
    if count is None and not page.sandboxes:
        count = 0  # no total sent, but an empty first page says it all
    return ContextHealth("reachable", who=who, sandboxes=count, latency_ms=latency)
