"""XRPC handlers: profile, catalogue and the sandbox lifecycle (create, start, stop, delete, exec)."""

from __future__ import annotations

import json
import re
from typing import Any

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http import views
from pocketenv_tui.local.http.xrpc import Call, Method, Param
from pocketenv_tui.local.state.catalog import (
    BASES,
    DEFAULT_PROVIDER,
    HOSTED_TEMPLATES,
    PROVIDERS,
    UPSTREAM_PROVIDERS,
    accepted_bases,
    catalog_item,
    resolve_base,
)
from pocketenv_tui.local.state.ids import now_iso, sandbox_id, sandbox_name, tid
from pocketenv_tui.local.state.store import Conflict

NS = "io.pocketenv."
# Sandbox names double as hostnames inside the sandbox.
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_REPO = re.compile(r"^(https?://|git://|ssh://|file://|git@|/)[^\s\x00-\x1f]+$")
DEFAULT_EXEC_TIMEOUT = 300.0
MAX_EXEC_TIMEOUT = 24 * 3600.0
# The command reaches the sandbox as one argument (``sh -c COMMAND``), and execve refuses any
# single argument of MAX_ARG_STRLEN (32 pages, 128 KiB) or more bytes, its NUL included. The
# body cap (100 KB) keeps HTTP callers below it today; the check keeps the answer a clear
# 400 rather than a failed spawn if that cap ever grows.
MAX_ARG_STRLEN = 128 * 1024


def check_name(value: str, where: str) -> str:
    if not _NAME.match(value) or value.startswith("sbx_"):
        raise v.invalid(
            f"{where} must be 1 to 63 letters, digits or '-' (not starting or ending with '-'), "
            "and must not start with 'sbx_'"
        )
    return value


def check_repo(value: str, where: str) -> str:
    if not _REPO.match(value):
        raise v.invalid(f"{where} must be a git URL (https://, ssh://, git://, file://, git@host:path) or an absolute path")
    return value


def check_command(command: str, where: str = "Input/command") -> str:
    size = len(command.encode("utf-8"))
    if size >= MAX_ARG_STRLEN:
        raise v.invalid(
            f"{where} is {size} bytes of UTF-8, too long for one argument of execve "
            f"(the command is passed to the shell as one; MAX_ARG_STRLEN allows at most {MAX_ARG_STRLEN - 1} bytes)"
        )
    return command


def exec_request(body: dict[str, Any]) -> tuple[str, float]:
    """``{command, timeout?}`` of exec and execStream: the command and its time limit."""
    command = v.string(body, "command", min_len=1)
    assert command is not None
    check_command(command)
    timeout = v.number(body, "timeout", minimum=0.1, maximum=MAX_EXEC_TIMEOUT) or DEFAULT_EXEC_TIMEOUT
    return command, timeout


def requested_provider(body: dict[str, Any]) -> str:
    """The provider a create asks for (recorded; every sandbox runs here, see catalog.py)."""
    provider = v.string(body, "provider", required=False)
    if provider is None:
        return DEFAULT_PROVIDER
    if provider not in PROVIDERS:
        raise v.invalid(
            f"Input/provider must be one of {', '.join(UPSTREAM_PROVIDERS)} or local "
            "(each runs the sandbox on this machine)"
        )
    return provider


def resources(body: dict[str, Any], path: str) -> dict[str, int | None]:
    return {
        "vcpus": v.integer(body, "vcpus", path, required=False, minimum=1, maximum=256),
        "memory": v.integer(body, "memory", path, required=False, minimum=1, maximum=4096),
        "disk": v.integer(body, "disk", path, required=False, minimum=3, maximum=65536),
    }


def methods(b: Backend) -> list[Method]:
    async def get_profile(c: Call) -> Any:
        did = c.params["did"]
        if did is not None and did not in (b.identity.did, b.identity.handle):
            return {}
        user = await b.db(b.store.get_user, b.identity.did)
        return views.profile(user) if user else {}

    async def get_terminal_token(c: Call) -> Any:
        return {"token": b.identity.mint_terminal_token()}

    async def get_actor_sandboxes(c: Call) -> Any:
        p = c.params
        if p["did"] not in (c.did, b.identity.handle):
            return {"sandboxes": [], "total": 0}
        status = None if p["isRunning"] is None else ("RUNNING" if p["isRunning"] else "STOPPED")
        rows, total = await b.db(b.store.list_sandboxes, c.did, p["limit"], p["offset"], status)
        return {"sandboxes": [views.sandbox_list_item(r, b.confinement(r)) for r in rows], "total": total}

    async def get_sandboxes(c: Call) -> Any:
        bases = list(BASES.values())
        page = bases[c.params["offset"]: c.params["offset"] + c.params["limit"]]
        items = []
        for base in page:
            # Sandboxes asked for a hosted template run this base too.
            names = [base.name, *sorted(HOSTED_TEMPLATES)] if base.name == "shell" else [base.name]
            installs = await b.db(b.store.count_sandboxes_with_base, names)
            items.append(catalog_item(base, b.identity.did, installs))
        return {"sandboxes": items, "total": len(bases)}

    async def get_sandbox(c: Call) -> Any:
        row = await b.db(b.store.find_sandbox, c.params["id"], c.did)
        if row is None:
            return {}
        owner = await b.db(b.store.get_user, row["owner_did"])
        return {"sandbox": views.sandbox_detailed(row, owner, b.confinement(row))}

    async def create_sandbox(c: Call) -> Any:
        body = c.input
        base_ref = v.string(body, "base", min_len=1, max_len=2048)
        assert base_ref is not None
        base = resolve_base(base_ref)
        if base is None:
            # Upstream also takes the name or id of an existing sandbox: its base.
            existing = await b.db(b.store.find_sandbox, base_ref, c.did)
            base = resolve_base(existing["base"]) if existing else None
        if base is None:
            raise v.invalid(f"Input/base: unknown base {base_ref!r}; this server offers: {accepted_bases()}")
        provider = requested_provider(body)
        name = v.string(body, "name", required=False, min_len=1)
        if name is not None:
            check_name(name, "Input/name")
        description = v.string(body, "description", required=False, max_len=3000)
        topics = v.string_list(body, "topics", max_items=50, item_max_len=50)
        repo = v.string(body, "repo", required=False, max_len=2048)
        if repo:
            check_repo(repo, "Input/repo")
        readme = v.string(body, "readme", required=False, max_len=2048)
        keep_alive = v.boolean(body, "keepAlive")
        sizes = resources(body, "Input")

        row: dict[str, Any] = {
            "id": sandbox_id(),
            "owner_did": c.did,
            "base": base.requested,
            "provider": provider,
            "description": description,
            "topics": json.dumps(topics) if topics is not None else None,
            "repo": repo or None,
            "readme": readme,
            "uri": f"at://{c.did}/io.pocketenv.sandbox/{tid()}",
            "keep_alive": int(bool(keep_alive)),
            "status": "INITIALIZING",
            "created_at": now_iso(),
            **sizes,
        }
        if name is not None:
            try:
                await b.db(b.store.insert_sandbox, {**row, "name": name})
            except Conflict:
                raise v.conflict(f"A sandbox named {name!r} already exists") from None
            row["name"] = name
        else:
            for _ in range(20):
                row["name"] = sandbox_name()
                try:
                    await b.db(b.store.insert_sandbox, row)
                    break
                except Conflict:
                    continue
            else:
                raise v.XrpcError(500, "InternalServerError", "Could not pick a free sandbox name")
        await b.record_event(row["id"], "created", f"The sandbox {row['name']} was created.", {"base": base.requested})
        b.spawn(b.boot_in_background(row["id"]))
        return views.sandbox_created(row, b.confinement(row))

    async def claim_sandbox(c: Call) -> Any:
        # Every local sandbox has an owner, so there is never an unowned one to claim.
        raise v.not_found("Sandbox not found", "SandboxNotFound")

    async def start_sandbox(c: Call) -> Any:
        body = c.input
        repo = v.string(body, "repo", required=False, max_len=2048)
        if repo:
            check_repo(repo, "Input/repo")
        keep_alive = v.boolean(body, "keepAlive")
        row = await b.own_sandbox(c.params["id"], c.did)
        changes: dict[str, Any] = {}
        if repo:
            changes["repo"] = repo
        if keep_alive is not None:
            changes["keep_alive"] = int(keep_alive)
        if changes:
            await b.db(b.store.update_sandbox, row["id"], changes)
        async with b.lock(row["id"]):
            current = await b.db(b.store.get_sandbox, row["id"])
            if current is None:
                raise v.not_found("Sandbox not found", "SandboxNotFound")
            if current["status"] == "RUNNING" and b.runtime.is_running(row["id"]):
                return {}
            warnings = await b.boot(row["id"])
        return {"warnings": views.shown_warnings(warnings)} if warnings else {}

    async def stop_sandbox(c: Call) -> Any:
        row = await b.own_sandbox(c.params["id"], c.did)
        async with b.lock(row["id"]):
            await b.halt(row["id"])
        return {}

    async def delete_sandbox(c: Call) -> Any:
        row = await b.own_sandbox(c.params["id"], c.did)
        async with b.lock(row["id"]):
            await b.destroy(row["id"])
        return {}

    async def exec_command(c: Call) -> Any:
        command, timeout = exec_request(c.input)
        row = await b.running_sandbox(c.params["id"], c.did)
        result = await b.runtime.exec(row["id"], command, timeout=timeout)
        return {"stdout": result.stdout, "stderr": result.stderr, "exitCode": result.exit_code}

    page = (Param("limit", "integer", minimum=1, maximum=100, default=30), Param("offset", "integer", minimum=0, default=0))
    sid = (Param("id", required=True),)
    return [
        Method(NS + "actor.getProfile", "GET", get_profile, (Param("did", "did"),)),
        Method(NS + "actor.getTerminalToken", "GET", get_terminal_token),
        Method(NS + "actor.getActorSandboxes", "GET", get_actor_sandboxes,
               (Param("did", "did", required=True), *page, Param("isRunning", "boolean"))),
        Method(NS + "sandbox.getSandboxes", "GET", get_sandboxes, page),
        Method(NS + "sandbox.getSandbox", "GET", get_sandbox, sid),
        Method(NS + "sandbox.createSandbox", "POST", create_sandbox, has_input=True),
        Method(NS + "sandbox.claimSandbox", "POST", claim_sandbox, sid),
        Method(NS + "sandbox.startSandbox", "POST", start_sandbox, sid, has_input=True),
        Method(NS + "sandbox.stopSandbox", "POST", stop_sandbox, sid),
        Method(NS + "sandbox.deleteSandbox", "POST", delete_sandbox, sid),
        Method(NS + "sandbox.exec", "POST", exec_command, sid, has_input=True),
    ]

