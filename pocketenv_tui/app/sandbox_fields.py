"""What the sandbox screen says about a sandbox: the fields panel (label, value) and the
one-line summary that replaces it where the terminal is too small for both it and the tabs."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.formatting import (
    format_sandbox_resources,
    format_sandbox_resources_compact,
    format_timestamp,
    format_uptime,
    protections_text,
    status_text,
    theme_colour,
)
from pocketenv_tui.app.sandbox_rows import WARNING_MARK, base_name


def field_rows(
    sandbox: Sandbox, now: datetime, theme_variables: dict[str, str], busy: str | None = None
) -> list[tuple[str, Text | str]]:
    status = busy or sandbox.status or "UNKNOWN"
    protections = protections_text(sandbox, theme_variables)
    rows: list[tuple[str, Text | str]] = [
        ("Name", sandbox.name),
        ("ID", sandbox.id),
        ("Status", status_text(status, theme_variables)),
        ("Up", format_uptime(sandbox.status or "", sandbox.started_at, now)),
        ("Isolation", sandbox.isolation or "-"),
    ]
    if protections is not None:
        rows.append(("Protections", protections[0]))
    rows += [
        ("Resources", format_sandbox_resources(sandbox)),
        ("Base", _base_text(sandbox)),
        ("Provider", _provider_text(sandbox)),
        ("Created", format_timestamp(sandbox.created_at)),
        ("Started", format_timestamp(sandbox.started_at)),
        ("Repo", sandbox.repo or "-"),
    ]
    if sandbox.keep_alive is not None:
        rows.append(("Keep alive", "on (never stopped for inactivity)" if sandbox.keep_alive else "off"))
    if protections is not None and protections[1] is not None:
        rows.append(("Off", protections[1]))
    if sandbox.limits is not None and sandbox.limits.pids is not None:
        rows.append(("Processes", f"at most {sandbox.limits.pids}"))
    if sandbox.warnings:
        colour = theme_colour("warning", theme_variables)
        rows.append(("Warnings", Text("\n".join(sandbox.warnings), style=colour or "")))
    if sandbox.description:
        rows.append(("About", sandbox.description))
    return rows


def _base_text(sandbox: Sandbox) -> str:
    name = base_name(sandbox) or "-"
    runs = sandbox.local_base
    # The local backend records a hosted template it was asked for and runs its own base.
    return f"{name} (as {runs})" if runs and runs != name else name


def _provider_text(sandbox: Sandbox) -> str:
    provider = sandbox.provider or "-"
    if sandbox.local_base is not None and provider != "local":
        return f"{provider} (runs here)"
    return provider


def fields_grid(rows: list[tuple[str, Text | str]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")  # a long repo URL or ID wraps instead of being cut
    for label, value in rows:
        grid.add_row(label, value if isinstance(value, Text) else Text(value))
    return grid


def summary_line(
    sandbox: Sandbox, now: datetime, theme_variables: dict[str, str], busy: str | None = None
) -> Text:
    """``charlie  RUNNING  up 5m  2cpu 2G 10G  shell · local  9 protections  ⚠ 1 warning``
    (f shows every field)."""
    status = status_text(busy or sandbox.status or "UNKNOWN", theme_variables)
    line = Text.assemble((sandbox.name, "bold"), "  ", status)
    up = format_uptime(sandbox.status or "", sandbox.started_at, now)
    if up != "-":
        line.append(f"  up {up}")
    line.append(f"  {format_sandbox_resources_compact(sandbox)}")
    line.append(f"  {base_name(sandbox) or '-'} · {sandbox.provider or '-'}")
    if sandbox.missing_protections:
        colour = theme_colour("warning", theme_variables)
        line.append(f"  {len(sandbox.missing_protections)} protections off", style=colour or "bold")
    elif sandbox.protections:
        line.append(f"  {len(sandbox.protections)} protections")
    if sandbox.warnings:
        colour = theme_colour("warning", theme_variables)
        count = len(sandbox.warnings)
        line.append(f"  {WARNING_MARK} {count} warning{'s' if count > 1 else ''}", style=colour or "bold")
    return line
