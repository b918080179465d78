"""Sandbox events as table rows: the Events tab of a sandbox and the ``:events`` view share them.

Pure functions of the event (no widgets), like sandbox_rows.py for sandboxes.
"""

from __future__ import annotations

import json
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from pocketenv_tui.api.monitoring import SandboxEvent
from pocketenv_tui.app.formatting import as_utc, format_event_time, format_timestamp, theme_colour
from pocketenv_tui.app.sandbox_rows import Cell

EVENT_COLUMNS: list[tuple[str, str]] = [("time", "TIME"), ("kind", "KIND"), ("message", "MESSAGE")]
ALL_EVENT_COLUMNS: list[tuple[str, str]] = [("sandbox", "SANDBOX"), *EVENT_COLUMNS]

# Kinds that mean something went wrong, and those that mean a sandbox came up.
FAILURE_KINDS = frozenset({"start_failed", "repo_clone_failed", "oom_kill", "pids_limit", "exec_timed_out"})
GOOD_KINDS = frozenset({"created", "started", "service_started"})
NOTICE_KINDS = frozenset({"applies_at_next_start", "stopped", "deleted"})


def exit_code(event: SandboxEvent) -> int | None:
    for key in ("exitCode", "exit_code", "code"):
        value = event.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def kind_variable(event: SandboxEvent) -> str | None:
    """The theme variable that colours the KIND cell (None: the default text colour)."""
    if event.kind in FAILURE_KINDS:
        return "text-error"
    if event.kind == "service_exited":
        code = exit_code(event)
        return "text-success" if code == 0 else "text-warning"
    if event.kind in GOOD_KINDS:
        return "text-success"
    if event.kind in NOTICE_KINDS:
        return "text-accent"
    return None


def event_message(event: SandboxEvent, width: int | None = None) -> str:
    """The message on one line, with the exit code when the data has it and the text does not;
    cut to ``width`` cells with an ellipsis (enter shows it whole)."""
    message = " ".join(event.message.split()) or "-"
    code = exit_code(event)
    if code is not None and str(code) not in message:
        message += f" (exit {code})"
    if width is not None and cell_len(message) > width:
        message = set_cell_size(message, max(1, width - 1)) + "…"
    return message


TIME_WIDTH = 8  # "09:30:05"; "Apr 14 09:30" is wider, and rarer
SCROLLBAR = 2


def message_width(width: int, events: list[SandboxEvent], *, with_sandbox: bool = False) -> int:
    """Cells left for MESSAGE in a table ``width`` wide, after the other columns as wide as
    these events make them (each with the table's cell padding) and room for a scrollbar."""
    kinds = max((cell_len(e.kind) for e in events), default=4)
    taken = max(TIME_WIDTH, 4) + 2 + max(kinds, 4) + 2
    if with_sandbox:
        names = max((cell_len(e.sandbox_name or e.sandbox_id or "-") for e in events), default=7)
        taken += max(names, 7) + 2
    return max(20, width - taken - 2 - SCROLLBAR)


def _order(event: SandboxEvent) -> float:
    return as_utc(event.created_at).timestamp() if event.created_at else 0.0


def event_cells(
    event: SandboxEvent,
    now: datetime,
    theme_variables: dict[str, str],
    *,
    with_sandbox: bool = False,
    width: int | None = None,
) -> tuple[object, ...]:
    """TIME, KIND (coloured: failures red, a non-zero exit yellow) and MESSAGE (cut to
    ``width``), after SANDBOX when ``with_sandbox``."""
    variable = kind_variable(event)
    colour = theme_colour(variable, theme_variables) if variable else None
    cells: tuple[object, ...] = (
        Cell(format_event_time(event.created_at, now), _order(event)),
        Cell(event.kind or "-", event.kind, style=colour or ""),
        Text(event_message(event, width)),
    )
    if with_sandbox:
        name = event.sandbox_name or event.sandbox_id or "-"
        return (Cell(name, name.casefold()), *cells)
    return cells


def event_matches(event: SandboxEvent, needle: str) -> bool:
    """Case-insensitive substring over the sandbox, kind and message."""
    needle = needle.strip().casefold()
    if not needle:
        return True
    haystack = " ".join(part for part in (event.sandbox_name, event.sandbox_id, event.kind, event.message) if part)
    return needle in haystack.casefold()


def event_details(event: SandboxEvent) -> str:
    """What ``enter`` shows: the whole message, when, and the event's data as JSON."""
    lines = [
        f"Sandbox  {event.sandbox_name or '-'} ({event.sandbox_id or '-'})",
        f"Kind     {event.kind or '-'}",
        f"When     {format_timestamp(event.created_at)}",
        f"Event    {event.id}",
        "",
        event.message or "(no message)",
        "",
        "Data:",
        json.dumps(event.data, indent=2, sort_keys=True, default=str) if event.data else "(none)",
    ]
    return "\n".join(lines)


def newest_first(events: list[SandboxEvent]) -> list[SandboxEvent]:
    """Events by time, newest first; the server's order among events of the same instant."""
    return sorted(events, key=_order, reverse=True)
