"""XRPC handlers for secrets, variables, files and volumes: add, list, get, update, delete.

The four share one shape (a record optionally linked to one of the caller's sandboxes), so
one factory builds their handlers from a :class:`Kind` describing the differences. Unlike the
hosted API, every write checks that the record and the sandbox are the caller's, a duplicate
is 409, and delete removes the record (not only its link).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http import views
from pocketenv_tui.local.http.xrpc import NO_CONTENT, Call, Method, Param
from pocketenv_tui.local.state.ids import xid
from pocketenv_tui.local.state.store import Conflict

NS = "io.pocketenv."
MAX_VALUE = 64 * 1024


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


def _sealed(body: dict[str, Any], key: str, where: str, b: Backend) -> str:
    value = v.string(body, key, where, min_len=1, max_len=200_000)
    assert value is not None
    try:
        b.identity.open_sealed(value)
    except ValueError:
        raise v.invalid(
            f"{where}/{key} must be sealed to this server's public key (URL-safe base64 of a libsodium sealed box)"
        ) from None
    return value


def _secret_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    name = v.string(body, "name", where, min_len=1, max_len=255)
    assert name is not None
    return {"name": v.env_name(name, f"{where}/name"), "value_sealed": _sealed(body, "value", where, b)}


def _variable_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    name = v.string(body, "name", where, min_len=1, max_len=255)
    assert name is not None
    value = v.string(body, "value", where, max_len=MAX_VALUE)
    assert value is not None
    return {"name": v.env_name(name, f"{where}/name"), "value": value}


def _file_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    path = v.string(body, "path", where, min_len=1, max_len=4096)
    assert path is not None
    return {"path": v.sandbox_path(path, f"{where}/path"), "content_sealed": _sealed(body, "content", where, b)}


def _volume_fields(body: dict[str, Any], where: str, b: Backend) -> dict[str, Any]:
    name = v.string(body, "name", where, min_len=1, max_len=255)
    path = v.string(body, "path", where, required=False, max_len=4096)
    if path:
        v.sandbox_path(path, f"{where}/path")
    read_only = v.boolean(body, "readOnly", where)
    # None means "not given": add stores it as writable, update keeps the current value.
    return {"name": name, "path": path or None, "read_only": None if read_only is None else int(read_only)}


KINDS = (
    Kind("secret", "secrets", "secret", "Secret", "name", _secret_fields, views.secret),
    Kind("variable", "variables", "var", "Variable", "name", _variable_fields, views.variable),
    Kind("file", "files", "file", "File", "path", _file_fields, views.file),
    Kind("volume", "volumes", "vol", "Volume", "path", _volume_fields, views.volume),
)


def methods_for(b: Backend, kind: Kind) -> list[Method]:
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

    async def add(c: Call) -> Any:
        where = f"Input/{kind.namespace}"
        item = v.obj(c.input, kind.namespace)
        assert item is not None
        fields = kind.fields(item, where, b)
        if kind.table == "volumes" and fields["read_only"] is None:
            fields["read_only"] = 0
        sandbox = await linked_sandbox(item, where, c.did)
        row = {"id": xid(kind.prefix), "owner_did": c.did, "sandbox_id": sandbox, **fields}
        try:
            await b.db(b.store.add_resource, kind.table, row)
        except Conflict:
            raise duplicate(fields) from None
        return NO_CONTENT

    async def list_(c: Call) -> Any:
        ref = c.params["sandboxId"]
        sandbox = (await b.own_sandbox(ref, c.did))["id"] if ref else None
        rows, total = await b.db(b.store.list_resources, kind.table, c.did, sandbox, c.params["limit"], c.params["offset"])
        return {plural: [kind.view(r) for r in rows], "total": total}

    async def get(c: Call) -> Any:
        row = await b.db(b.store.get_resource, kind.table, c.params["id"], c.did)
        return {kind.namespace: kind.view(row)} if row else {}

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
            fields = kind.fields(item, where, b)
        if "sandboxId" in item and item["sandboxId"]:
            fields["sandbox_id"] = await linked_sandbox(item, where, c.did)
        await owned(resource_id, c.did)
        try:
            await b.db(b.store.update_resource, kind.table, resource_id, fields)
        except Conflict:
            raise duplicate(fields) from None
        return NO_CONTENT

    async def delete(c: Call) -> Any:
        row = await owned(c.params["id"], c.did)
        # A volume's data is on its sandbox's disk; the next start removes what no record uses.
        await b.db(b.store.delete_resource, kind.table, row["id"])
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
    return [m for kind in KINDS for m in methods_for(b, kind)]
