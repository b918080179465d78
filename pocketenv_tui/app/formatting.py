"""How sandbox fields are shown: ages, up-times, resources and status colours.

Pure functions (no Textual) so the table, the sandbox screen and the tests agree on one format.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.color import Color, ColorParseError

if TYPE_CHECKING:
    from pocketenv_tui.api.models import Sandbox, SandboxLimits

# Status -> theme variable name. The colour itself is looked up in the running theme, so every
# Textual theme (and textual-ansi) gives readable statuses.
STATUS_THEME_VARIABLE = {
    "RUNNING": "text-success",
    "STOPPED": "foreground-muted",
    "INITIALIZING": "text-warning",
    "STARTING…": "text-warning",
    "STOPPING…": "text-warning",
    "CREATING…": "text-warning",
    "DELETING…": "text-error",
    "FAILED": "text-error",
}
UNKNOWN_STATUS_VARIABLE = "text-accent"


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes from the API are UTC; make them comparable with an aware clock."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_duration(seconds: float) -> str:
    """A compact k9s-style duration: 42s, 5m, 3h12m, 4d2h, 1y20d."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    if days < 365:
        return f"{days}d{hours}h" if hours else f"{days}d"
    years, days = divmod(days, 365)
    return f"{years}y{days}d" if days else f"{years}y"


def format_age(moment: datetime | None, now: datetime) -> str:
    """Time elapsed since ``moment``; an empty string when unknown."""
    if moment is None:
        return ""
    return format_duration((as_utc(now) - as_utc(moment)).total_seconds())


def format_uptime(status: str, started_at: datetime | None, now: datetime) -> str:
    """UP column: only a running sandbox has an up-time."""
    if status != "RUNNING" or started_at is None:
        return "-"
    return format_age(started_at, now)


def format_resources(vcpus: int | None, memory: int | None, disk: int | None) -> str:
    """RESOURCES column: ``2 vCPU / 4 GB / 8 GB`` with ``-`` for unknown parts."""
    if vcpus is None and memory is None and disk is None:
        return "-"
    cpu = f"{vcpus} vCPU" if vcpus is not None else "- vCPU"
    mem = f"{memory} GB" if memory is not None else "- GB"
    dsk = f"{disk} GB" if disk is not None else "- GB"
    return f"{cpu} / {mem} / {dsk}"


def _mib(mib: int | None) -> str:
    if mib is None:
        return "-"
    if mib >= 1024 and mib % 1024 == 0:
        return f"{mib // 1024} GB"
    return f"{mib / 1024:.1f} GB" if mib >= 1024 else f"{mib} MB"


def format_limits(limits: SandboxLimits) -> str:
    """RESOURCES from the limits in force: ``2 vCPU / 2 GB / 10 GB``."""
    cpu = "-" if limits.vcpus is None else f"{limits.vcpus:g}"
    return f"{cpu} vCPU / {_mib(limits.memory_mib)} / {_mib(limits.disk_mib)}"


def format_sandbox_resources(sandbox: Sandbox) -> str:
    return format_limits(sandbox.limits) if sandbox.limits else format_resources(sandbox.vcpus, sandbox.memory, sandbox.disk)


def format_sandbox_resources_compact(sandbox: Sandbox) -> str:
    """RESOURCES at 80 columns: ``2cpu 2G 10G`` (the sandbox screen has the long form)."""
    if sandbox.limits:
        cpu, memory, disk = sandbox.limits.vcpus, _gib(sandbox.limits.memory_mib), _gib(sandbox.limits.disk_mib)
    else:
        cpu, memory, disk = sandbox.vcpus, sandbox.memory, sandbox.disk
    if cpu is None and memory is None and disk is None:
        return "-"

    def part(value: float | int | None, unit: str) -> str:
        if value is None:
            return "-"
        number = f"{value:g}" if isinstance(value, float) else str(value)
        return number + unit

    return f"{part(cpu, 'cpu')} {part(memory, 'G')} {part(disk, 'G')}"


def _gib(mib: int | None) -> float | int | None:
    if mib is None:
        return None
    return mib // 1024 if mib % 1024 == 0 else round(mib / 1024, 1)


def resources_sort_key(sandbox: Sandbox) -> tuple[float, float, float]:
    if sandbox.limits:
        return (sandbox.limits.vcpus or 0, (sandbox.limits.memory_mib or 0) / 1024, (sandbox.limits.disk_mib or 0) / 1024)
    return (sandbox.vcpus or 0, sandbox.memory or 0, sandbox.disk or 0)


def protections_text(sandbox: Sandbox, theme_variables: dict[str, str]) -> tuple[Text, Text | None] | None:
    """The sandbox screen's Protections field and, when some are off, the list of why."""
    if sandbox.protections is None and sandbox.missing_protections is None:
        return None
    missing = sandbox.missing_protections or []
    held = len(sandbox.protections or [])
    if not missing:
        colour = theme_colour("success", theme_variables)
        return Text(f"all {held} in force", style=colour or ""), None
    colour = theme_colour("warning", theme_variables)
    names = ", ".join(line.split(":", 1)[0] for line in missing)
    summary = Text(f"{held} of {held + len(missing)}; off: {names}", style=f"bold {colour}" if colour else "bold")
    details = Text("\n".join(f"- {line}" for line in missing), style=colour or "")
    return summary, details


def format_timestamp(moment: datetime | None) -> str:
    """A full timestamp for the sandbox screen, in UTC so it reads the same everywhere."""
    if moment is None:
        return "-"
    return as_utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_variable(status: str) -> str:
    return STATUS_THEME_VARIABLE.get(status, UNKNOWN_STATUS_VARIABLE)


def theme_colour(name: str, theme_variables: dict[str, str]) -> str | None:
    """A theme variable as an opaque ``#rrggbb`` Rich can use (alpha blended over the background)."""
    value = theme_variables.get(name)
    if not value:
        return None
    try:
        colour = Color.parse(value)
        if colour.a < 1:
            background = Color.parse(theme_variables.get("background", "#000000"))
            colour = background + colour
    except ColorParseError:
        return None
    return colour.hex6


def status_text(status: str, theme_variables: dict[str, str]) -> Text:
    """The STATUS cell: the status word coloured from the running theme's variables."""
    colour = theme_colour(status_variable(status), theme_variables)
    style = f"bold {colour}" if colour else "bold"
    return Text(status, style=style)


# -- usage figures (CPU, memory, disk) ---------------------------------------------------------
# The list's CPU, MEM and DISK columns show "used / limit"; a part the server did not give is
# "-", so a server without usage figures still shows every limit it knows.

GIB = 1024**3
MIB = 1024**2


def _number(value: float) -> str:
    """``310``, ``12``, ``1.2``: one decimal only below ten (and none when it is whole)."""
    if round(value, 1) >= 10 or round(value, 1).is_integer():
        return f"{value:.0f}"
    return f"{value:.1f}"


def _scaled(amount: int, units: tuple[str, ...]) -> tuple[str, str]:
    """The amount in the smallest binary unit that keeps it below 1000, and that unit."""
    size = 1
    for unit in units[:-1]:
        if amount / size < 999.5:
            return _number(amount / size), unit
        size *= 1024
    return _number(amount / size), units[-1]


def format_bytes(amount: int | None) -> str:
    """``310 MB``, ``1.2 GB``, ``10 GB`` (binary units, named as the fields panel names them)."""
    if amount is None:
        return "-"
    number, unit = _scaled(amount, ("B", "KB", "MB", "GB", "TB"))
    return f"{number} {unit}"


def format_bytes_compact(amount: int | None) -> str:
    """At most four cells: ``310M``, ``1.2G``, ``12G``, ``512K``."""
    if amount is None:
        return "-"
    if amount == 0:
        return "0"
    number, unit = _scaled(amount, ("B", "K", "M", "G", "T"))
    return number + unit


def format_percent(percent: float | None, compact: bool = False) -> str:
    """``0.4%``, ``12%``, ``150%``; whole numbers only at 80 columns."""
    if percent is None:
        return "-"
    if compact or percent >= 10:
        return f"{percent:.0f}%"
    return f"{percent:.1f}%"


def format_cpu_usage(cpu_percent: float | None, vcpus: float | None, compact: bool = False) -> str:
    """CPU column: percent of one CPU (two busy CPUs read 200%) and the vCPUs it may use:
    ``12% / 2 vCPU``. Compact (80 columns, where every cell counts): the figure alone, ``12%``,
    or without one the limit, ``-/2``, so a server with no figures still shows the vCPUs."""
    if cpu_percent is None and vcpus is None:
        return "-"
    limit = "-" if vcpus is None else f"{vcpus:g}"
    if compact:
        return format_percent(cpu_percent, True) if cpu_percent is not None else f"-/{limit}"
    return f"{format_percent(cpu_percent)} / {limit} vCPU"


def format_amount_usage(used: int | None, limit: int | None, compact: bool = False) -> str:
    """MEM and DISK columns: ``310 MB / 2 GB``, compact ``310M/2G``."""
    if used is None and limit is None:
        return "-"
    if compact:
        return f"{format_bytes_compact(used)}/{format_bytes_compact(limit)}"
    return f"{format_bytes(used)} / {format_bytes(limit)}"


def share_of(used: float | None, limit: float | None) -> float | None:
    """``used`` as a percent of ``limit``; None when either is unknown (or the limit is 0)."""
    if used is None or not limit:
        return None
    return 100.0 * used / limit


def format_event_time(moment: datetime | None, now: datetime) -> str:
    """An event's time in UTC: ``09:30:05`` today, ``Apr 14 09:30`` before."""
    if moment is None:
        return "-"
    moment = as_utc(moment).astimezone(UTC)
    if moment.date() == as_utc(now).astimezone(UTC).date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%b %d %H:%M")
