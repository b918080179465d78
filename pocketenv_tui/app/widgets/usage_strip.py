"""The sandbox screen's usage line: CPU, memory and disk, each a short history graph and the
figures now beside the limit. One line at 80x24 (the screen's ``-compact``), two when wide.

The graphs are Textual ``Sparkline`` widgets drawn against the limit, not against the data's
own range: an idle sandbox wavering between 0.1% and 0.3% of a CPU must look idle, not like
a row of spikes. The newest sample is on the right; a short history fills from the right.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Sparkline, Static

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.monitoring import SandboxUsage
from pocketenv_tui.app.formatting import (
    format_amount_usage,
    format_bytes,
    format_percent,
    share_of,
)
from pocketenv_tui.app.usage import Limits, Monitor, limits_of

BARS = "▁▂▃▄▅▆▇█"
METERS = (("cpu", "CPU"), ("mem", "MEM"), ("disk", "DISK"))


class ScaledBars:
    """Bars for ``data`` from 0 to ``ceiling``, right-aligned, one column per sample (the
    highest of several samples when there are more samples than columns)."""

    def __init__(self, data: Sequence[float], ceiling: float, *, width: int, height: int, low: Color, high: Color) -> None:
        self.data = list(data)
        self.ceiling = ceiling
        self.width = max(1, width)
        self.height = max(1, height)
        self.low = low
        self.high = high

    def _columns(self) -> list[float | None]:
        data, width = self.data, self.width
        if len(data) <= width:
            return [None] * (width - len(data)) + list(data)
        step = len(data) / width
        return [max(data[int(i * step): max(int((i + 1) * step), int(i * step) + 1)]) for i in range(width)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = self._columns()
        steps = len(BARS) * self.height
        for row in reversed(range(self.height)):
            low_step = row * len(BARS)
            for value in columns:
                if value is None:
                    yield Segment(" ")
                    continue
                ratio = max(0.0, min(1.0, value / self.ceiling))
                level = max(0, round(ratio * steps) - 1)  # the lowest bar stays visible at 0
                if level < low_step:
                    yield Segment(" " if row else BARS[0], Style(color=self.low.rich_color))
                    continue
                glyph = "█" if level >= low_step + len(BARS) else BARS[level - low_step]
                colour = self.low.blend(self.high, ratio)
                yield Segment(glyph, Style(color=colour.rich_color))
            if row:
                yield Segment.line()


class UsageGraph(Sparkline):
    """A Sparkline whose scale is fixed at ``ceiling`` (the limit) when it is known."""

    ceiling: reactive[float | None] = reactive(None)

    def render(self):
        if not self.ceiling:
            return super().render()
        _, base = self.background_colors
        low = base + self.get_component_styles("sparkline--min-color").color
        high = base + self.get_component_styles("sparkline--max-color").color
        return ScaledBars(self.data or [], self.ceiling, width=self.size.width, height=self.size.height, low=low, high=high)


def meter_figures(meter: str, usage: SandboxUsage | None, limits: Limits, compact: bool) -> Text:
    """The words beside one graph: compact ``62%/2``, wide ``62% of a CPU`` over
    ``limit 200% · 9 procs`` (two busy CPUs read 200%)."""
    if meter == "cpu":
        used_cpu = usage.cpu_percent if usage else None
        if compact:  # the strip has the room the list has not: the vCPUs too
            vcpus = "-" if limits.vcpus is None else f"{limits.vcpus:g}"
            return Text(f"{format_percent(used_cpu, compact=True)}/{vcpus}")
        ceiling = "-" if limits.vcpus is None else format_percent(limits.vcpus * 100)
        detail = f"limit {ceiling}"
        if usage and usage.pids is not None:
            detail += f" · {usage.pids} procs"
        return Text.assemble((format_percent(used_cpu), "bold"), " of a CPU\n", detail)
    used = (usage.memory_bytes if meter == "mem" else usage.disk_bytes) if usage else None
    limit = limits.memory_bytes if meter == "mem" else limits.disk_bytes
    if compact:
        return Text(format_amount_usage(used, limit, compact=True))
    share = share_of(used, limit)
    detail = f"of {format_bytes(limit)}" + (f" · {format_percent(share)}" if share is not None else "")
    return Text.assemble((format_bytes(used), "bold"), "\n", detail)


def limits_line(limits: Limits) -> str:
    cpu = "-" if limits.vcpus is None else f"{limits.vcpus:g}"
    return f"limits {cpu} vCPU / {format_bytes(limits.memory_bytes)} memory / {format_bytes(limits.disk_bytes)} disk"


class UsageStrip(Horizontal):
    """CPU, MEM and DISK of one sandbox; a note in their place when there are no figures."""

    def compose(self) -> ComposeResult:
        for meter, label in METERS:
            with Horizontal(id=f"usage-{meter}", classes="usage-meter"):
                yield Static(label, classes="usage-label")
                yield UsageGraph([], id=f"usage-{meter}-graph", classes="usage-graph")
                yield Static("", id=f"usage-{meter}-figures", classes="usage-figures")
        yield Static("", id="usage-note")

    def show_from(self, monitor: Monitor, sandbox: Sandbox, *, compact: bool) -> None:
        """The figures ``monitor`` holds for ``sandbox`` (none while it is not running)."""
        usage = monitor.usage_of(sandbox.id) if sandbox.is_running else None
        history = monitor.history.samples(sandbox.id)
        self.show(sandbox, usage, history, supported=monitor.usage_supported, compact=compact)

    def show(
        self,
        sandbox: Sandbox,
        usage: SandboxUsage | None,
        history: Sequence[SandboxUsage],
        *,
        supported: bool | None,
        compact: bool,
    ) -> None:
        limits = limits_of(sandbox, usage)
        note = None
        if supported is False:
            note = f"No usage figures from this server · {limits_line(limits)}"
        elif not sandbox.is_running:
            note = f"{sandbox.status or 'Not running'}: no usage · {limits_line(limits)}"
        self.set_class(note is not None, "-no-figures")
        self.query_one("#usage-note", Static).update(Text(note or "", style="italic"))
        if note is not None:
            return
        ceilings = {
            "cpu": limits.vcpus * 100 if limits.vcpus else None,
            "mem": float(limits.memory_bytes) if limits.memory_bytes else None,
            "disk": float(limits.disk_bytes) if limits.disk_bytes else None,
        }
        figures = {"cpu": "cpu_percent", "mem": "memory_bytes", "disk": "disk_bytes"}
        for meter, _ in METERS:
            graph = self.query_one(f"#usage-{meter}-graph", UsageGraph)
            values = [getattr(sample, figures[meter]) for sample in history]
            graph.ceiling = ceilings[meter]
            graph.data = [float(value) for value in values if value is not None]
            self.query_one(f"#usage-{meter}-figures", Static).update(meter_figures(meter, usage, limits, compact))
