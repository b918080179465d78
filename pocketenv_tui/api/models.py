"""Typed views of what the Pocketenv server sends, tolerant of its real shapes.

The hosted server does not follow its own lexicons (reference/api.md §3, §6): records come
wrapped (``{"sandbox": ...}``) or bare, fields are missing or extra, timestamps are ISO strings
where integers are declared, and reads that fail answer ``{}``. Every ``from_json`` here
accepts all of that without raising: missing optional fields become None, unknown fields are
kept in ``extra``, unknown status values are kept as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pocketenv_tui.api.crypto import unescape_redacted

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
        seconds = float(value)
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


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


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
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    _KNOWN = (
        "id", "name", "provider", "baseSandbox", "displayName", "description", "status",
        "repo", "uri", "vcpus", "memory", "disk", "createdAt", "startedAt", "isolation",
        "topics", "logo", "readme", "installs", "owner",
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


@dataclass(frozen=True, slots=True)
class Port:
    port: int
    description: str | None = None
    preview_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Port | None:
        if not isinstance(data, dict) or _int(data.get("port")) is None:
            return None
        return cls(
            port=_int(data["port"]) or 0,
            description=_str(data.get("description")),
            # The Go SDK reads "url"; accept it too.
            preview_url=_str(data.get("previewUrl") or data.get("url")),
            extra=_extra(data, ("port", "description", "previewUrl", "url")),
        )


@dataclass(frozen=True, slots=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int

    @classmethod
    def from_json(cls, data: Any) -> ExecResult:
        data = data if isinstance(data, dict) else {}
        code = _int(data.get("exitCode", data.get("exit_code")))
        return cls(
            stdout=_str(data.get("stdout")) or "",
            stderr=_str(data.get("stderr")) or "",
            exit_code=-1 if code is None else code,
        )

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True, slots=True)
class Secret:
    id: str
    name: str
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Secret | None:
        record = unwrap(data, "secret")
        if record is None or not record.get("id"):
            return None
        return cls(
            id=str(record["id"]),
            name=_str(record.get("name")) or "",
            created_at=parse_datetime(record.get("createdAt")),
            extra=_extra(record, ("id", "name", "createdAt")),
        )


@dataclass(frozen=True, slots=True)
class Variable:
    id: str
    name: str
    value: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Variable | None:
        record = unwrap(data, "variable")
        if record is None or not record.get("id"):
            return None
        return cls(
            id=str(record["id"]),
            name=_str(record.get("name")) or "",
            value=_str(record.get("value")) or "",
            created_at=parse_datetime(record.get("createdAt")),
            updated_at=parse_datetime(record.get("updatedAt")),
            extra=_extra(record, ("id", "name", "value", "createdAt", "updatedAt")),
        )


@dataclass(frozen=True, slots=True)
class SandboxFile:
    id: str
    path: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> SandboxFile | None:
        record = unwrap(data, "file")
        if record is None or not record.get("id"):
            return None
        return cls(
            id=str(record["id"]),
            path=_str(record.get("path")) or "",
            created_at=parse_datetime(record.get("createdAt")),
            updated_at=parse_datetime(record.get("updatedAt")),
            extra=_extra(record, ("id", "path", "createdAt", "updatedAt")),
        )


@dataclass(frozen=True, slots=True)
class Volume:
    id: str
    name: str
    path: str | None = None
    read_only: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Volume | None:
        record = unwrap(data, "volume")
        if record is None or not record.get("id"):
            return None
        return cls(
            id=str(record["id"]),
            name=_str(record.get("name")) or "",
            path=_str(record.get("path")),
            read_only=_bool(record.get("readOnly")),
            created_at=parse_datetime(record.get("createdAt")),
            updated_at=parse_datetime(record.get("updatedAt")),
            extra=_extra(record, ("id", "name", "path", "readOnly", "createdAt", "updatedAt")),
        )


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    command: str = ""
    description: str | None = None
    status: str | None = None
    ports: list[int] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    _KNOWN = (
        "id", "name", "command", "description", "status", "ports", "createdAt", "updatedAt",
    )  # fmt: skip

    @classmethod
    def from_json(cls, data: Any) -> Service | None:
        record = unwrap(data, "service")
        if record is None or not record.get("id"):
            return None
        return cls(
            id=str(record["id"]),
            name=_str(record.get("name")) or "",
            command=_str(record.get("command")) or "",
            description=_str(record.get("description")),
            status=_str(record.get("status")),
            ports=_int_list(record.get("ports")),
            created_at=parse_datetime(record.get("createdAt")),
            updated_at=parse_datetime(record.get("updatedAt")),
            extra=_extra(record, cls._KNOWN),
        )

    @property
    def is_running(self) -> bool:
        return (self.status or "").upper() == STATUS_RUNNING


@dataclass(frozen=True, slots=True)
class Backup:
    id: str
    directory: str | None = None
    description: str | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Backup | None:
        if not isinstance(data, dict) or not data.get("id"):
            return None
        return cls(
            id=str(data["id"]),
            directory=_str(data.get("directory")),
            description=_str(data.get("description")),
            expires_at=parse_datetime(data.get("expiresAt")),
            created_at=parse_datetime(data.get("createdAt")),
            extra=_extra(data, ("id", "directory", "description", "expiresAt", "createdAt")),
        )


@dataclass(frozen=True, slots=True)
class SshKeys:
    id: str | None
    public_key: str
    private_key: str  # as the server shows it: redacted, newlines escaped as \n
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> SshKeys | None:
        # The Go SDK expects a {sshKeys} wrapper; the server sends the record bare.
        record = unwrap(data, "sshKeys")
        if record is None or not (record.get("publicKey") or record.get("privateKey")):
            return None
        return cls(
            id=_str(record.get("id")),
            public_key=_str(record.get("publicKey")) or "",
            private_key=_str(record.get("privateKey")) or "",
            created_at=parse_datetime(record.get("createdAt")),
            updated_at=parse_datetime(record.get("updatedAt")),
            extra=_extra(record, ("id", "publicKey", "privateKey", "createdAt", "updatedAt")),
        )

    @property
    def private_key_display(self) -> str:
        """The redacted private key with real newlines, for showing to a person."""
        return unescape_redacted(self.private_key)


@dataclass(frozen=True, slots=True)
class TailscaleKey:
    id: str | None
    auth_key: str  # redacted
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> TailscaleKey | None:
        record = unwrap(data, "tailscaleAuthKey")
        if record is None or "authKey" not in record:
            return None
        return cls(
            id=_str(record.get("id")),
            auth_key=_str(record.get("authKey")) or "",
            created_at=parse_datetime(record.get("createdAt")),
            updated_at=parse_datetime(record.get("updatedAt")),
            extra=_extra(record, ("id", "authKey", "createdAt", "updatedAt")),
        )


@dataclass(frozen=True, slots=True)
class Integration:
    id: str
    name: str
    webhook_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_json(cls, data: Any) -> Integration | None:
        if not isinstance(data, dict) or not data.get("id"):
            return None
        return cls(
            id=str(data["id"]),
            name=_str(data.get("name")) or "",
            webhook_url=_str(data.get("webhookUrl")),
            created_at=parse_datetime(data.get("createdAt")),
            updated_at=parse_datetime(data.get("updatedAt")),
        )
