"""Live usage in the dashboard: CPU, MEM and DISK columns in the list, graphs on the sandbox
screen, and a server with no usage figures (the hosted API, stood in for by a real proxy in
front of the real backend answering 404 for the monitoring methods).

Snapshots: ``pytest tests/app/test_usage_view.py --snapshot-update``, after review.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.requests import Request
from starlette.responses import Response
from textual.widgets import Sparkline

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.models import Sandbox, SandboxLimits
from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.resolve import AppContext
from pocketenv_tui.app.formatting import (
    GIB,
    MIB,
    format_amount_usage,
    format_bytes,
    format_bytes_compact,
    format_cpu_usage,
)
from pocketenv_tui.app.sandbox_rows import usage_cells
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.app.usage import (
    NO_USAGE_NOTICE,
    Limits,
    Monitor,
    UsageHistory,
    limits_of,
    monitor_of,
)
from pocketenv_tui.app.widgets.usage_strip import UsageGraph, UsageStrip
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    open_sandbox_screen,
    unique_name,
    wait_for,
)
from tests.app.snapshot_support import FIXED_INSTANT
from tests.app.test_snapshots import loaded, snapshot_app, snapshot_backend  # noqa: F401 (fixture)
from tests.app.usage_support import (
    DEFAULT_FIGURES,
    FIXED_FIGURES,
    Figures,
    fixed_usage,
    hide_monitoring,
)
from tests.backend_proxy import BackendProxy, xrpc_method

pytestmark = pytest.mark.timeout(240)

WIDE = (160, 48)
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
BURN = "timeout 6 sh -c 'while :; do :; done' &"


def cell(app: PocketenvApp, sandbox_id: str, column: str):
    table = app.main_screen.query_one("#sandboxes")
    try:
        return table.get_cell(sandbox_id, column)
    except Exception:
        return None


def cpu_figure(app: PocketenvApp, sandbox_id: str) -> float | None:
    """The CPU percent the row sorts by (None: no figure shown)."""
    found = cell(app, sandbox_id, "cpu")
    if found is None or found.sort_key[0] < 0:
        return None
    return found.sort_key[0]


def rows_in_order(app: PocketenvApp) -> list[str]:
    table = app.main_screen.query_one("#sandboxes")
    return [str(row.key.value) for row in table.ordered_rows]


async def test_usage_columns_show_figures_that_move_when_a_sandbox_burns_cpu(local_backend):
    async with client_for(local_backend) as client:
        busy = await create_running(client, unique_name("burn"))
        idle = await create_running(client, unique_name("idle"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=WIDE, notifications=True) as pilot:
                await wait_for(pilot, lambda: cpu_figure(app, busy.id) is not None, "a CPU figure")
                memory = cell(app, busy.id, "mem").plain
                disk = cell(app, busy.id, "storage").plain
                assert memory[0].isdigit() and " / " in memory, memory
                assert disk[0].isdigit() and " / " in disk, disk
                assert cell(app, busy.id, "cpu").plain.endswith("/ 2 vCPU")

                await client.sandboxes.exec(busy.id, BURN)
                await wait_for(pilot, lambda: (cpu_figure(app, busy.id) or 0) >= 40, "the CPU figure to climb")
                # Sorted by CPU, highest first: by the number, not the text ("9%" > "45%").
                app.main_screen.run_command(":sort cpu desc")  # by the column's key, or its label
                await pilot.pause()
                order = rows_in_order(app)
                assert order.index(busy.id) < order.index(idle.id)
                await wait_for(pilot, lambda: (cpu_figure(app, busy.id) is not None and cpu_figure(app, busy.id) < 40),
                               "the CPU figure to fall")
                assert not any(n.severity == "error" for n in app._notifications)
        finally:
            await delete_quietly(client, busy.id, idle.id)


async def test_a_stopped_sandbox_shows_its_limits_and_no_figures(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("halt"))
        await client.sandboxes.stop(sandbox.id)
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                main = app.main_screen
                await wait_for(pilot, lambda: sandbox.id in main.items and monitor_of(app).usage_supported,
                               "the row and a usage answer")
                assert cell(app, sandbox.id, "cpu").plain == "-/2"
                assert cell(app, sandbox.id, "mem").plain == "-/2G"
                assert cell(app, sandbox.id, "storage").plain.startswith("-/")
        finally:
            await delete_quietly(client, sandbox.id)


async def test_the_sandbox_screen_graphs_cpu_memory_and_disk(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("graph"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=WIDE) as pilot:
                await wait_for(pilot, lambda: cpu_figure(app, sandbox.id) is not None, "a figure in the list")
                screen = await open_sandbox_screen(app, pilot, sandbox)
                graphs = screen.query(UsageGraph)
                assert len(graphs) == 3 and all(isinstance(graph, Sparkline) for graph in graphs)
                await client.sandboxes.exec(sandbox.id, BURN)
                cpu = screen.query_one("#usage-cpu-graph", UsageGraph)
                # The list's samples and the screen's own poll make one history.
                await wait_for(pilot, lambda: len(cpu.data or []) >= 3 and max(cpu.data) >= 40, "a graph of the burn")
                assert cpu.ceiling == 200.0
                figures = str(screen.query_one("#usage-mem-figures").render())
                assert "MB" in figures and "of 2 GB" in figures
                assert not screen.query_one(UsageStrip).has_class("-no-figures")

                await pilot.resize_terminal(80, 24)
                await wait_for(pilot, lambda: screen.has_class("-compact"), "the compact layout")
                await pilot.pause()
                strip = screen.query_one(UsageStrip)
                assert strip.size.height == 1
                assert str(screen.query_one("#usage-cpu-figures").render()).endswith("%/2")
        finally:
            await delete_quietly(client, sandbox.id)


class Counting:
    """Counts the XRPC calls the proxy passes, and hides the monitoring methods on demand."""

    def __init__(self, hide: bool) -> None:
        self.hide = hide
        self.calls: Counter[str] = Counter()

    def before(self, request: Request) -> Response | None:
        self.calls[xrpc_method(request)] += 1
        return hide_monitoring(request) if self.hide else None


@pytest.fixture
def no_usage_server(local_backend) -> Iterator[tuple[BackendProxy, Counting]]:
    counting = Counting(hide=True)
    with BackendProxy(local_backend.url, before=counting.before) as proxy:
        yield proxy, counting


def app_at(local_backend, proxy: BackendProxy) -> PocketenvApp:
    context = AppContext("api", proxy.url, local_backend.token, local_backend.public_key, storage_url=proxy.url)
    return PocketenvApp(context, config=AppConfig(), refresh=1.0)


def proxied_client(local_backend, proxy: BackendProxy) -> PocketenvClient:
    return PocketenvClient(api_url=proxy.url, token=local_backend.token, public_key=local_backend.public_key,
                           storage_url=proxy.url)


async def test_without_usage_figures_the_limits_show_and_nothing_is_an_error(local_backend, no_usage_server):
    proxy, counting = no_usage_server
    async with proxied_client(local_backend, proxy) as client:
        sandbox = await create_running(client, unique_name("nousage"))
        app = app_at(local_backend, proxy)
        try:
            async with app.run_test(size=WIDE, notifications=True) as pilot:
                main = app.main_screen
                await wait_for(pilot, lambda: main.poll_count >= 3 and sandbox.id in main.items, "three polls")
                assert cell(app, sandbox.id, "cpu").plain == "- / 2 vCPU"
                assert cell(app, sandbox.id, "mem").plain == "- / 2 GB"
                assert cell(app, sandbox.id, "storage").plain == "- / 10 GB"
                said = [(n.message, n.severity) for n in app._notifications]
                assert said.count((NO_USAGE_NOTICE, "information")) == 1
                assert not any(severity == "error" for _, severity in said)
                assert not main.query_one("#problem").display
                # Told once that there is none, the app stops asking.
                assert counting.calls["sandbox.getSandboxUsage"] == 1

                screen = await open_sandbox_screen(app, pilot, sandbox)
                await pilot.pause()
                strip = screen.query_one(UsageStrip)
                assert strip.has_class("-no-figures")
                note = str(screen.query_one("#usage-note").render())
                assert note.startswith("No usage figures from this server") and "2 vCPU" in note
                assert not screen.query_one("#problem").display
        finally:
            await delete_quietly(client, sandbox.id)


async def test_the_list_asks_for_usage_once_per_refresh(local_backend):
    counting = Counting(hide=False)
    with BackendProxy(local_backend.url, before=counting.before) as proxy:
        async with proxied_client(local_backend, proxy) as client:
            sandbox = await create_running(client, unique_name("once"))
            app = app_at(local_backend, proxy)
            try:
                async with app.run_test(size=WIDE) as pilot:
                    main = app.main_screen
                    await wait_for(pilot, lambda: main.poll_count >= 4, "four polls")
                    lists = counting.calls["actor.getActorSandboxes"]
                    usage = counting.calls["sandbox.getSandboxUsage"]
                    # The first paint may come from the client-less first page (no usage call).
                    assert lists - 1 <= usage <= lists
            finally:
                await delete_quietly(client, sandbox.id)


# -- the pieces, without a server ---------------------------------------------------------------------
def test_usage_figures_read_short_and_say_what_is_unknown():
    assert format_bytes(310 * MIB) == "310 MB" and format_bytes(int(1.2 * GIB)) == "1.2 GB"
    assert format_bytes(10 * GIB) == "10 GB" and format_bytes(None) == "-"
    assert format_bytes_compact(1023 * MIB) == "1G"  # never five cells
    assert format_bytes_compact(48 * MIB) == "48M" and format_bytes_compact(0) == "0"
    assert format_cpu_usage(62.5, 2.0) == "62% / 2 vCPU" and format_cpu_usage(3.25, 2.0) == "3.2% / 2 vCPU"
    assert format_cpu_usage(62.5, 2.0, compact=True) == "62%"
    assert format_cpu_usage(None, 2.0, compact=True) == "-/2"
    assert format_cpu_usage(None, 2.0) == "- / 2 vCPU" and format_cpu_usage(None, None) == "-"
    assert format_amount_usage(None, 2 * GIB, compact=True) == "-/2G"


def test_usage_cells_sort_by_the_numbers_with_no_figure_lowest():
    running = Sandbox(id="sbx_a", name="a", status="RUNNING", limits=SandboxLimits(vcpus=2, memory_mib=2048))
    stopped = Sandbox(id="sbx_b", name="b", status="STOPPED", vcpus=2, memory=4, disk=8)
    busy = usage_cells(running, fixed_usage("sbx_a", FIXED_FIGURES["charlie"]), compact=False)
    idle = usage_cells(running, fixed_usage("sbx_a", Figures(9.0, 9 * MIB, 9 * MIB, 1)), compact=False)
    none = usage_cells(stopped, None, compact=False)
    assert [cell.plain for cell in none] == ["- / 2 vCPU", "- / 4 GB", "- / 8 GB"]
    for column in range(3):  # "9%" sorts below "62%", and "-" below both
        assert none[column].sort_key < idle[column].sort_key < busy[column].sort_key


def test_limits_in_force_come_from_the_usage_then_the_record():
    sandbox = Sandbox(id="sbx_a", name="a", vcpus=4, memory=8, disk=20, limits=SandboxLimits(memory_mib=1024))
    assert limits_of(sandbox) == Limits(vcpus=4.0, memory_bytes=GIB, disk_bytes=20 * GIB)
    usage = fixed_usage("sbx_a", DEFAULT_FIGURES)
    assert limits_of(sandbox, usage) == Limits(vcpus=2.0, memory_bytes=2 * GIB, disk_bytes=10 * GIB, pids=1024)


def test_history_keeps_the_last_samples_once_each():
    history = UsageHistory(size=3)
    for second in range(5):
        assert history.add(fixed_usage("sbx_a", DEFAULT_FIGURES, FIXED_INSTANT + timedelta(seconds=second)))
    assert not history.add(fixed_usage("sbx_a", DEFAULT_FIGURES, FIXED_INSTANT + timedelta(seconds=4)))
    assert [s.sampled_at.second for s in history.samples("sbx_a")] == [2, 3, 4]
    assert history.series("sbx_a", lambda sample: sample.pids) == [3.0, 3.0, 3.0]


def test_the_monitor_keeps_the_newest_figures_of_running_sandboxes():
    monitor = Monitor("http://api")
    one, two = fixed_usage("sbx_1", DEFAULT_FIGURES), fixed_usage("sbx_2", DEFAULT_FIGURES)
    assert monitor.take_usage([one, two]) and set(monitor.latest) == {"sbx_1", "sbx_2"}
    assert monitor.take_usage([one]) and set(monitor.latest) == {"sbx_1"}  # sbx_2 stopped
    assert monitor.take_usage([two], "sbx_2") and set(monitor.latest) == {"sbx_1", "sbx_2"}
    assert monitor.take_usage([], "sbx_1") and set(monitor.latest) == {"sbx_2"}
    assert monitor.take_usage(None) and monitor.usage_supported is False and not monitor.latest


# -- snapshots --------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_list_with_usage_columns(snap_compare, snapshot_backend, size):  # noqa: F811
    """The list with fixed usage: alpha and charlie running (figures / limits), bravo stopped
    (limits only). At 80x24 the compact forms keep every column on screen."""

    async def run_before(pilot):
        await loaded(pilot)
        await wait_for(pilot, lambda: len(monitor_of(pilot.app).latest) == 2, "the usage figures")
        pilot.app.main_screen.render_rows()
        await pilot.pause()

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)


def seed_history(app: PocketenvApp, sandbox_id: str) -> None:
    """Thirty fixed samples of a CPU burst, ending with the fixed sample the server view gives
    (so later polls add nothing)."""
    history = UsageHistory()
    last = FIXED_FIGURES["charlie"]
    for step in range(29):
        wave = [5, 8, 12, 30, 80, 140, 190, 170, 120, 60][step % 10]
        figures = type(last)(float(wave), (200 + 4 * step) * 1024**2, int(1.1 * 1024**3), 8)
        history.add(fixed_usage(sandbox_id, figures, FIXED_INSTANT - timedelta(seconds=30 - step)))
    history.add(fixed_usage(sandbox_id, last))
    monitor_of(app).history = history


@pytest.mark.parametrize("size", SIZES)
def test_sandbox_screen_usage(snap_compare, snapshot_backend, size):  # noqa: F811
    """charlie's screen: CPU, MEM and DISK graphs from a fixed history, the figures and limits
    beside them (one line at 80x24)."""

    async def run_before(pilot):
        await loaded(pilot)
        await wait_for(pilot, lambda: len(monitor_of(pilot.app).latest) == 2, "the usage figures")
        seed_history(pilot.app, "sbx_charlie")
        pilot.app.main_screen.query_one("#sandboxes").select_key("sbx_charlie")
        await pilot.press("enter")
        screen = pilot.app.screen
        assert isinstance(screen, SandboxScreen)
        await wait_for(pilot, lambda: len(screen.ports) == 2, "two ports")
        screen.query_one("#ports").sort_by("port")
        screen.show_usage()
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)
