"""Sandbox events: the Events tab of the sandbox screen and the ``:events`` view across
sandboxes, against the real backend's event log; and, through a real proxy answering 404 for
the monitoring methods (as the hosted API does), the status changes the app saw instead.

Snapshots: ``pytest tests/app/test_events_view.py --snapshot-update``, after review.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.monitoring import SandboxEvent
from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.event_rows import event_message, kind_variable
from pocketenv_tui.app.screens.events import DERIVED_NOTE, EventDetailScreen, EventsScreen
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.app.screens.sandboxes import SandboxesScreen
from pocketenv_tui.app.seen_events import StatusWatch
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    open_sandbox_screen,
    unique_name,
    wait_for,
)
from tests.app.test_snapshots import loaded, no_blink, snapshot_app, snapshot_backend  # noqa: F401 (fixture)
from tests.app.test_usage_view import app_at, proxied_client
from tests.app.usage_support import hide_monitoring
from tests.backend_proxy import BackendProxy

pytestmark = pytest.mark.timeout(240)

WIDE = (160, 48)
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def table_rows(table) -> list[tuple[str, list[str]]]:
    """(row key, the cells as text), in the order shown."""
    return [(str(row.key.value), [str(c) for c in table.get_row(row.key)]) for row in table.ordered_rows]


async def test_the_events_tab_lists_a_service_that_exited_with_its_code(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("exits"))
        await client.services.add(sandbox.id, "flaky", "sh -c 'sleep 0.5; exit 3'")
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=WIDE) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                tabs = screen.query_one("ResourceTabs")
                tabs.show_tab("events")
                pane = tabs.pane("events")

                def exited():
                    return [cells for _, cells in table_rows(pane.table) if cells[1] == "service_exited"]

                found = await wait_for(pilot, exited, "the service_exited event")
                assert "flaky" in found[0][2] and "3" in found[0][2], found
                kinds = [cells[1] for _, cells in table_rows(pane.table)]
                # Newest first: the sandbox was created before anything else happened to it.
                assert kinds[-1] == "created" and kinds.index("service_exited") < kinds.index("started")
                assert not pane.query_one("#events-note").display

                key = next(k for k, cells in table_rows(pane.table) if cells[1] == "service_exited")
                pane.table.select_key(key)
                await pilot.press("enter")
                assert isinstance(app.screen, EventDetailScreen)
                details = str(app.screen.query_one("#event-details").render())
                assert '"exitCode": 3' in details and '"name": "flaky"' in details
                await pilot.press("escape")
                assert isinstance(app.screen, SandboxScreen)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_the_events_view_lists_two_sandboxes_newest_first_and_filters(local_backend):
    async with client_for(local_backend) as client:
        first = await create_running(client, unique_name("evone"))
        second = await create_running(client, unique_name("evtwo"))
        await client.sandboxes.stop(first.id)
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=WIDE) as pilot:
                await wait_for(pilot, lambda: app.main_screen.poll_count >= 1, "the list")
                app.main_screen.run_command(":events")
                await pilot.pause()
                view = app.screen
                assert isinstance(view, EventsScreen)
                table = view.query_one("#events")

                def names() -> set[str]:
                    return {cells[0] for _, cells in table_rows(table)}

                await wait_for(pilot, lambda: {first.name, second.name} <= names(), "both sandboxes' events")
                mine = [view.events[key] for key, cells in table_rows(table) if cells[0] in (first.name, second.name)]
                moments = [event.created_at or EPOCH for event in mine]
                assert moments == sorted(moments, reverse=True), "newest first"
                said = [(event.sandbox_name, event.kind) for event in mine]
                # The stop came last, the first sandbox's creation first.
                assert said[0] == (first.name, "stopped") and said[-1] == (first.name, "created")
                assert said.index((second.name, "created")) < said.index((first.name, "started"))
                assert not view.query_one("#events-note").display

                await pilot.press("slash", *second.name)
                await wait_for(pilot, lambda: names() == {second.name}, "only the second sandbox")
                await pilot.press("enter")  # keep the filter, back to the table
                await pilot.press("escape")  # clears the filter
                assert view.filter_text == "" and first.name in names()
                await pilot.press("escape")  # back to the list
                assert isinstance(app.screen, SandboxesScreen)
        finally:
            await delete_quietly(client, first.id, second.id)


async def test_without_an_event_log_the_views_show_the_status_changes_the_app_saw(local_backend):
    with BackendProxy(local_backend.url, before=hide_monitoring) as proxy:
        async with proxied_client(local_backend, proxy) as client:
            sandbox = await create_running(client, unique_name("seen"))
            app: PocketenvApp = app_at(local_backend, proxy)
            try:
                async with app.run_test(size=WIDE, notifications=True) as pilot:
                    main = app.main_screen
                    await wait_for(pilot, lambda: sandbox.id in main.items, "the row")
                    main.run_command(":events")
                    await pilot.pause()
                    view = app.screen
                    assert isinstance(view, EventsScreen)
                    await wait_for(pilot, lambda: view.loaded, "the first load")
                    assert view.derived and view.query_one("#events-note").display
                    assert str(view.query_one("#events-note").render()) == DERIVED_NOTE

                    await client.sandboxes.stop(sandbox.id)
                    expected = f"{sandbox.name} RUNNING -> STOPPED (seen by this app)"
                    table = view.query_one("#events")
                    await wait_for(pilot, lambda: any(cells[3] == expected for _, cells in table_rows(table)),
                                   "the stop, as the app saw it")
                    assert not any(n.severity == "error" for n in app._notifications)

                    # The sandbox's Events tab says the same, from the same memory.
                    await pilot.press("escape")
                    screen = await open_sandbox_screen(app, pilot, main.items[sandbox.id])
                    tabs = screen.query_one("ResourceTabs")
                    tabs.show_tab("events")
                    pane = tabs.pane("events")
                    await wait_for(pilot, lambda: pane.loaded and pane.table.row_count >= 1, "the tab's rows")
                    assert pane.derived and pane.query_one("#events-note").display
                    assert any(cells[2] == expected for _, cells in table_rows(pane.table))
            finally:
                await delete_quietly(client, sandbox.id)


# -- the pieces, without a server ---------------------------------------------------------------------
def test_status_changes_seen_between_polls_become_events():
    watch = StatusWatch()
    at = datetime(2026, 4, 15, 9, 30, tzinfo=UTC)
    alpha, bravo = Sandbox(id="sbx_a", name="alpha", status="RUNNING"), Sandbox(id="sbx_b", name="bravo", status="RUNNING")
    assert watch.observe([alpha, bravo], at, complete=True) == []  # first sight: nothing to compare
    stopped = replace(alpha, status="STOPPED")
    [event] = watch.observe([stopped, bravo], at, complete=True)
    assert (event.kind, event.message) == ("stopped", "alpha RUNNING -> STOPPED (seen by this app)")
    assert event.data == {"from": "RUNNING", "to": "STOPPED", "source": "seen by this app"}
    # Only running sandboxes listed: bravo missing says nothing.
    assert watch.observe([stopped], at, complete=False) == []
    charlie = Sandbox(id="sbx_c", name="charlie", status="STOPPED")
    made, gone = watch.observe([stopped, charlie], at, complete=True)
    assert made.message == "charlie appeared, STOPPED (seen by this app)" and made.kind == "created"
    assert gone.message == "bravo RUNNING -> gone (seen by this app)" and gone.kind == "deleted"
    assert [e.kind for e in watch.events()] == ["deleted", "created", "stopped"]
    assert [e.kind for e in watch.events("sbx_a")] == ["stopped"]


def test_an_exit_code_shows_in_the_message_and_the_colour():
    exited = SandboxEvent(id="evt_1", kind="service_exited", message="Service web exited.", data={"exitCode": 137})
    assert event_message(exited) == "Service web exited. (exit 137)"
    assert kind_variable(exited) == "text-warning"
    clean = replace(exited, message="Service web exited with code 0.", data={"exitCode": 0})
    assert event_message(clean) == "Service web exited with code 0." and kind_variable(clean) == "text-success"
    assert event_message(replace(exited, message="x" * 50), width=10) == "x" * 9 + "…"


# -- snapshots --------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_events_tab(snap_compare, snapshot_backend, size):  # noqa: F811
    """charlie's Events tab from a fixed log: newest first, failures and a non-zero exit in
    warning colours."""

    async def run_before(pilot):
        await loaded(pilot)
        pilot.app.main_screen.query_one("#sandboxes").select_key("sbx_charlie")
        await pilot.press("enter")
        screen = pilot.app.screen
        assert isinstance(screen, SandboxScreen)
        await wait_for(pilot, lambda: len(screen.ports) == 2, "two ports")
        screen.query_one("#ports").sort_by("port")
        tabs = screen.query_one("ResourceTabs")
        tabs.show_tab("events")
        pane = tabs.pane("events")
        await wait_for(pilot, lambda: pane.loaded and pane.table.row_count == 5, "charlie's five events")
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)


async def open_all_events(pilot):
    """From the loaded list, `:events` with the fixed log's eleven events shown."""
    await loaded(pilot)
    pilot.app.main_screen.run_command(":events")
    await pilot.pause()
    view = pilot.app.screen
    await wait_for(pilot, lambda: view.loaded and view.query_one("#events").row_count == 11, "eleven events")
    return view


@pytest.mark.parametrize("size", SIZES)
def test_events_view(snap_compare, snapshot_backend, size):  # noqa: F811
    """`:events`: every sandbox's events from a fixed log, newest first."""

    async def run_before(pilot):
        await open_all_events(pilot)
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_events_view_filtered(snap_compare, snapshot_backend, size):  # noqa: F811
    """`:events` then `/bravo`: the filter in the header and the prompt line."""

    async def run_before(pilot):
        view = await open_all_events(pilot)
        await pilot.press("slash", *"bravo")
        no_blink(pilot.app)
        await wait_for(pilot, lambda: view.query_one("#events").row_count == 3, "bravo's three events")
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)
