"""SVG snapshots of the describe view (`i`) and the logs view (`l`) at 80x24 and 160x48, with
fixed data: a backend of this module's own with one sandbox, delta, carrying a port, a secret,
a variable and two services that print a few coloured lines each and then wait.

``StableView`` replaces the per-run values of the sandbox; what the describe document shows
beyond them (the owner's record, the record URI, the services' ids and times, the isolation
this machine gives) is fixed here as well.

Update with ``pytest tests/app/test_operations_snapshots.py --snapshot-update`` after review.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from pocketenv_tui.api.models import Profile, Sandbox
from pocketenv_tui.api.resource_models import Service
from pocketenv_tui.app.screens.describe import DescribeScreen
from pocketenv_tui.app.screens.logs import LogsScreen
from tests.app.conftest import client_for, create_running, wait_for
from tests.app.snapshot_support import FIXED_INSTANT, StableView
from tests.app.test_snapshots import loaded, snapshot_app
from tests.conftest import launch_backend

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
WEB = (
    "printf '\\033[32mready\\033[0m listening on :3001\\n'; "
    "printf 'GET /health \\033[33m200\\033[0m 1ms\\n'; exec sleep 600"
)
WORKER = (
    "printf '\\033[36mjob 1\\033[0m done\\n'; "
    "printf '\\033[1;31merror\\033[0m job 2: retrying in 5s\\n'; exec sleep 600"
)
OWNER = Profile(id="usr_local", did="did:local:snapshot", handle="local", display_name="local",
                created_at=FIXED_INSTANT, updated_at=FIXED_INSTANT)


async def _populate(backend) -> None:
    async with client_for(backend) as client:
        delta = await create_running(client, "delta")
        await client.sandboxes.expose_port(delta.id, 8080, "web app")
        await client.secrets.add(delta.id, "API_TOKEN", "not-shown")
        await client.variables.add(delta.id, "LOG_LEVEL", "debug")
        await client.services.add(delta.id, "web", WEB, ports=[3001])
        await client.services.add(delta.id, "worker", WORKER)
        # Both have printed everything before any view reads them: the order is fixed.
        for service in await client.services.list(delta.id):
            for _ in range(300):  # the server's log, polled: there is nothing to wait on
                if (await client.services.logs(service.id)).count("\n") >= 2:
                    break
                await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def operations_backend(tmp_path_factory):
    handle = launch_backend(tmp_path_factory.mktemp("operations") / "data")
    try:
        asyncio.run(_populate(handle))
        yield handle
    finally:
        handle.stop()


class FixedRecords:
    """``sandboxes`` with the owner, record URI and isolation fixed (the rest is StableView's)."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    async def get(self, sandbox_id: str) -> Sandbox | None:
        sandbox = await self._inner.get(sandbox_id)
        if sandbox is None:
            return None
        return dataclasses.replace(
            sandbox, owner=OWNER, uri=f"at://did:local:snapshot/io.pocketenv.sandbox/{sandbox.name}", isolation="bwrap"
        )


class FixedServices:
    """``services`` with ids ``svc_<name>`` and fixed times; logs read by those ids."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self._real: dict[str, str] = {}

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    async def list(self, sandbox_id: str) -> list[Service]:
        fixed = []
        for service in await self._inner.list(sandbox_id):
            stable = f"svc_{service.name}"
            self._real[stable] = service.id
            fixed.append(dataclasses.replace(service, id=stable, created_at=FIXED_INSTANT, updated_at=FIXED_INSTANT))
        return fixed

    async def logs(self, service_id: str) -> str:
        return await self._inner.logs(self._real.get(service_id, service_id))


def operations_app(backend):
    app = snapshot_app(backend)
    view = app.client
    assert isinstance(view, StableView)
    view.sandboxes = FixedRecords(view.sandboxes)
    view.services = FixedServices(view.services)
    return app


async def open_from_list(pilot, key: str):
    await loaded(pilot, names=("delta",))
    pilot.app.main_screen.query_one("#sandboxes").select_key("sbx_delta")
    await pilot.press(key)
    return pilot.app.screen


async def described(pilot) -> DescribeScreen:
    screen = await open_from_list(pilot, "i")
    assert isinstance(screen, DescribeScreen)
    await wait_for(pilot, lambda: screen.document is not None, "the description")
    await pilot.pause()
    return screen


async def following(pilot) -> LogsScreen:
    screen = await open_from_list(pilot, "l")
    assert isinstance(screen, LogsScreen)
    await wait_for(pilot, lambda: len(screen.followed) >= 4 and screen.polls >= 1, "both services' lines")
    await pilot.pause()
    return screen


@pytest.mark.parametrize("size", SIZES)
def test_describe(snap_compare, operations_backend, size):
    """`i` on delta: the record as highlighted YAML, the note on names only at the top."""

    async def run_before(pilot):
        await described(pilot)

    assert snap_compare(operations_app(operations_backend), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_describe_json_with_a_search(snap_compare, operations_backend, size):
    """`j` then `/port`: JSON, every match marked, the current one brought into view."""

    async def run_before(pilot):
        await described(pilot)
        await pilot.press("j", "slash", *"port", "enter", "n")
        await pilot.pause()

    assert snap_compare(operations_app(operations_backend), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_logs(snap_compare, operations_backend, size):
    """`l` on delta: both services' lines, each name in its colour, their own colours kept."""

    async def run_before(pilot):
        await following(pilot)

    assert snap_compare(operations_app(operations_backend), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_logs_paused_with_a_search(snap_compare, operations_backend, size):
    """`p` and `/error`: the status line says paused, the match is marked."""

    async def run_before(pilot):
        await following(pilot)
        await pilot.press("p", "slash", *"error", "enter")
        await pilot.pause()

    assert snap_compare(operations_app(operations_backend), terminal_size=size, run_before=run_before)
