"""Typed views of what the Pocketenv server sends, tolerant of its real shapes.

The hosted server does not follow its own lexicons (reference/api.md §3, §6): records come
wrapped (``{"sandbox": ...}``) or bare, fields are missing or extra, timestamps are ISO strings
where integers are declared, and reads that fail answer ``{}``. Every ``from_json`` here
accepts all of that without raising: missing optional fields become None, unknown fields are
kept in ``extra``, unknown status values are kept as they are.

The records a sandbox carries (ports, secrets, services...) live in
:mod:`pocketenv_tui.api.resource_models`, so that a program that only lists sandboxes does not
pay for building their classes; their names can still be imported from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")

STATUS_INITIALIZING = "INITIALIZING"
STATUS_RUNNING = "RUNNING"
STATUS_STOPPED = "STOPPED"


# --- lenient field readers ---------------------------------------------------------------


def parse_datetime(value: Any) -> datetime | None:
    """An ISO-8601 string, epoch seconds or milliseconds, or None; anything else is None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an integer beyond any float, let alone any date
            return None
        if abs(seconds) > 1e11:  # larger than any plausible epoch in seconds: milliseconds
            seconds /= 1000.0
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return parse_datetime(float(text)) if _looks_numeric(text) else _parse_iso(text)
        except ValueError:
            return None
    return None


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_iso(text: str) -> datetime:
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


_INT_LIMIT = 2**63


def _int(value: Any) -> int | None:
    """A whole number from a number or numeric text; None ("unknown") for anything else,
    including infinities and NaN (``"INFINITY"``, ``1e999``), which have no integer, and
    numbers beyond 64 bits."""
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, int):
        try:
            value = int(float(value))
        except (TypeError, ValueError, OverflowError):
            return None
    # Beyond 64 bits no count, size or code is real; it would only break what shows it.
    return value if -_INT_LIMIT < value < _INT_LIMIT else None


def _float(value: Any) -> float | None:
    """A finite number from a number or numeric text; None for anything else."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


def _str_list(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [item if isinstance(item, str) else str(item) for item in value]


def _int_list(value: Any) -> list[int] | None:
    if not isinstance(value, list):
        return None
    numbers = (_int(item) for item in value)
    return [number for number in numbers if number is not None]


def _extra(data: Mapping[str, Any], known: Iterable[str]) -> dict[str, Any]:
    known_set = set(known)
    return {key: value for key, value in data.items() if key not in known_set}


def unwrap(data: Any, key: str) -> dict[str, Any] | None:
    """``data[key]`` when the server wrapped the record, ``data`` when it sent it bare.

    None for an empty answer (``{}``, ``{key: null}``, no body) or one that is not an object.
    """
    if not isinstance(data, dict):
        return None
    if key in data:
        inner = data[key]
        return inner if isinstance(inner, dict) and inner else None
    return data or None


def items_of(data: Any, key: str) -> list[dict[str, Any]]:
    """The objects listed under ``key`` (or a bare array); error-swallowing shapes give []."""
    if isinstance(data, list):
        raw = data
    elif isinstance(data, dict) and isinstance(data.get(key), list):
        raw = data[key]
    else:
        raw = []
    return [item for item in raw if isinstance(item, dict)]


def total_of(data: Any) -> int | None:
    return _int(data.get("total")) if isinstance(data, dict) else None


# --- models ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Profile:
    id: str | None
    did: str
    handle: str | None = None
    display_name: str | None = None
    avatar: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    _KNOWN = ("id", "did", "handle", "displayName", "avatar", "createdAt", "updatedAt")

    @classmethod
    def from_json(cls, data: Any) -> Profile | None:
        """None for the ``{}`` the server answers when it cannot build a profile."""
        record = unwrap(data, "profile")
        if record is None or not record.get("did"):
            return None
        return cls(
            id=_str(record.get("id")),
            did=str(record["did"]),
            handle=_str(record.get("handle")),
            display_name=_str(record.get("displayName")),
            avatar=_str(record.get("avatar")),
            created_at=parse_datetime(record.get("createdAt")),
            updated_at=parse_datetime(record.get("updatedAt")),
            extra=_extra(record, cls._KNOWN),
        )


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """The limits in force on a sandbox (the local backend's ``limits``)."""

    pids: int | None = None
    memory_mib: int | None = None
    vcpus: float | None = None
    disk_mib: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> SandboxLimits | None:
        if not isinstance(data, dict):
            return None
        vcpus = data.get("vcpus")
        return cls(
            pids=_int(data.get("pids")),
            memory_mib=_int(data.get("memoryMiB")),
            vcpus=_float(vcpus),
            disk_mib=_int(data.get("diskMiB")),
        )


@dataclass(frozen=True, slots=True)
class Sandbox:
    id: str
    name: str
    provider: str | None = None
    base_sandbox: str | None = None
    display_name: str | None = None
    description: str | None = None
    status: str | None = None
    repo: str | None = None
    uri: str | None = None
    vcpus: int | None = None
    memory: int | None = None
    disk: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    isolation: str | None = None
    topics: list[str] | None = None
    logo: str | None = None
    readme: str | None = None
    installs: int | None = None
    owner: Profile | None = None
    # The local backend says what confines each sandbox (absent from the hosted API).
    limits: SandboxLimits | None = None
    protections: list[str] | None = None
    missing_protections: list[str] | None = None
    # What went wrong without failing the sandbox (an unreachable repo): the local backend's.
    warnings: list[str] | None = None
    keep_alive: bool | None = None  # sent by the local backend only
    # What really runs on the local backend (it records the hosted base and provider asked for).
    local_base: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    _KNOWN = (
        "id", "name", "provider", "baseSandbox", "displayName", "description", "status",
        "repo", "uri", "vcpus", "memory", "disk", "createdAt", "startedAt", "isolation",
        "topics", "logo", "readme", "installs", "owner", "limits", "protections", "missingProtections",
        "warnings", "keepAlive", "localBase",
    )  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> Sandbox | None:
        """A sandbox from ``{"sandbox": {...}}`` or a bare record; None when there is none."""
        record = unwrap(data, "sandbox")
        if record is None or not (record.get("id") or record.get("name")):
            return None
        sandbox_id = _str(record.get("id")) or str(record["name"])
        return cls(
            id=sandbox_id,
            name=_str(record.get("name")) or sandbox_id,
            provider=_str(record.get("provider")),
            base_sandbox=_str(record.get("baseSandbox")),
            display_name=_str(record.get("displayName")),
            description=_str(record.get("description")),
            status=_str(record.get("status")),
            repo=_str(record.get("repo")),
            uri=_str(record.get("uri")),
            vcpus=_int(record.get("vcpus")),
            memory=_int(record.get("memory")),
            disk=_int(record.get("disk")),
            created_at=parse_datetime(record.get("createdAt")),
            started_at=parse_datetime(record.get("startedAt")),
            isolation=_str(record.get("isolation")),
            topics=_str_list(record.get("topics")),
            logo=_str(record.get("logo")),
            readme=_str(record.get("readme")),
            installs=_int(record.get("installs")),
            owner=Profile.from_json(record.get("owner")),
            limits=SandboxLimits.from_json(record.get("limits")),
            protections=_str_list(record.get("protections")),
            missing_protections=_str_list(record.get("missingProtections")),
            warnings=_str_list(record.get("warnings")),
            keep_alive=_bool(record.get("keepAlive")),
            local_base=_str(record.get("localBase")),
            extra=_extra(record, cls._KNOWN),
        )

    @property
    def is_running(self) -> bool:
        return (self.status or "").upper() == STATUS_RUNNING

    @property
    def label(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, with the server's total when it sent one."""

    items: list[T]
    total: int | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True, slots=True)
class SandboxPage:
    sandboxes: list[Sandbox]
    total: int | None = None

    @classmethod
    def from_json(cls, data: Any) -> SandboxPage:
        sandboxes = [s for s in map(Sandbox.from_json, items_of(data, "sandboxes")) if s]
        return cls(sandboxes=sandboxes, total=total_of(data))

    @property
    def items(self) -> list[Sandbox]:
        return self.sandboxes

    def __iter__(self) -> Iterator[Sandbox]:
        return iter(self.sandboxes)

    def __len__(self) -> int:
        return len(self.sandboxes)


# Names importable from here but defined in resource_models (loaded on first use).
_RESOURCE_MODELS = frozenset(
    {
        "Port", "ExecResult", "Secret", "Variable", "SandboxFile", "Volume", "Service",
        "Backup", "SshKeys", "TailscaleKey", "Integration",
    }
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _RESOURCE_MODELS:
        from pocketenv_tui.api import resource_models

        return getattr(resource_models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
