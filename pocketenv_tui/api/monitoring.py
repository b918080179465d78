"""Live usage figures and the event log of sandboxes (local-backend extension).

``getSandboxUsage`` answers ``{"usage": [...]}`` for the caller's running sandboxes and
``getSandboxEvents`` one page of ``{"events": [...], "cursor": ...}``, newest first. Like the
models in :mod:`pocketenv_tui.api.models`, every ``from_json`` here takes whatever arrives
without raising: a figure the server could not tell (or sent as something odd, negative or not
finite) is None, and a record without its id is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pocketenv_tui.api.models import _float, _int, _str, items_of, parse_datetime


def _amount(value: Any) -> int | None:
    """A byte or process count; None for unknown, and for a negative number, which none is."""
    number = _int(value)
    return None if number is None or number < 0 else number


def _percent(value: Any) -> float | None:
    number = _float(value)
    return None if number is None or number < 0 else number


@dataclass(frozen=True, slots=True)
class SandboxUsage:
    """What one running sandbox uses now, beside its limits (None: the server cannot tell).

    ``cpu_percent`` is a percent of one CPU since the server's previous sample of this
    sandbox, so two busy CPUs read 200; ``cpu_limit_percent`` is its vCPUs times 100.
    """

    sandbox_id: str
    cpu_percent: float | None = None
    cpu_limit_percent: float | None = None
    memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    disk_bytes: int | None = None
    disk_limit_bytes: int | None = None
    pids: int | None = None
    pids_limit: int | None = None
    sampled_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> SandboxUsage | None:
        if not isinstance(data, dict):
            return None
        sandbox_id = _str(data.get("sandboxId"))
        if not sandbox_id:
            return None
        return cls(
            sandbox_id=sandbox_id,
            cpu_percent=_percent(data.get("cpuPercent")),
            cpu_limit_percent=_percent(data.get("cpuLimitPercent")),
            memory_bytes=_amount(data.get("memoryBytes")),
            memory_limit_bytes=_amount(data.get("memoryLimitBytes")),
            disk_bytes=_amount(data.get("diskBytes")),
            disk_limit_bytes=_amount(data.get("diskLimitBytes")),
            pids=_amount(data.get("pids")),
            pids_limit=_amount(data.get("pidsLimit")),
            sampled_at=parse_datetime(data.get("sampledAt")),
        )


def usage_list_from_json(data: Any) -> list[SandboxUsage]:
    return [u for u in map(SandboxUsage.from_json, items_of(data, "usage")) if u is not None]


@dataclass(frozen=True, slots=True)
class SandboxEvent:
    """One thing that happened to a sandbox: ``kind`` for machines, ``message`` for people.

    Kinds the local backend records: created, started, start_failed, stopped, deleted,
    repo_clone_failed, service_started, service_exited, exec_timed_out, oom_kill, pids_limit,
    shell_opened, shell_closed, applies_at_next_start; others are kept as they come.
    """

    id: str
    sandbox_id: str | None = None
    sandbox_name: str | None = None
    kind: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict, compare=False)
    created_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> SandboxEvent | None:
        if not isinstance(data, dict):
            return None
        event_id = _str(data.get("id"))
        if not event_id:
            return None
        details = data.get("data")
        return cls(
            id=event_id,
            sandbox_id=_str(data.get("sandboxId")),
            sandbox_name=_str(data.get("sandboxName")),
            kind=_str(data.get("kind")) or "",
            message=_str(data.get("message")) or "",
            data=details if isinstance(details, dict) else {},
            created_at=parse_datetime(data.get("createdAt")),
        )


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of events, newest first; ``cursor`` goes in ``before`` for the next (None: the end)."""

    events: list[SandboxEvent]
    cursor: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> EventPage:
        events = [e for e in map(SandboxEvent.from_json, items_of(data, "events")) if e is not None]
        cursor = _str(data.get("cursor")) if isinstance(data, dict) else None
        return cls(events=events, cursor=cursor or None)

    def __len__(self) -> int:
        return len(self.events)
