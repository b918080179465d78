"""``m`` in ``:events``: older pages of a real backend's event log, kept across polls.

The log is filled straight into the backend's SQLite file (the server's own store functions,
on the file the running server reads), as the server would after hundreds of sandbox events,
which would take minutes to cause one by one.
"""

from __future__ import annotations

import pytest

from pocketenv_tui.app.screens.events import EVENTS_SHOWN, EventsScreen
from pocketenv_tui.local.state import events as event_log
from pocketenv_tui.local.state.store import Store
from tests.app.conftest import client_for, create_running, make_app, unique_name, wait_for

pytestmark = pytest.mark.timeout(240)

PLANTED = 449  # with "created" and "started": 451 events, three pages of 200


def plant_events(data_dir, sandbox_id: str, first: int, count: int) -> None:
    store = Store(data_dir / "state.db")
    try:
        [owner] = store._all("SELECT DISTINCT owner_did FROM events WHERE sandbox_id = ?", (sandbox_id,))
        for n in range(first, first + count):
            event_log.add_event(store, sandbox_id, "note", f"number {n}", owner_did=owner["owner_did"],
                                sandbox_name="older")
    finally:
        store.close()


async def test_older_pages_load_with_m_and_stay_across_polls(make_backend) -> None:
    backend = make_backend()
    async with client_for(backend) as client:
        sandbox = await create_running(client, unique_name("older"))
    plant_events(backend.data_dir, sandbox.id, 0, PLANTED)
    app = make_app(backend, refresh=0.5)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.main_screen.run_command(":events")
        await pilot.pause()
        view = app.screen
        assert isinstance(view, EventsScreen)
        table = view.query_one("#events")
        await wait_for(pilot, lambda: view.loaded and table.row_count == EVENTS_SHOWN, "the newest page")
        assert view.check_action("older", ()) is True

        await pilot.press("m")
        await wait_for(pilot, lambda: table.row_count == 2 * EVENTS_SHOWN, "a second page")
        assert "400 loaded" in app.screen.query_one("ContextHeader").view_label
        await pilot.press("m")
        await wait_for(pilot, lambda: table.row_count == PLANTED + 2, "the last page")
        await wait_for(pilot, lambda: any("all the events" in n.message for n in app._notifications),
                       "the note that there is nothing older")
        assert view.check_action("older", ()) is None  # shown, dimmed: nothing further back

        # New events come in at the top; nothing loaded before goes (not even what left the newest page).
        plant_events(backend.data_dir, sandbox.id, PLANTED, 150)
        await wait_for(pilot, lambda: table.row_count == PLANTED + 2 + 150, "the new events as well")
        messages = {str(table.get_row(row.key)[3]) for row in table.ordered_rows}
        assert {f"number {n}" for n in range(PLANTED + 150)} <= messages
    async with client_for(backend) as client:
        await client.sandboxes.delete(sandbox.id)
