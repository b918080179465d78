"""SVG snapshots of the dashboard's states, at a fixed size, with fixed data and a frozen clock.

Data comes from a real local backend of this module's own (sandboxes alpha, bravo, charlie);
``StableView`` replaces the values that differ per run (ids, timestamps, preview tokens).
Update with ``pytest tests/app/test_snapshots.py --snapshot-update`` after reviewing the report.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from textual.widgets import Input

from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.resolve import AppContext
from pocketenv_tui.terminal.widget import TerminalView
from tests.app.conftest import client_for, create_running, wait_for
from tests.app.snapshot_support import DISPLAY_URL, FIXED_INSTANT, StableView
from tests.conftest import launch_backend

SIZE = (120, 34)
FROZEN_NOW = FIXED_INSTANT + timedelta(hours=1, minutes=5)


async def _populate(backend) -> None:
    async with client_for(backend) as client:
        await create_running(client, "alpha")
        bravo = await create_running(client, "bravo")
        await client.sandboxes.stop(bravo.id)
        charlie = await create_running(client, "charlie")
        await client.sandboxes.expose_port(charlie.id, 8080, "web app")
        await client.sandboxes.expose_port(charlie.id, 3000, "api")


@pytest.fixture(scope="module")
def snapshot_backend(tmp_path_factory):
    handle = launch_backend(tmp_path_factory.mktemp("snapshots") / "data")
    try:
        asyncio.run(_populate(handle))
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def empty_backend(make_backend):
    return make_backend()


def snapshot_app(backend, missing_protections: list[str] | None = None, **options) -> PocketenvApp:
    context = AppContext("local", DISPLAY_URL, backend.token, backend.public_key)
    return PocketenvApp(
        context,
        config=AppConfig(),
        refresh=30.0,
        now=lambda: FROZEN_NOW,
        client=StableView(client_for(backend), missing_protections),
        **options,
    )


def no_blink(app: PocketenvApp) -> None:
    for field in app.screen.query(Input):
        field.cursor_blink = False


async def loaded(pilot, names=("alpha", "bravo", "charlie")) -> None:
    app = pilot.app
    main = app.main_screen
    await wait_for(
        pilot,
        lambda: {s.name for s in main.items.values()} >= set(names) and main.poll_count >= 1,
        "the sandboxes",
    )
    table = main.query_one("#sandboxes")
    table.sort_by("name", reverse=False)
    table.move_cursor(row=0)
    await pilot.pause()


def test_list_with_data(snap_compare, snapshot_backend):
    """Main list: three sandboxes, coloured statuses, up-times from the frozen clock."""
    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=SIZE, run_before=loaded)


def test_empty_state(snap_compare, empty_backend):
    """A backend with no sandboxes: the empty state says how to create one."""

    async def run_before(pilot):
        main = pilot.app.main_screen
        await wait_for(pilot, lambda: main.poll_count >= 1, "the first poll")

    assert snap_compare(snapshot_app(empty_backend), terminal_size=SIZE, run_before=run_before)


def test_filter(snap_compare, snapshot_backend):
    """`/arl`: only charlie matches (`ar` alone is in every row's provider, cloudflare); the
    filter shows in the header and the prompt line."""

    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("slash", "a", "r", "l")
        no_blink(pilot.app)
        main = pilot.app.main_screen
        await wait_for(pilot, lambda: main.query_one("#sandboxes").row_count == 1, "one row")

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=SIZE, run_before=run_before)


def test_delete_confirmation(snap_compare, snapshot_backend):
    """`d` on alpha: the question names it and No has the focus."""

    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("d")

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=SIZE, run_before=run_before)


def test_create_form_with_a_validation_error(snap_compare, snapshot_backend):
    """`n`, a bad name, ctrl+s: the form stays open and says what is wrong."""

    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("n")
        form = pilot.app.screen
        await wait_for(pilot, lambda: form.query_one("#base").value == "shell", "the catalog")
        await pilot.press(*"Bad Name!", "ctrl+s")
        no_blink(pilot.app)

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=SIZE, run_before=run_before)


def test_sandbox_screen_with_ports(snap_compare, snapshot_backend):
    """enter on charlie: its fields and the Ports table with preview URLs."""

    async def run_before(pilot):
        await loaded(pilot)
        table = pilot.app.main_screen.query_one("#sandboxes")
        table.select_key("sbx_charlie")
        await pilot.press("enter")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: len(screen.ports) == 2, "two ports")
        screen.query_one("#ports").sort_by("port")
        await pilot.pause()

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=SIZE, run_before=run_before)


def test_sandbox_screen_with_protections_off(snap_compare, snapshot_backend):
    """charlie's screen on a machine that cannot give every protection: which are off, and why."""
    missing = [
        "diskQuota: the server is not root, so it cannot mount a disk image",
        "outboundNetwork: slirp4netns is not installed (Debian package slirp4netns)",
    ]

    async def run_before(pilot):
        await loaded(pilot)
        pilot.app.main_screen.query_one("#sandboxes").select_key("sbx_charlie")
        await pilot.press("enter")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: len(screen.ports) == 2, "two ports")
        await pilot.pause()

    app = snapshot_app(snapshot_backend, missing_protections=missing)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_shell_with_coloured_output(snap_compare, snapshot_backend):
    """`t` on alpha: the shell prints 16-colour, 256-colour and bold/underline/reverse text."""
    script = (
        "clear; printf '\\033[31mred \\033[32mgreen \\033[33myellow \\033[34mblue\\033[0m\\n"
        "\\033[1mbold\\033[0m \\033[4munderline\\033[0m \\033[7mreverse\\033[0m "
        "\\033[38;5;208morange-256\\033[0m \\033[38;2;10;200;120mtruecolour\\033[0m\\n'; cat"
    )

    async def run_before(pilot):
        await loaded(pilot)
        table = pilot.app.main_screen.query_one("#sandboxes")
        table.select_key("sbx_alpha")
        await pilot.press("t")
        view = pilot.app.screen.query_one(TerminalView)
        await wait_for(pilot, lambda: any(line.strip() for line in view.terminal.display), "a prompt")
        await pilot.press(*script, "enter")
        await wait_for(
            pilot,
            lambda: "truecolour" in "\n".join(view.terminal.display)
            and "printf" not in "\n".join(view.terminal.display),
            "the coloured output",
        )
        await pilot.pause(0.3)

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=SIZE, run_before=run_before)


def test_unreachable_api(snap_compare):
    """No server at the API URL: the banner says what, why and how to fix; no data yet."""
    context = AppContext("api", "http://127.0.0.1:9", "token", None)
    app = PocketenvApp(context, config=AppConfig(), refresh=1.0, now=lambda: FROZEN_NOW)

    async def run_before(pilot):
        main = pilot.app.main_screen
        await wait_for(pilot, lambda: main.failures >= 1, "the first failure")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
