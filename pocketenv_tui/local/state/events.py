"""The event log: what happened to each sandbox, newest first (``getSandboxEvents``).

One row per event in the ``events`` table (schema.py). Ids are ``evt_`` and the row's
sequence number, zero-padded, so they sort as they happened and a page ends at a cursor
that stays valid while new events arrive. Events outlive their sandbox (its ``deleted``
event is the last), and the log is bounded: an owner keeps the newest ``PER_SANDBOX`` events
of each sandbox and ``PER_OWNER`` in all, the oldest pruned as new ones come.

Like the store's own methods, these run on the store's thread (``Backend.db``); they use
its statement helpers, so every write is one transaction.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pocketenv_tui.local.state.ids import now_iso
from pocketenv_tui.local.state.store import Store

EVENT_ID_PREFIX = "evt_"
PER_SANDBOX = 1_000
PER_OWNER = 20_000
_EVENT_ID = re.compile(r"^evt_(\d{1,18})$")

# Delete what lies beyond the newest N of a sandbox (of an owner): the subquery finds the
# (N+1)th newest seq; when there is none, ``seq <= NULL`` matches nothing.
_PRUNE_SANDBOX = (
    "DELETE FROM events WHERE sandbox_id = ? AND seq <= "
    "(SELECT seq FROM events WHERE sandbox_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)"
)
_PRUNE_OWNER = (
    "DELETE FROM events WHERE owner_did = ? AND seq <= "
    "(SELECT seq FROM events WHERE owner_did = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)"
)


def event_id(seq: int) -> str:
    return f"{EVENT_ID_PREFIX}{seq:012d}"


def event_seq(value: str) -> int | None:
    """The sequence number of an event id; None when ``value`` is not one."""
    match = _EVENT_ID.match(value)
    return int(match.group(1)) if match else None


def event_view(row: dict[str, Any]) -> dict[str, Any]:
    """The API's ``Event`` object."""
    try:
        data = json.loads(row["data"])
    except ValueError:
        data = {}
    return {
        "id": event_id(row["seq"]),
        "sandboxId": row["sandbox_id"],
        "sandboxName": row["sandbox_name"],
        "kind": row["kind"],
        "message": row["message"],
        "data": data if isinstance(data, dict) else {},
        "createdAt": row["created_at"],
    }


def add_event(
    store: Store,
    sandbox_id: str,
    kind: str,
    message: str,
    data: dict[str, Any] | None = None,
    *,
    owner_did: str | None = None,
    sandbox_name: str | None = None,
) -> bool:
    """Record one event of the sandbox and prune what is now over the bounds. The owner and
    name are read from the sandbox's row unless given (for one whose row is already gone);
    False when there is neither (the sandbox was deleted meanwhile)."""
    if owner_did is None or sandbox_name is None:
        row = store.get_sandbox(sandbox_id)
        if row is None:
            return False
        owner_did, sandbox_name = row["owner_did"], row["name"]
    details = json.dumps(data or {}, ensure_ascii=False, default=str)
    store._transaction([
        (
            "INSERT INTO events (owner_did, sandbox_id, sandbox_name, kind, message, data, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (owner_did, sandbox_id, sandbox_name, kind, message, details, now_iso()),
        ),
        (_PRUNE_SANDBOX, (sandbox_id, sandbox_id, PER_SANDBOX)),
        (_PRUNE_OWNER, (owner_did, owner_did, PER_OWNER)),
    ])
    return True


def list_events(
    store: Store, owner_did: str, *, sandbox_id: str | None = None, limit: int = 50, before: int | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the owner's events (of one sandbox when given), newest first, older than
    the event numbered ``before`` when given; and the cursor for the next page (None: the end)."""
    where, params = "owner_did = ?", [owner_did]
    if sandbox_id is not None:
        where += " AND sandbox_id = ?"
        params.append(sandbox_id)
    if before is not None:
        where += " AND seq < ?"
        params.append(before)
    rows = store._all(f"SELECT * FROM events WHERE {where} ORDER BY seq DESC LIMIT ?", [*params, limit + 1])
    page = rows[:limit]
    cursor = event_id(page[-1]["seq"]) if len(rows) > limit and page else None
    return [event_view(row) for row in page], cursor


def has_events(store: Store, owner_did: str, sandbox_id: str) -> bool:
    """Whether the owner's log holds events of ``sandbox_id`` (which may have been deleted)."""
    return store._one("SELECT 1 FROM events WHERE owner_did = ? AND sandbox_id = ? LIMIT 1", (owner_did, sandbox_id)) is not None


def record_stopped_by_server(store: Store, message: str) -> int:
    """A ``stopped`` event for every sandbox the store still has as running or starting
    (the server stops, or starts after it stopped without saying so); how many."""
    rows = store._all("SELECT id FROM sandboxes WHERE status IN ('RUNNING', 'INITIALIZING')")
    for row in rows:
        add_event(store, row["id"], "stopped", message, {"reason": "server"})
    return len(rows)
