"""XRPC handlers for live usage figures and the event log (local-backend extension).

``io.pocketenv.sandbox.getSandboxUsage?id=`` answers ``{"usage": [Usage, ...]}`` for the
caller's running sandboxes (only that one with ``id``; [] when it is stopped). Usage is
``{sandboxId, cpuPercent, cpuLimitPercent, memoryBytes, memoryLimitBytes, diskBytes,
diskLimitBytes, pids, pidsLimit, sampledAt}``, null for what this machine cannot tell
(``local/sandbox/usage.py``).

``io.pocketenv.sandbox.getSandboxEvents?id=&limit=&before=`` answers ``{"events": [Event,
...], "cursor": id|null}``, newest first, of every sandbox of the caller (of one with
``id``, which may name a deleted sandbox by its id: its events stay); ``cursor`` goes in
``before`` for the next page. Event is ``{id, sandboxId, sandboxName, kind, message, data,
createdAt}`` (``local/state/events.py``).

The hosted API has neither method; clients take its 404/501 as "no usage here".
"""

from __future__ import annotations

from typing import Any

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http.xrpc import Call, Method, Param
from pocketenv_tui.local.state import events as event_log

NS = "io.pocketenv.sandbox."
EVENTS_PAGE_DEFAULT = 50
EVENTS_PAGE_MAX = 200


def methods(b: Backend) -> list[Method]:
    async def get_usage(c: Call) -> Any:
        ref = c.params["id"]
        if ref:
            rows = [await b.own_sandbox(ref, c.did)]
        else:
            rows, _ = await b.db(b.store.list_sandboxes, c.did, -1, 0, "RUNNING")  # LIMIT -1: all
        figures = (b.runtime.usage(row["id"]) for row in rows if row["status"] == "RUNNING")
        return {"usage": [usage for usage in figures if usage]}

    async def get_events(c: Call) -> Any:
        p = c.params
        sandbox_id = await events_of(p["id"], c.did) if p["id"] else None
        before = None
        if p["before"]:
            before = event_log.event_seq(p["before"])
            if before is None:
                raise v.invalid("Error: before must be an event id (evt_...) from an earlier page's cursor")
        events, cursor = await b.db(
            event_log.list_events, b.store, c.did, sandbox_id=sandbox_id, limit=p["limit"], before=before
        )
        return {"events": events, "cursor": cursor}

    async def events_of(ref: str, did: str) -> str:
        """The sandbox id whose events ``ref`` asks for: one of the caller's sandboxes, or
        the id of a deleted one whose events are still kept."""
        row = await b.db(b.store.find_sandbox, ref, did)
        if row is not None:
            return row["id"]
        if await b.db(event_log.has_events, b.store, did, ref):
            return ref
        raise v.not_found("Sandbox not found", "SandboxNotFound")

    return [
        Method(NS + "getSandboxUsage", "GET", get_usage, (Param("id"),)),
        Method(NS + "getSandboxEvents", "GET", get_events, (
            Param("id"),
            Param("limit", "integer", minimum=1, maximum=EVENTS_PAGE_MAX, default=EVENTS_PAGE_DEFAULT),
            Param("before"),
        )),
    ]
