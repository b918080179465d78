"""Start-up and live-refresh benchmarks for the dashboard.

1. Launch to first painted list: a fresh Python process runs `PocketenvApp` (headless) against a
   running local backend holding a few sandboxes, and reports when the table with those rows has
   been painted. Beside it, the floor: a minimal Textual app that shows a DataTable with the same
   number of rows (no network, no config). Target: at most 1.3x the floor.
2. A 1,000-sandbox table with 10% of the rows changed per refresh: time per refresh through the
   diffing table (LiveTable.show_rows), whether the cursor stayed on its sandbox, and the same
   refresh done by clear-and-refill for comparison. Rows are built as the list builds them: the
   mark column (some rows marked) and sandbox_cells with usage figures for running sandboxes
   (CPU, MEM, DISK). A changed row flips its status, which also changes its UP and usage cells.
   Each refresh is timed to the end of the repaint it caused (``pilot.pause()``, which sleeps at
   least 20 ms by itself: that floor is printed too), and by the process time it took (the
   work alone, without the floor). Target: under 50 ms with the cursor kept.

Run: .venv/bin/python benchmarks/startup.py [--runs 5] [--sandboxes 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The child programs print "PAINTED <seconds since the parent's spawn time>" once the rows are
# on screen (after the refresh that drew them), then exit.
DASHBOARD_CHILD = r"""
import sys, time
spawned = float(sys.argv[1])
expected = int(sys.argv[3])
# Exactly what `pocketenv-tui --data-dir DIR` does before its first frame.
from pocketenv_tui.cli import build_parser
from pocketenv_tui.app.main import prepare_app
app = prepare_app(build_parser().parse_args(["--data-dir", sys.argv[2], "--refresh", "3"]))

# The same stop rule as the floor: once the rows are in the table, exit after the next refresh
# (the frame that shows them). A Pilot would add its own waits for idle to this side only.
from pocketenv_tui.app.screens.sandboxes import SandboxesScreen
apply_rows = SandboxesScreen._apply

def apply_then_exit(screen, found):
    apply_rows(screen, found)
    if screen.query_one("#sandboxes").row_count >= expected:
        screen.app.call_after_refresh(lambda: screen.app.exit(time.time() - spawned))

SandboxesScreen._apply = apply_then_exit
result = app.run(headless=True, size=(120, 34))
print(f"PAINTED {result:.6f}")
"""

FLOOR_CHILD = r"""
import sys, time
spawned = float(sys.argv[1])
rows = int(sys.argv[2])
from textual.app import App
from textual.widgets import DataTable

class Floor(App):
    def compose(self):
        yield DataTable()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns(" ", "NAME", "BASE", "PROVIDER", "STATUS", "UP", "CPU", "MEM", "DISK", "CREATED")
        for index in range(rows):
            table.add_row("", f"sandbox-{index}", "shell", "local", "RUNNING", "1m", "-/2", "-/4G", "-/8G", "1m")
        self.call_after_refresh(lambda: self.exit(time.time() - spawned))

print(f"PAINTED {Floor().run(headless=True, size=(120, 34)):.6f}")
"""


def time_child(program: str, *args: str) -> float:
    spawned = time.time()
    out = subprocess.run(
        [sys.executable, "-c", program, repr(spawned), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    # A run that painted but failed on the way out (a traceback on stderr) does not count.
    if out.returncode == 0 and not out.stderr.strip():
        for line in out.stdout.splitlines():
            if line.startswith("PAINTED "):
                return float(line.split()[1])
    raise RuntimeError(f"child did not report a clean paint:\n{out.stdout}\n{out.stderr}")


async def populate(url: str, token: str, public_key: str, count: int) -> None:
    from pocketenv_tui.api import PocketenvClient

    async with PocketenvClient(api_url=url, token=token, public_key=public_key, storage_url=url) as client:
        for index in range(count):
            sandbox = await client.sandboxes.create("shell", name=f"bench-{index}")
            await client.sandboxes.wait_until_running(sandbox.id, timeout=60, interval=0.2)


def byte_compile_package() -> None:
    """Installing a wheel byte-compiles it, as pip did for Textual. An editable checkout run
    with PYTHONDONTWRITEBYTECODE set would instead recompile every module of ours on every
    launch, and the comparison would time the compiler rather than the app."""
    import compileall

    compileall.compile_dir(ROOT / "pocketenv_tui", quiet=1)


def startup_benchmark(runs: int, sandboxes: int) -> tuple[list[float], list[float]]:
    from pocketenv_tui.local.launcher import throwaway_backend

    byte_compile_package()

    with throwaway_backend("pocketenv-bench-") as backend:
        asyncio.run(populate(backend.url, backend.token, backend.public_key, sandboxes))
        data_dir = str(backend.data_dir)
        # One warm-up of each so both start with the same file-system caches.
        time_child(DASHBOARD_CHILD, data_dir, str(sandboxes))
        time_child(FLOOR_CHILD, str(sandboxes))
        dashboard, floor = [], []
        for _ in range(runs):
            dashboard.append(time_child(DASHBOARD_CHILD, data_dir, str(sandboxes)))
            floor.append(time_child(FLOOR_CHILD, str(sandboxes)))
    return dashboard, floor


def fake_sandboxes(count: int):
    from pocketenv_tui.api.models import Sandbox

    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        Sandbox(
            id=f"sbx_{index:05d}",
            name=f"sandbox-{index:05d}",
            provider="local",
            base_sandbox="shell",
            status="RUNNING" if index % 3 else "STOPPED",
            vcpus=2,
            memory=4,
            disk=8,
            created_at=start + timedelta(minutes=index),
            started_at=start + timedelta(minutes=index + 1),
        )
        for index in range(count)
    ]


def fake_usage(sandbox, tick: int):
    """What the local backend reports for a running sandbox (None for a stopped one)."""
    from pocketenv_tui.api.monitoring import SandboxUsage

    if sandbox.status != "RUNNING":
        return None
    seed = int(sandbox.id.rsplit("_", 1)[1]) + tick
    return SandboxUsage(
        sandbox_id=sandbox.id,
        cpu_percent=float(seed % 97),
        cpu_limit_percent=200.0,
        memory_bytes=(seed % 50 + 10) * 2**20,
        memory_limit_bytes=4 * 2**30,
        disk_bytes=(seed % 30 + 1) * 2**28,
        disk_limit_bytes=8 * 2**30,
    )


async def refresh_benchmark(count: int, refreshes: int, guard: bool = True) -> dict[str, float | bool]:
    from textual.app import App, ComposeResult

    from pocketenv_tui.app import safe_output
    from pocketenv_tui.app.sandbox_rows import FULL_LAYOUT, SANDBOX_COLUMNS, sandbox_cells
    from pocketenv_tui.app.screens.bulk_actions import (
        MARK_COLUMN,
        MARKED_COMPONENT,
        mark_cell,
        marked_row,
    )
    from pocketenv_tui.app.widgets.live_table import LiveTable

    if guard:
        safe_output.install()  # as PocketenvApp does: every line drawn is checked for controls

    class Bench(App):
        def compose(self) -> ComposeResult:
            yield LiveTable(id="t")

    rng = random.Random(5)
    sandboxes = fake_sandboxes(count)
    marked = {sandbox.id for sandbox in sandboxes[::20]}
    usage = {sandbox.id: fake_usage(sandbox, 0) for sandbox in sandboxes}
    now = datetime(2026, 2, 1, tzinfo=UTC)
    app = Bench()
    results: dict[str, float | bool] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(LiveTable)
        table.set_columns([MARK_COLUMN, *SANDBOX_COLUMNS])  # as SandboxesScreen._columns
        variables = app.theme_variables
        mark_style = table.get_component_rich_style(MARKED_COMPONENT, partial=True)

        def rows(items):
            # As SandboxesScreen.render_rows and BulkActions.decorate_rows build them.
            built = {s.id: sandbox_cells(s, now, variables, None, FULL_LAYOUT, usage[s.id]) for s in items}
            return {
                key: marked_row((mark_cell(True), *cells), mark_style) if key in marked else (mark_cell(False), *cells)
                for key, cells in built.items()
            }

        def change_tenth(tick: int) -> None:
            for index in rng.sample(range(count), count // 10):
                old = sandboxes[index]
                sandboxes[index] = replace(old, status="STOPPED" if old.status == "RUNNING" else "RUNNING")
                usage[old.id] = fake_usage(sandboxes[index], tick)

        table.show_rows(rows(sandboxes))
        table.sort_by("name")
        await pilot.pause()
        keep = sandboxes[count // 2].id
        table.select_key(keep)
        floor_times = []
        for _ in range(refreshes):
            started = time.perf_counter()
            await pilot.pause()
            floor_times.append(time.perf_counter() - started)
        results["pause_floor_ms"] = statistics.median(floor_times) * 1000

        diff_times, diff_cpu, kept = [], [], True
        for tick in range(1, refreshes + 1):
            change_tenth(tick)
            wanted = rows(sandboxes)
            started, cpu = time.perf_counter(), time.process_time()
            table.show_rows(wanted)
            await pilot.pause()  # include the repaint the update caused
            diff_times.append(time.perf_counter() - started)
            diff_cpu.append(time.process_time() - cpu)
            kept = kept and table.highlighted_key == keep
        results["diff_ms"] = statistics.median(diff_times) * 1000
        results["diff_cpu_ms"] = statistics.median(diff_cpu) * 1000
        results["cursor_kept"] = kept

        # Clear-and-refill, the pattern the diff replaces (the cursor goes back to row 0).
        refill_times, refill_cpu, refill_kept = [], [], True
        for tick in range(refreshes + 1, 2 * refreshes + 1):
            change_tenth(tick)
            wanted = rows(sandboxes)
            started, cpu = time.perf_counter(), time.process_time()
            table.clear()
            for key, cells in wanted.items():
                table.add_row(*cells, key=key)
            await pilot.pause()
            refill_times.append(time.perf_counter() - started)
            refill_cpu.append(time.process_time() - cpu)
            refill_kept = refill_kept and table.highlighted_key == keep
        results["refill_ms"] = statistics.median(refill_times) * 1000
        results["refill_cpu_ms"] = statistics.median(refill_cpu) * 1000
        results["refill_cursor_kept"] = refill_kept
    return results


def launch_benchmark(runs: int, sandboxes: int) -> None:
    dashboard_runs, floor_runs = startup_benchmark(runs, sandboxes)
    dashboard, floor = statistics.median(dashboard_runs), statistics.median(floor_runs)
    # Each dashboard run is paired with the floor run right after it, so a pair shares the
    # machine's state; the median of the pairs' ratios is steadier than a ratio of medians on a
    # machine whose speed drifts.
    pair_ratios = sorted(d / f for d, f in zip(dashboard_runs, floor_runs, strict=True))
    ratio = statistics.median(pair_ratios)
    print(f"Launch to first painted list ({sandboxes} sandboxes, median of {runs} runs)")
    print(f"  {'pocketenv-tui vs local backend':34} {dashboard * 1000:8.0f} ms")
    print(f"  {'floor: Textual + DataTable':34} {floor * 1000:8.0f} ms")
    print(f"  {'ratio of medians':34} {dashboard / floor:8.2f}x")
    print(f"  {'pairs: ratio min / max':34} {pair_ratios[0]:8.2f}x / {pair_ratios[-1]:.2f}x")
    print(f"  {'median pair ratio (target <= 1.30)':34} {ratio:8.2f}x  {'OK' if ratio <= 1.3 else 'OVER TARGET'}")


def refresh_report(rows: int, refreshes: int, guard: bool = True) -> None:
    refresh = asyncio.run(refresh_benchmark(rows, refreshes, guard))
    diff_ms = refresh["diff_ms"]
    print(f"\n{rows}-row table, 10% of rows changed per refresh (median of {refreshes}), "
          f"output guard {'on' if guard else 'off'}")
    print(f"  {'':34} {'to repaint':>10} {'CPU':>8}")
    print(
        f"  {'diff by row key (LiveTable)':34} {diff_ms:7.1f} ms {refresh['diff_cpu_ms']:5.1f} ms"
        f"  cursor kept: {refresh['cursor_kept']}"
    )
    print(
        f"  {'clear and refill':34} {refresh['refill_ms']:7.1f} ms {refresh['refill_cpu_ms']:5.1f} ms"
        f"  cursor kept: {refresh['refill_cursor_kept']}"
    )
    print(f"  {'floor: pilot.pause() alone':34} {refresh['pause_floor_ms']:7.1f} ms")
    verdict = "OK" if diff_ms < 50 and refresh["cursor_kept"] else "OVER TARGET"
    print(f"  {'target: under 50 ms, cursor kept':34} {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sandboxes", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--refreshes", type=int, default=20)
    parser.add_argument("--refresh-only", action="store_true", help="skip the launch benchmark")
    parser.add_argument("--without-output-guard", action="store_true",
                        help="refresh without app/safe_output.py's check of every line (to see its cost)")
    args = parser.parse_args()

    if not args.refresh_only:
        launch_benchmark(args.runs, args.sandboxes)
    refresh_report(args.rows, args.refreshes, guard=not args.without_output_guard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
