"""Events derived from what the app polls, for servers that keep no event log.

The hosted API has no ``getSandboxEvents``; the dashboard still sees every sandbox's status at
each poll. ``StatusWatch`` turns the changes between two polls into events ("alpha RUNNING ->
STOPPED (seen by this app)") with the same shape as the server's, so the views show both alike.
What happened between two polls, or before the app started, is not there: the views say so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.monitoring import SandboxEvent

SEEN_LIMIT = 500  # events kept (newest); a long session must not grow without bound
SEEN_SUFFIX = "(seen by this app)"
GONE = "gone"
KIND_BY_STATUS = {"RUNNING": "started", "STOPPED": "stopped", "FAILED": "start_failed"}


class StatusWatch:
    """The last status seen of each sandbox, and the changes seen since the first poll."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self._seen: dict[str, tuple[str, str]] = {}  # sandbox id -> (name, status)
        self._events: deque[SandboxEvent] = deque(maxlen=limit)
        self._count = 0
        self._listed_all = False  # a complete list was seen: a new id is a new sandbox

    def observe(self, sandboxes: Iterable[Sandbox], now: datetime, *, complete: bool) -> list[SandboxEvent]:
        """One poll's sandboxes. ``complete``: every sandbox of the account is listed, so one
        missing was deleted (a list of running ones only says nothing about the others)."""
        found: list[SandboxEvent] = []
        listed: set[str] = set()
        for sandbox in sandboxes:
            listed.add(sandbox.id)
            event = self._note(sandbox, now, new_is_created=self._listed_all)
            if event is not None:
                found.append(event)
        if complete:
            for sandbox_id in [key for key in self._seen if key not in listed]:
                found.append(self.gone(sandbox_id, now))
            self._listed_all = True
        return found

    def observe_one(self, sandbox: Sandbox, now: datetime) -> SandboxEvent | None:
        """A single sandbox read (the sandbox screen's poll)."""
        return self._note(sandbox, now, new_is_created=False)

    def gone(self, sandbox_id: str, now: datetime) -> SandboxEvent:
        name, status = self._seen.pop(sandbox_id, (sandbox_id, "?"))
        return self._add(sandbox_id, name, "deleted", f"{name} {status} -> {GONE} {SEEN_SUFFIX}", status, GONE, now)

    def _note(self, sandbox: Sandbox, now: datetime, *, new_is_created: bool) -> SandboxEvent | None:
        status = sandbox.status or "UNKNOWN"
        before = self._seen.get(sandbox.id)
        self._seen[sandbox.id] = (sandbox.name, status)
        if before is None:
            if not new_is_created:
                return None  # first sight: nothing to compare with
            message = f"{sandbox.name} appeared, {status} {SEEN_SUFFIX}"
            return self._add(sandbox.id, sandbox.name, "created", message, None, status, now)
        if before[1] == status:
            return None
        kind = KIND_BY_STATUS.get(status, "status_changed")
        message = f"{sandbox.name} {before[1]} -> {status} {SEEN_SUFFIX}"
        return self._add(sandbox.id, sandbox.name, kind, message, before[1], status, now)

    def _add(
        self, sandbox_id: str, name: str, kind: str, message: str, old: str | None, new: str, now: datetime
    ) -> SandboxEvent:
        self._count += 1
        event = SandboxEvent(
            id=f"seen-{self._count}",
            sandbox_id=sandbox_id,
            sandbox_name=name,
            kind=kind,
            message=message,
            data={"from": old, "to": new, "source": "seen by this app"},
            created_at=now,
        )
        self._events.append(event)
        return event

    def events(self, sandbox_id: str | None = None) -> list[SandboxEvent]:
        """Newest first; only ``sandbox_id``'s when given."""
        return [e for e in reversed(self._events) if sandbox_id is None or e.sandbox_id == sandbox_id]
