"""The local backend dies while the app runs: the app finds its data dir's server again by
itself (a new one someone started, or the one it started, started again), the header tells the
truth meanwhile, and the dead backend does not stay a zombie. No key is pressed in these tests.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.backend_watch import BackendWatch
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.resolve import AppContext, backend_exit_notice, local_context
from pocketenv_tui.local.launcher import (
    answers_ok,
    ensure_backend,
    launched_process,
    stop_backend_process,
)
from pocketenv_tui.local.state.datadir import read_server_json
from tests.app.conftest import client_for, create_running, make_app, unique_name, wait_for
from tests.conftest import (
    assert_no_leftover_processes,
    assert_nothing_left_on_the_host,
    stop_what_serves,
)

pytestmark = pytest.mark.timeout(240)

SIZE = (140, 30)


def stop_backends_of(data_dir: Path) -> None:
    """Stop whatever server serves ``data_dir``, then check nothing of it is left."""
    stop_what_serves(data_dir)
    assert_no_leftover_processes(data_dir)
    assert_nothing_left_on_the_host(data_dir)


async def make_stopped_sandbox(context_or_backend) -> str:
    """A sandbox that outlives a server restart without any process of its own (STOPPED)."""
    client = context_or_backend.make_client() if isinstance(context_or_backend, AppContext) else client_for(context_or_backend)
    async with client:
        sandbox = await create_running(client, unique_name("recover"))
        await client.sandboxes.stop(sandbox.id)
        return sandbox.id


async def test_a_new_server_on_the_same_data_dir_is_used_without_a_key(make_backend, tmp_path):
    data_dir = tmp_path / "data"
    first = make_backend(data_dir)  # run by someone, as `pocketenv-tui serve` in a terminal
    sandbox_id = await make_stopped_sandbox(first)
    app = make_app(first, refresh=1.0)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        header = main.query_one("#context-header")
        await wait_for(pilot, lambda: sandbox_id in main.items, "the row")
        assert header.context_label == f"local backend at {first.url} (running)"

        await asyncio.to_thread(first.stop)
        await wait_for(pilot, lambda: "stopped" in header.backend_problem, "the header saying it stopped")
        assert "waiting for `pocketenv-tui serve`" in header.backend_problem
        assert header.has_class("-stale")
        assert "no local backend is running" in await asyncio.to_thread(backend_exit_notice, app.context)
        # Someone else's server is theirs to restart: a few checks later, still none.
        checks = app.backend_watcher.watch.checks
        await wait_for(pilot, lambda: app.backend_watcher.watch.checks >= checks + 2, "two more checks")
        assert read_server_json(data_dir) is None

        second = await asyncio.to_thread(make_backend, data_dir)
        await wait_for(pilot, lambda: app.context.api_url == second.url, "the switch to the new server")
        await wait_for(
            pilot,
            lambda: sandbox_id in main.items and main.problem_text is None and header.freshness.startswith("live"),
            "the list live again",
        )
        assert header.backend_problem == ""
        assert not header.has_class("-stale")
        assert header.context_label == f"local backend at {second.url} (running)"
        assert app.context.token == second.token and app.context.public_key == second.public_key
        assert backend_exit_notice(app.context) is None  # theirs, still running: nothing to say


async def test_the_backend_the_app_started_is_started_again_when_it_is_killed(tmp_path):
    data_dir = tmp_path / "owned"
    context = await asyncio.to_thread(local_context, data_dir)
    try:
        assert context.backend_started and context.backend_background and context.backend_pid
        sandbox_id = await make_stopped_sandbox(context)
        app = PocketenvApp(context, config=AppConfig(), refresh=1.0)
        async with app.run_test(size=SIZE) as pilot:
            main = app.main_screen
            header = main.query_one("#context-header")
            await wait_for(pilot, lambda: sandbox_id in main.items, "the row")
            assert header.context_label == f"local backend at {context.api_url} (started in the background)"
            app.backend_watcher.watch.restart_grace = 2.0

            os.kill(context.backend_pid, signal.SIGKILL)
            await wait_for(
                pilot, lambda: "was killed (signal 9) — restarting" in header.backend_problem,
                "the header saying it is restarting",
            )
            await wait_for(pilot, lambda: app.context.backend_restarted, "the restart")
            restarted = app.context
            assert restarted.backend_pid != context.backend_pid
            await wait_for(
                pilot,
                lambda: sandbox_id in main.items and main.problem_text is None and header.freshness.startswith("live"),
                "the list live again",
            )
            assert header.backend_problem == ""
            assert header.context_label == f"local backend restarted at {restarted.api_url}"
            # Reaped: no zombie of the killed backend is left behind.
            assert not await asyncio.to_thread(Path(f"/proc/{context.backend_pid}").exists)
            notice = await asyncio.to_thread(backend_exit_notice, app.context)
            assert notice is not None and f"keeps running at {restarted.api_url}" in notice
    finally:
        await asyncio.to_thread(stop_backends_of, data_dir)


def test_a_background_backend_of_an_earlier_run_is_restarted_after_the_grace(tmp_path):
    data_dir = tmp_path / "earlier"
    info = ensure_backend(data_dir)  # as an earlier dashboard left it, running in the background
    # This run found it running (it did not start it) and knows only its address.
    found = AppContext("local", info.url, info.token, info.public_key, info.url, data_dir=data_dir)
    now = [100.0]
    watch = BackendWatch(restart_grace=5.0, clock=lambda: now[0])
    try:
        assert watch.check(found).problem == ""  # alive, and the record says a dashboard started it
        stop_backend_process(launched_process(info.pid), timeout=15)

        waiting = watch.check(found)
        assert waiting.problem == f"local backend at {info.url} stopped — restarting in 5s"
        assert waiting.notice and not waiting.restart_now
        now[0] += 5.0
        due = watch.check(found)
        assert due.restart_now and due.problem.endswith("restarting…")

        restarted = watch.restart(found).switch_to
        assert restarted is not None and restarted.backend_restarted and restarted.backend_started
        assert answers_ok(restarted.api_url)
        assert watch.check(restarted).problem == ""
    finally:
        stop_backends_of(data_dir)
