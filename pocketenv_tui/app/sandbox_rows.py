"""Turn sandbox models into table rows (cells that display formatted and sort by raw value)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.monitoring import SandboxUsage
from pocketenv_tui.app.formatting import (
    as_utc,
    format_age,
    format_amount_usage,
    format_cpu_usage,
    format_uptime,
    status_text,
)
from pocketenv_tui.app.usage import limits_of

SANDBOX_COLUMNS: list[tuple[str, str]] = [
    ("name", "NAME"),
    ("base", "BASE"),
    ("provider", "PROVIDER"),
    ("status", "STATUS"),
    ("up", "UP"),
    # Each "used / limit": the limits come from the record when the server has no usage
    # figures (the hosted API), with "-" for the use (formatting.format_cpu_usage).
    ("cpu", "CPU"),
    ("mem", "MEM"),
    # Not "disk": ":sort created d<tab>" must still complete to desc; ":sort disk" finds it by label.
    ("storage", "DISK"),
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
    (so "5m" sorts after "42s" and MEM sorts by bytes used, "-" below every figure)."""

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


@dataclass(frozen=True)
class RowLayout:
    """How wide the list's cells may be. At 80 columns the full cells push UP, the usage and
    CREATED off the screen: a long name and base are cut (the sandbox screen has them whole),
    and the usage shortened (``12%  310M/2G  1.2G/10G``)."""

    name_width: int | None = None
    base_width: int | None = None
    compact_resources: bool = False
    description_width: int = 60

    @classmethod
    def for_width(cls, width: int) -> RowLayout:
        if width >= WIDE_LAYOUT:
            return cls(description_width=max(60, width - 70))
        # What the other columns take in compact form, with the table's cell padding (about
        # 72 with the usage); at 80 columns a name past 12 cells is cut, and longer ones than
        # fit scroll CREATED off rather than lose the usage.
        return cls(
            name_width=max(12, width - 72),
            base_width=10,
            compact_resources=True,
            description_width=max(20, width - 50),
        )


WIDE_LAYOUT = 110
FULL_LAYOUT = RowLayout()


def sandbox_cells(
    sandbox: Sandbox,
    now: datetime,
    theme_variables: dict[str, str],
    pending: str | None = None,
    layout: RowLayout = FULL_LAYOUT,
    usage: SandboxUsage | None = None,
) -> tuple[object, ...]:
    status = pending or sandbox.status or "UNKNOWN"
    up_seconds = (
        (as_utc(now) - as_utc(sandbox.started_at)).total_seconds()
        if sandbox.status == "RUNNING" and sandbox.started_at
        else -1.0
    )
    status_cell = status_text(status, theme_variables)
    # A mark beside the name when the sandbox carries warnings (the sandbox screen lists them).
    mark = f" {WARNING_MARK}" if sandbox.warnings else ""
    name = _cut(sandbox.name, layout.name_width - len(mark) if layout.name_width else None) + mark
    return (
        Cell(name, sandbox.name.casefold()),
        _cut(base_name(sandbox) or "-", layout.base_width),
        sandbox.provider or "-",
        Cell(status_cell.plain, status, style=str(status_cell.style)),
        Cell(format_uptime(sandbox.status, sandbox.started_at, now), up_seconds),
        *usage_cells(sandbox, usage if sandbox.status == "RUNNING" else None, layout.compact_resources),
        # By creation time: ascending is oldest first, so `:sort created desc` is newest first.
        Cell(format_age(sandbox.created_at, now), _timestamp(sandbox.created_at)),
    )


def usage_cells(sandbox: Sandbox, usage: SandboxUsage | None, compact: bool) -> tuple[Cell, Cell, Cell]:
    """CPU, MEM and DISK; each sorts by the figure in use (none below zero), then the limit."""
    limits = limits_of(sandbox, usage)
    cpu = usage.cpu_percent if usage else None
    memory = usage.memory_bytes if usage else None
    disk = usage.disk_bytes if usage else None

    def order(used: float | None, limit: float | None) -> tuple[float, float]:
        return (-1.0 if used is None else float(used), limit or 0.0)

    return (
        Cell(format_cpu_usage(cpu, limits.vcpus, compact), order(cpu, limits.vcpus)),
        Cell(format_amount_usage(memory, limits.memory_bytes, compact), order(memory, limits.memory_bytes)),
        Cell(format_amount_usage(disk, limits.disk_bytes, compact), order(disk, limits.disk_bytes)),
    )


def _cut(text: str, width: int | None) -> str:
    if width is None or cell_len(text) <= width:
        return text
    return set_cell_size(text, max(1, width - 1)) + "…"


def catalog_cells(template: Sandbox, now: datetime, layout: RowLayout = FULL_LAYOUT) -> tuple[object, ...]:
    installs_num = template.installs or 0
    return (
        Cell(template.name, template.name.casefold()),
        _cut(template.display_name or "-", layout.base_width and 2 * layout.base_width),
        _one_line(template.description or "-", layout.description_width),
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
