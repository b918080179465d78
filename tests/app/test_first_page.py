"""The start-up path: the first page fetched with the standard library while Textual loads,
painted in the first frame, and the real client loaded afterwards. Against real backends."""

from __future__ import annotations

import asyncio
import socket

from pocketenv_tui.api.first_page import PAGE_SIZE, fetch_first_page, start_first_page
from pocketenv_tui.app.main import prepare_app
from pocketenv_tui.app.screens.sandboxes import CLIENT_LOAD_DELAY
from pocketenv_tui.cli import build_parser
from pocketenv_tui.local.launcher import answers_ok
from tests.app.conftest import client_for, delete_quietly, make_app, unique_name, wait_for

SIZE = (120, 34)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


async def test_first_page_matches_the_client_and_gives_up_quietly(local_backend):
    async with client_for(local_backend) as client:
        made = await client.sandboxes.create("shell", name=unique_name("first"))
        try:
            expected = sorted([s.id async for s in client.actor.iter_sandboxes()])
            found = await asyncio.to_thread(fetch_first_page, local_backend.url, local_backend.token)
            assert found is not None and sorted(s.id for s in found) == expected
            assert made.id in {s.id for s in found}
            future = start_first_page(local_backend.url, local_backend.token)
            assert sorted(s.id for s in await asyncio.wrap_future(future)) == expected
        finally:
            await delete_quietly(client, made.id)
    # Anything unusual gives None, and the regular client (with its clear errors) takes over.
    header, _claims, signature = local_backend.token.split(".")
    forged = f"{header}.{_claims}.{signature[::-1]}"
    assert await asyncio.to_thread(fetch_first_page, local_backend.url, forged) is None
    assert fetch_first_page(local_backend.url, "not-a-jwt") is None
    assert fetch_first_page(closed_port_url(), local_backend.token, timeout=2) is None
    assert fetch_first_page("ftp://127.0.0.1/", local_backend.token) is None
    assert PAGE_SIZE >= 30


def test_launcher_probe() -> None:
    assert not answers_ok(closed_port_url(), timeout=1)


async def test_local_probe_answers(local_backend) -> None:
    assert await asyncio.to_thread(answers_ok, local_backend.url)


async def test_prepared_app_paints_the_first_page_before_loading_the_client(fresh_backend):
    async with client_for(fresh_backend) as client:
        made = await client.sandboxes.create("shell", name=unique_name("prefetch"))
    app = prepare_app(build_parser().parse_args(["--data-dir", str(fresh_backend.data_dir), "--refresh", "5"]))
    try:
        assert app.context.kind == "local" and app.context.api_url == fresh_backend.url.rstrip("/")
        async with app.run_test(size=SIZE) as pilot:
            table = app.main_screen.query_one("#sandboxes")
            # In the first frames: the row is there and the full client is not loaded yet.
            assert made.id in table.shown_keys
            assert not app.has_client
            # A little later the client is made on demand and the list keeps refreshing.
            await pilot.pause(CLIENT_LOAD_DELAY + 0.2)
            async with client_for(fresh_backend) as other:
                await other.sandboxes.stop(made.id)
            app.main_screen.refresh_now()
            await wait_for(pilot, lambda: app.has_client, "the client")
            await wait_for(pilot, lambda: app.main_screen.items[made.id].status == "STOPPED", "the new status")
    finally:
        async with client_for(fresh_backend) as cleanup:
            await delete_quietly(cleanup, made.id)


async def test_a_rejected_first_page_falls_back_to_the_client_error(local_backend):
    from dataclasses import replace

    from tests.app.conftest import context_for

    app = make_app(local_backend)
    app.context = replace(context_for(local_backend), token="bad-token")
    async with app.run_test(size=SIZE) as pilot:
        screen = app.main_screen
        await wait_for(pilot, lambda: screen.problem_text is not None, "the problem banner")
        assert app.has_client  # the regular client made the request and explains the failure
        assert "401" in screen.problem_text or "token" in screen.problem_text.lower()
