"""SVG snapshots of the resource tabs: secrets, the add-secret form with an error, and a
service's log. Fixed size, fixed data from a real backend (StableResources), frozen clock; no
secret value may appear in any SVG.

Update with ``pytest tests/app/test_resources_snapshots.py --snapshot-update`` after review.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from textual.widgets import Input

from tests.app.conftest import client_for, create_running, wait_for
from tests.app.snapshot_support import FIXED_INSTANT, stable_value
from tests.app.test_resources_support import (
    SIZE,
    ResourcesApp,
    StableResources,
    snapshot_context,
)
from tests.conftest import launch_backend

FROZEN_NOW = FIXED_INSTANT + timedelta(hours=2, minutes=10)
SECRET_VALUES = {
    "API_KEY": "sk-live-0123456789abcdef",
    "DATABASE_URL": "postgres://app:pa55word@db/app",
    "GITHUB_TOKEN": "ghp_exampleexampleexample",
}
TYPED_SECRET = "typed-plaintext-value-42"


async def _populate(backend) -> None:
    async with client_for(backend) as client:
        sandbox = await create_running(client, "alpha")
        for name, value in SECRET_VALUES.items():
            await client.secrets.add(sandbox.id, name, value)
        await client.services.add(sandbox.id, "web", "echo 'serving on :3001'; exec sleep 600", ports=[3001],
                                  description="static site")
        await client.services.add(sandbox.id, "worker", "echo 'worker ready'; exec sleep 600")
        services = await client.services.list(sandbox.id)
        worker = next(s for s in services if s.name == "worker")
        await client.services.stop(worker.id)


@pytest.fixture(scope="module")
def resources_backend(tmp_path_factory):
    handle = launch_backend(tmp_path_factory.mktemp("resources-snapshots") / "data")
    try:
        asyncio.run(_populate(handle))
        yield handle
    finally:
        handle.stop()


def snapshot_app(backend, initial: str) -> ResourcesApp:
    async def alpha():
        async with client_for(backend) as client:
            return await client.sandboxes.get("alpha")

    client = StableResources(client_for(backend))
    sandbox = stable_value(asyncio.run(alpha()), client._book)  # the view translates its id back
    return ResourcesApp(
        client,
        sandbox,
        initial=initial,
        refresh=30.0,
        now=lambda: FROZEN_NOW,
        context=snapshot_context(backend),
    )


def assert_no_secret_in(svg: str) -> None:
    for value in [*SECRET_VALUES.values(), TYPED_SECRET]:
        assert value not in svg


async def _secrets_loaded(pilot) -> None:
    pane = pilot.app.tabs.pane("secrets")
    await wait_for(pilot, lambda: len(pane.items) == 3, "the secrets")
    pane.table.sort_by("name", reverse=False)
    pane.table.move_cursor(row=0)
    pane.focus_main()
    await pilot.pause()


def test_secrets_tab(snap_compare, resources_backend):
    """Secrets: NAME and CREATED only (values are never shown), keys in the footer."""

    async def run_before(pilot):
        await _secrets_loaded(pilot)
        assert_no_secret_in(pilot.app.export_screenshot())

    assert snap_compare(snapshot_app(resources_backend, "secrets"), terminal_size=SIZE, run_before=run_before)


def test_add_secret_form_with_error(snap_compare, resources_backend):
    """The add form after submitting a name that starts with a digit: the reason under the
    name; the typed value stays masked."""

    async def run_before(pilot):
        await _secrets_loaded(pilot)
        await pilot.press("a")
        await pilot.press(*"1st key")
        await pilot.press("tab", *TYPED_SECRET)
        await pilot.press("ctrl+s")
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()
        assert_no_secret_in(pilot.app.export_screenshot())

    assert snap_compare(snapshot_app(resources_backend, "secrets"), terminal_size=SIZE, run_before=run_before)


def test_services_tab_with_log(snap_compare, resources_backend):
    """Services: a running and a stopped service, the web service's log below the table."""

    async def run_before(pilot):
        pane = pilot.app.tabs.pane("services")
        await wait_for(pilot, lambda: len(pane.items) == 2, "the services")
        pane.table.sort_by("name", reverse=False)
        pane.table.move_cursor(row=0)
        pane.focus_main()
        await pilot.press("l")
        await wait_for(pilot, lambda: "serving on :3001" in pane.log_shown, "the log")
        await pilot.pause()

    assert snap_compare(snapshot_app(resources_backend, "services"), terminal_size=SIZE, run_before=run_before)
