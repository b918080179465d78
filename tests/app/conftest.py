"""Helpers for the dashboard's tests: apps pointed at real local backends, and waiting.

``local_backend`` (tests/conftest.py) is shared by the whole run, so tests that need a known
set of sandboxes (snapshots, the empty state) start their own backend with ``make_backend``
or the module-scoped ``fresh_backend`` below.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.resolve import AppContext
from tests.conftest import BackendHandle, launch_backend

WAIT_TIMEOUT = 45.0


def context_for(backend: BackendHandle) -> AppContext:
    return AppContext(
        kind="local",
        api_url=backend.url,
        token=backend.token,
        public_key=backend.public_key,
        storage_url=backend.url,
        data_dir=backend.data_dir,
    )


def client_for(backend: BackendHandle) -> PocketenvClient:
    return PocketenvClient(
        api_url=backend.url, token=backend.token, public_key=backend.public_key, storage_url=backend.url
    )


def make_app(
    backend: BackendHandle,
    *,
    config: AppConfig | None = None,
    refresh: float = 1.0,
    now: Callable[[], datetime] | None = None,
    **options,
) -> PocketenvApp:
    return PocketenvApp(
        context_for(backend), config=config or AppConfig(), refresh=refresh, now=now, **options
    )


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def wait_for(pilot: Pilot, predicate: Callable[[], object], what: str, limit: float = WAIT_TIMEOUT):
    """Let the app run until ``predicate()`` is truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def create_running(client: PocketenvClient, name: str, **options) -> Sandbox:
    sandbox = await client.sandboxes.create("shell", name=name, **options)
    return await client.sandboxes.wait_until_running(sandbox.id, timeout=60.0, interval=0.2)


async def delete_quietly(client: PocketenvClient, *sandbox_ids: str) -> None:
    for sandbox_id in sandbox_ids:
        try:
            await client.sandboxes.delete(sandbox_id)
        except Exception:  # already gone is fine: cleanup only
            pass


def status_of(app: PocketenvApp, sandbox_id: str) -> str | None:
    """The STATUS cell of a row, as displayed."""
    table = app.main_screen.query_one("#sandboxes")
    try:
        return table.get_cell(sandbox_id, "status").plain
    except Exception:
        return None


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def fresh_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendHandle]:
    """A backend of this module's own, so its sandbox list is known exactly."""
    handle = launch_backend(tmp_path_factory.mktemp("app-backend") / "data")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch, tmp_path: Path) -> None:
    """Never read or write the real user's config file or state (remembered shells) from a test."""
    monkeypatch.setenv("POCKETENV_TUI_CONFIG", str(tmp_path / "pocketenv-tui-config.json"))
    monkeypatch.setenv("POCKETENV_TUI_STATE_DIR", str(tmp_path / "pocketenv-tui-state"))


async def open_sandbox_screen(app: PocketenvApp, pilot: Pilot, sandbox: Sandbox):
    """From the list, open ``sandbox``'s screen as a user would (highlight, enter)."""
    from pocketenv_tui.app.screens.sandbox import SandboxScreen

    table = app.main_screen.query_one("#sandboxes")
    await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
    table.select_key(sandbox.id)
    await pilot.press("enter")
    assert isinstance(app.screen, SandboxScreen)
    return app.screen
