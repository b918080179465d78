"""Turn sandbox models into table rows (cells that display formatted and sort by raw value)."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.formatting import (
    as_utc,
    format_age,
    format_sandbox_resources,
    format_uptime,
    resources_sort_key,
    status_text,
)

SANDBOX_COLUMNS: list[tuple[str, str]] = [
    ("name", "NAME"),
    ("base", "BASE"),
    ("provider", "PROVIDER"),
    ("status", "STATUS"),
    ("up", "UP"),
    ("resources", "RESOURCES"),
    ("created", "CREATED"),
]
CATALOG_COLUMNS: list[tuple[str, str]] = [
    ("name", "NAME"),
    ("display", "DISPLAY NAME"),
    ("description", "DESCRIPTION"),
    ("installs", "INSTALLS"),
    ("created", "CREATED"),
]


class Cell(Text):
    """A cell whose sort order comes from the raw value, not the formatted text
    (so "5m" sorts after "42s" and RESOURCES sorts by CPU, then memory, then disk)."""

    def __init__(self, text: str, sort_key: object, style: str = "", justify=None) -> None:
        super().__init__(text, style=style, justify=justify)
        self.sort_key = sort_key


def cell_sort_key(cell: object) -> object:
    key = getattr(cell, "sort_key", None)
    if key is not None:
        return key
    return str(cell).casefold()


def _timestamp(moment: datetime | None) -> float:
    return as_utc(moment).timestamp() if moment else 0.0


def base_name(sandbox: Sandbox) -> str:
    base = sandbox.base_sandbox or ""
    # The hosted API sometimes carries the catalog AT-URI; its last segment is the template.
    return base.rsplit("/", 1)[-1] if base.startswith("at://") else base


WARNING_MARK = "⚠"


def sandbox_cells(
    sandbox: Sandbox,
    now: datetime,
    theme_variables: dict[str, str],
    pending: str | None = None,
) -> tuple[object, ...]:
    status = pending or sandbox.status or "UNKNOWN"
    up_seconds = (
        (as_utc(now) - as_utc(sandbox.started_at)).total_seconds()
        if sandbox.status == "RUNNING" and sandbox.started_at
        else -1.0
    )
    status_cell = status_text(status, theme_variables)
    # A mark beside the name when the sandbox carries warnings (the sandbox screen lists them).
    name = f"{sandbox.name} {WARNING_MARK}" if sandbox.warnings else sandbox.name
    return (
        Cell(name, sandbox.name.casefold()),
        base_name(sandbox) or "-",
        sandbox.provider or "-",
        Cell(status_cell.plain, status, style=str(status_cell.style)),
        Cell(format_uptime(sandbox.status, sandbox.started_at, now), up_seconds),
        Cell(format_sandbox_resources(sandbox), resources_sort_key(sandbox)),
        # By creation time: ascending is oldest first, so `:sort created desc` is newest first.
        Cell(format_age(sandbox.created_at, now), _timestamp(sandbox.created_at)),
    )


def catalog_cells(template: Sandbox, now: datetime) -> tuple[object, ...]:
    installs_num = template.installs or 0
    return (
        Cell(template.name, template.name.casefold()),
        template.display_name or "-",
        _one_line(template.description or "-", 60),
        Cell(str(installs_num), installs_num, justify="right"),
        Cell(format_age(template.created_at, now), _timestamp(template.created_at)),
    )


def _one_line(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def matches_filter(sandbox: Sandbox, needle: str) -> bool:
    """Case-insensitive substring over the fields a person would look for."""
    needle = needle.strip().casefold()
    if not needle:
        return True
    haystack = " ".join(
        str(value)
        for value in (
            sandbox.name,
            sandbox.display_name,
            sandbox.base_sandbox,
            sandbox.provider,
            sandbox.status,
            sandbox.description,
        )
        if value
    ).casefold()
    return needle in haystack
