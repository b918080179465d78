"""SVG snapshots of the layouts at 80x24 and 160x48: the list, help, and the sandbox screen with
each resource tab. At 80x24 every column of the list, the ports' preview URL, every tab title
and the help key must be on screen (issue 13, item 10).

Update with ``pytest tests/app/test_layout_snapshots.py --snapshot-update`` after review.
"""

from __future__ import annotations

import pytest

from pocketenv_tui.app.resources.tabs import TABS
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from tests.app.conftest import wait_for
from tests.app.test_snapshots import loaded, snapshot_app, snapshot_backend  # noqa: F401 (fixture)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
LOCAL_TABS = [tab_id for tab_id, _, _ in TABS if tab_id != "provider"]


@pytest.mark.parametrize("size", SIZES)
def test_list(snap_compare, snapshot_backend, size):  # noqa: F811
    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare, snapshot_backend, size):  # noqa: F811
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)


async def open_charlie(pilot) -> SandboxScreen:
    await loaded(pilot)
    pilot.app.main_screen.query_one("#sandboxes").select_key("sbx_charlie")
    await pilot.press("enter")
    screen = pilot.app.screen
    assert isinstance(screen, SandboxScreen)
    await wait_for(pilot, lambda: len(screen.ports) == 2, "two ports")
    screen.query_one("#ports").sort_by("port")
    return screen


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tab", LOCAL_TABS)
def test_sandbox_screen(snap_compare, snapshot_backend, size, tab):  # noqa: F811
    async def run_before(pilot):
        screen = await open_charlie(pilot)
        tabs = screen.query_one("ResourceTabs")
        tabs.show_tab(tab)
        pane = tabs.pane(tab)
        await wait_for(pilot, lambda: getattr(pane, "loaded", True), f"the {tab} tab")
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_sandbox_screen_fields_at_any_size(snap_compare, snapshot_backend, size):  # noqa: F811
    """f: the whole fields panel (on a small terminal it takes the place of ports and tabs)."""

    async def run_before(pilot):
        await open_charlie(pilot)
        await pilot.press("f")
        await pilot.pause(0.2)

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)
