"""The records a sandbox carries: ports, exec results, secrets, variables, files, volumes,
services, backups, SSH and Tailscale keys, integrations, live shells.

Read as leniently as :mod:`pocketenv_tui.api.models` reads sandboxes, with its field readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pocketenv_tui.api.crypto import unescape_redacted
from pocketenv_tui.api.models import (
    STATUS_RUNNING,
    _bool,
    _extra,
    _int,
    _int_list,
    _str,
    parse_datetime,
    unwrap,
)


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
    # The sandbox runs and gets this file only at its next start (the local backend says;
    # None where the server does not).
    applies_at_next_start: bool | None = None
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
            applies_at_next_start=_bool(record.get("appliesAtNextStart")),
            extra=_extra(record, ("id", "path", "createdAt", "updatedAt", "appliesAtNextStart")),
        )


@dataclass(frozen=True, slots=True)
class Volume:
    id: str
    name: str
    path: str | None = None
    read_only: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    # The sandbox runs and mounts this volume (or mounts it so) only at its next start (the
    # local backend says; None where the server does not).
    applies_at_next_start: bool | None = None
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
            applies_at_next_start=_bool(record.get("appliesAtNextStart")),
            extra=_extra(record, ("id", "name", "path", "readOnly", "createdAt", "updatedAt", "appliesAtNextStart")),
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
    # How a service that ended by itself ended (the local backend says; None elsewhere).
    exit_code: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    _KNOWN = (
        "id", "name", "command", "description", "status", "ports", "createdAt", "updatedAt", "exitCode",
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
            exit_code=_int(record.get("exitCode")),
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


@dataclass(frozen=True, slots=True)
class Shell:
    """A live shell of a sandbox, kept by the server under its session key (local backend).

    ``command`` is the foreground program as the server saw it (None: idle at the prompt, or
    unknown); ``clients`` how many terminals are attached (None when the server did not say).
    """

    key: str
    started_at: datetime | None = None
    command: str | None = None
    clients: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Shell | None:
        if not isinstance(data, dict):
            return None
        key = data.get("key")
        if not isinstance(key, str) or not key:
            return None
        clients = _int(data.get("clients"))
        return cls(
            key=key,
            started_at=parse_datetime(data.get("startedAt")),
            command=_str(data.get("command")) or None,
            clients=None if clients is None or clients < 0 else clients,
            extra=_extra(data, ("key", "startedAt", "command", "clients")),
        )
