"""What the dashboard shows when the API cannot be used: a clear banner, stale data, retries."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.resolve import AppContext
from tests.app.conftest import client_for, context_for, create_running, make_app, wait_for

SIZE = (120, 34)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_unreachable_api_explains_and_keeps_retrying():
    context = AppContext("api", f"http://127.0.0.1:{closed_port()}", "token", None)
    app = PocketenvApp(context, config=AppConfig(), refresh=1.0)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        await wait_for(pilot, lambda: main.failures >= 1, "the first failure")
        banner = main.query_one("#problem")
        assert banner.display
        text = str(banner.render())
        assert "cannot reach" in text and context.api_url in text
        assert "POCKETENV_API_URL" in text  # how to fix
        assert "Traceback" not in text
        header = main.query_one("#context-header")
        assert header.stale and header.freshness == "no data yet"
        assert "could not be reached" in str(main.query_one("#empty").render())
        await wait_for(pilot, lambda: main.failures >= 2, "a retry")


async def test_rejected_token_says_how_to_fix(local_backend):
    context = replace(context_for(local_backend), token="not-the-token")
    app = PocketenvApp(context, config=AppConfig(), refresh=1.0)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        await wait_for(pilot, lambda: main.failures >= 1, "the rejection")
        text = str(main.query_one("#problem").render())
        assert "rejected the token" in text
        assert "token.json" in text
        assert "not-the-token" not in text


async def test_data_that_cannot_be_refreshed_is_marked_stale_with_its_age(make_backend):
    backend = make_backend()
    clock = ManualClock()
    async with client_for(backend) as client:
        sandbox = await create_running(client, "stale-one")
    app = make_app(backend, refresh=1.0, now=clock)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        await wait_for(pilot, lambda: sandbox.id in main.items, "the row")
        header = main.query_one("#context-header")
        assert not header.stale and header.freshness.startswith("live")
        backend.stop()
        clock.now += timedelta(seconds=42)
        await wait_for(pilot, lambda: main.failures >= 1, "the failed refresh")
        await wait_for(pilot, lambda: header.stale, "the stale marker")
        assert header.freshness == "STALE · data from 42s ago"
        assert sandbox.id in main.query_one("#sandboxes").shown_keys  # old data kept, marked stale
        assert main._next_delay() > app.refresh_interval  # backing off
