"""XRPC handlers for secrets, variables, files and volumes: add, list, get, update, delete.

The four share one shape (a record optionally linked to one of the caller's sandboxes), so
one factory builds their handlers from a :class:`Kind` describing the differences. Unlike the
hosted API, every write checks that the record and the sandbox are the caller's, a duplicate
is 409, and delete removes the record (not only its link).

A change to a running sandbox's secrets, variables or files takes effect at once (every new
process sees it, a file is placed or removed: ``Backend.apply_records``); a volume only at its
next start, which the volume's view says (``appliesAtNextStart``), as a file's view does for a
file the running sandbox cannot be given yet.

Records that would make the sandbox's next start fail are refused when added or changed:

- file and volume paths at ``/`` or in a system directory (validate.mount_path);
- a sandbox's environment (its variables plus secrets, counted as ``NAME=value`` bytes of
  UTF-8) must fit ``ENV_BUDGET`` and each value ``MAX_ENV_VALUE``. The kernel takes at most
  128 KiB per string and about 2 MiB for arguments plus environment together (execve's
  E2BIG); the budget keeps well inside that with room for the runtime's own variables and a
  long ``exec`` command. A stored secret's plaintext size is known without opening it: a
  sealed box is 48 bytes longer than what it seals (``SEAL_OVERHEAD``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pocketenv_tui.api.crypto import seal
from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http import views
from pocketenv_tui.local.http.xrpc import NO_CONTENT, Call, Method, Param
from pocketenv_tui.local.state.ids import xid
from pocketenv_tui.local.state.store import Conflict

NS = "io.pocketenv."
MAX_ENV_VALUE = 64 * 1024  # bytes of UTF-8 in one variable or secret value
ENV_BUDGET = 256 * 1024  # bytes of NAME=value over all variables and secrets of a sandbox
SEAL_OVERHEAD = 48  # a sealed box: 32-byte ephemeral public key + 16-byte MAC
ENV_TABLES = ("variables", "secrets")


@dataclass(frozen=True)
class Kind:
    namespace: str          # "secret"
    table: str              # "secrets"
    prefix: str             # id prefix, "secret"
    label: str              # "Secret" (messages)
    key_field: str          # the column that must be unique per sandbox ("name" or "path")
    # (body object, where, backend) -> column values; runs the field validation
    fields: Callable[[dict[str, Any], str, Backend], dict[str, Any]]
    view: Callable[[dict[str, Any]], dict[str, Any]]
    # The same for update, when it takes other input (None: ``fields``)
    update_fields: Callable[[dict[str, Any], str, Backend], dict[str, Any]] | None = None


def _opened(body: dict[str, Any], key: str, where: str, b: Backend) -> tuple[str, str]:
    """(sealed, plaintext) of a sealed field."""
    value = v.string(body, key, where, min_len=1, max_len=200_000)
    assert value is not None
    try:
        return value, b.identity.open_sealed(value)
    except ValueError:
        raise v.invalid(
            f"{where}/{key} must be sealed to this server's public key (URL-safe base64 of a libsodium sealed box)"
        ) from None


def _env_value(value: str, where: str) -> str:
    size = len(value.encode("utf-8"))
    if size > MAX_ENV_VALUE:
        raise v.invalid(
            f"{where} is {size} bytes; a variable or secret value may be at most {MAX_ENV_VALUE} bytes "
            f"({MAX_ENV_VALUE // 1024} KiB), since it goes into the sandbox's environment"
        )
    return value


def sealed_plain_size(sealed: str) -> int:
    """The plaintext size of a sealed value (URL-safe base64, padded or not), without opening it."""
    digits = len(sealed.rstrip("="))
    return max(0, digits * 3 // 4 - SEAL_OVERHEAD)


def env_entry_size(table: str, row: dict[str, Any]) -> int:
    """Bytes ``NAME=value`` of a variable or secret row takes in the environment."""
    if table == "variables":
        value_size = len(row["value"].encode("utf-8"))
    else:
        value_size = sealed_plain_size(row["value_sealed"])
    return len(row["name"].encode("utf-8")) + 1 + value_size


def _secret_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    name = v.string(body, "name", where, min_len=1, max_len=255)
    assert name is not None
    v.env_name(name, f"{where}/name")
    sealed, plain = _opened(body, "value", where, b)
    _env_value(plain, f"{where}/value")
    return {"name": name, "value_sealed": sealed}


def _secret_update_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    """As :func:`_secret_fields`, but a value that is not sealed to us is taken as plaintext and
    sealed here at once: the official JS SDK's ``secret.update`` sends it unsealed (api.md §6.9),
    the hosted server stores it, and only the sealed form is ever written to our store."""
    name = v.string(body, "name", where, min_len=1, max_len=255)
    assert name is not None
    v.env_name(name, f"{where}/name")
    value = v.string(body, "value", where, min_len=1, max_len=200_000)  # as _opened
    assert value is not None
    try:
        plain = b.identity.open_sealed(value)
        sealed = value
    except ValueError:
        plain = value
        sealed = seal(plain, b.identity.public_key)
    _env_value(plain, f"{where}/value")
    return {"name": name, "value_sealed": sealed}


def _variable_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    name = v.string(body, "name", where, min_len=1, max_len=255)
    assert name is not None
    value = v.string(body, "value", where)
    assert value is not None
    return {"name": v.env_name(name, f"{where}/name"), "value": _env_value(value, f"{where}/value")}


def _file_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    path = v.string(body, "path", where, min_len=1, max_len=4096)
    assert path is not None
    v.mount_path(path, f"{where}/path", volume=False)
    sealed, _ = _opened(body, "content", where, b)
    return {"path": path, "content_sealed": sealed}


def _volume_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    name = v.string(body, "name", where, min_len=1, max_len=255)
    path = v.string(body, "path", where, required=False, max_len=4096)
    if path:
        v.mount_path(path, f"{where}/path", volume=True)
    read_only = v.boolean(body, "readOnly", where)
    # None means "not given": add stores it as writable, update keeps the current value.
    return {"name": name, "path": path or None, "read_only": None if read_only is None else int(read_only)}


KINDS = (
    Kind("secret", "secrets", "secret", "Secret", "name", _secret_fields, views.secret, _secret_update_fields),
    Kind("variable", "variables", "var", "Variable", "name", _variable_fields, views.variable),
    Kind("file", "files", "file", "File", "path", _file_fields, views.file),
    Kind("volume", "volumes", "vol", "Volume", "path", _volume_fields, views.volume),
)


def methods_for(b: Backend, kind: Kind, env_locks: dict[str, asyncio.Lock]) -> list[Method]:
    """The five methods of ``kind``; ``env_locks`` (shared by variables and secrets) make the
    environment budget check and the write one step per sandbox."""
    ns = f"{NS}{kind.namespace}."
    cap = kind.namespace.capitalize()
    plural = kind.table

    def duplicate(fields: dict[str, Any]) -> v.XrpcError:
        return v.conflict(f"{kind.label} {fields.get(kind.key_field)!r} already exists in this sandbox")

    async def linked_sandbox(body: dict[str, Any], where: str, did: str) -> str | None:
        ref = v.string(body, "sandboxId", where, required=False, max_len=2048)
        if not ref:
            return None
        return (await b.own_sandbox(ref, did))["id"]

    async def owned(resource_id: str, did: str) -> dict[str, Any]:
        row = await b.db(b.store.get_resource, kind.table, resource_id, did)
        if row is None:
            raise v.not_found(f"{kind.label} not found")
        return row

    async def check_env_budget(sandbox_id: str, fields: dict[str, Any], replacing: str | None) -> None:
        """400 if adding ``fields`` (in place of record ``replacing``) overfills the environment."""
        used = 0
        for table in ENV_TABLES:
            for row in await b.db(b.store.sandbox_resources, table, sandbox_id):
                if not (table == kind.table and row["id"] == replacing):
                    used += env_entry_size(table, row)
        total = used + env_entry_size(kind.table, fields)
        if total > ENV_BUDGET:
            raise v.invalid(
                f"The environment of this sandbox would be {total} bytes, over its limit of {ENV_BUDGET} bytes "
                f"({ENV_BUDGET // 1024} KiB of variables and secrets as NAME=value); {used} bytes are used now"
            )

    async def write_env(sandbox_id: str | None, fields: dict[str, Any], replacing: str | None, write: Any) -> None:
        """Run ``write`` after the budget check, both under the sandbox's environment lock."""
        if kind.table not in ENV_TABLES or sandbox_id is None:
            await write()
            return
        async with env_locks.setdefault(sandbox_id, asyncio.Lock()):
            await check_env_budget(sandbox_id, fields, replacing)
            await write()

    async def add(c: Call) -> Any:
        where = f"Input/{kind.namespace}"
        item = v.obj(c.input, kind.namespace)
        assert item is not None
        fields = kind.fields(item, where, b)
        if kind.table == "volumes" and fields["read_only"] is None:
            fields["read_only"] = 0
        sandbox = await linked_sandbox(item, where, c.did)
        row = {"id": xid(kind.prefix), "owner_did": c.did, "sandbox_id": sandbox, **fields}

        async def write() -> None:
            try:
                await b.db(b.store.add_resource, kind.table, row)
            except Conflict:
                raise duplicate(fields) from None

        await write_env(sandbox, fields, None, write)
        await apply(sandbox)
        await note_if_pending(row)
        return NO_CONTENT

    def view(row: dict[str, Any]) -> dict[str, Any]:
        started = b.runtime.started_with(row["sandbox_id"]) if row.get("sandbox_id") else None
        if kind.table == "files":
            return views.file(row, started is not None and started.file_pending(row["path"]))
        if kind.table == "volumes":
            pending = started is not None and started.volume_pending(row["id"], row.get("path"), bool(row.get("read_only")))
            return views.volume(row, pending)
        return kind.view(row)

    async def list_(c: Call) -> Any:
        ref = c.params["sandboxId"]
        sandbox = (await b.own_sandbox(ref, c.did))["id"] if ref else None
        rows, total = await b.db(b.store.list_resources, kind.table, c.did, sandbox, c.params["limit"], c.params["offset"])
        return {plural: [view(r) for r in rows], "total": total}

    async def get(c: Call) -> Any:
        row = await b.db(b.store.get_resource, kind.table, c.params["id"], c.did)
        return {kind.namespace: view(row)} if row else {}

    async def apply(*sandbox_ids: str | None) -> None:
        """A running sandbox takes the change at once (volumes only at its next start)."""
        if kind.table != "volumes":
            for sandbox_id in dict.fromkeys(sandbox_ids):
                await b.apply_records(sandbox_id)

    async def note_if_pending(row: dict[str, Any]) -> None:
        """An event when a file or volume of a running sandbox waits for its next start."""
        started = b.runtime.started_with(row["sandbox_id"]) if row.get("sandbox_id") else None
        if started is None or kind.table not in ("files", "volumes"):
            return
        if kind.table == "files" and started.file_pending(row["path"]):
            what = f"the file {row['path']}"
        elif kind.table == "volumes" and started.volume_pending(row["id"], row.get("path"), bool(row.get("read_only"))):
            what = f"the volume {row['name']}" + (f" at {row['path']}" if row.get("path") else "")
        else:
            return
        await b.record_event(row["sandbox_id"], "applies_at_next_start", f"A change to {what} applies at the sandbox's next start.",
                             {"what": kind.namespace, "id": row["id"], "path": row.get("path")})

    async def update(c: Call) -> Any:
        resource_id = v.string(c.input, "id", min_len=1, max_len=255)
        assert resource_id is not None
        where = f"Input/{kind.namespace}"
        item = v.obj(c.input, kind.namespace)
        assert item is not None
        if kind.table == "volumes":
            # The hosted lexicon: name is required, path optional (kept when absent).
            fields = {k: val for k, val in kind.fields(item, where, b).items() if val is not None}
        else:
            fields = (kind.update_fields or kind.fields)(item, where, b)
        if "sandboxId" in item and item["sandboxId"]:
            fields["sandbox_id"] = await linked_sandbox(item, where, c.did)
        current = await owned(resource_id, c.did)

        async def write() -> None:
            try:
                await b.db(b.store.update_resource, kind.table, resource_id, fields)
            except Conflict:
                raise duplicate(fields) from None

        await write_env(fields.get("sandbox_id", current["sandbox_id"]), fields, resource_id, write)
        await apply(current["sandbox_id"], fields.get("sandbox_id"))
        await note_if_pending({**current, **fields})
        return NO_CONTENT

    async def delete(c: Call) -> Any:
        row = await owned(c.params["id"], c.did)
        # A volume's data is on its sandbox's disk; the next start removes what no record uses.
        await b.db(b.store.delete_resource, kind.table, row["id"])
        await apply(row["sandbox_id"])
        return NO_CONTENT

    page = (
        Param("sandboxId"),
        Param("limit", "integer", minimum=1, maximum=100, default=20),
        Param("offset", "integer", minimum=0, default=0),
    )
    return [
        Method(f"{ns}add{cap}", "POST", add, has_input=True),
        Method(f"{ns}get{cap}s", "GET", list_, page),
        Method(f"{ns}get{cap}", "GET", get, (Param("id", required=True),)),
        Method(f"{ns}update{cap}", "POST", update, has_input=True),
        Method(f"{ns}delete{cap}", "POST", delete, (Param("id", required=True),)),
    ]


def methods(b: Backend) -> list[Method]:
    env_locks: dict[str, asyncio.Lock] = {}
    return [m for kind in KINDS for m in methods_for(b, kind, env_locks)]
