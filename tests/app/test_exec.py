"""The exec view (widgets/exec_panel.py) through Pilot, on a real local backend.

Output streams in while the command runs, ctrl+c and esc cancel it (and ctrl+c never offers
to quit), a timeout names the command, results stay with the run that produced them, up/down
recall earlier commands, and sandbox output is shown as plain text. A server without the
streaming exec (the hosted API) is stood in for by a real HTTP proxy in front of the backend
that answers execStream as the hosted API does (501). Snapshots show streamed output at
80x24 and 160x48.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from textual.widgets import Input

from pocketenv_tui.api.exec_stream import ExecFinished, ExecOutput
from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.resolve import AppContext
from pocketenv_tui.app.exec_transcript import COMMAND, STDERR, STDOUT
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.app.widgets.exec_panel import ExecPanel
from tests.app.conftest import (
    client_for,
    context_for,
    create_running,
    delete_quietly,
    make_app,
    open_sandbox_screen,
    unique_name,
    wait_for,
)
from tests.app.snapshot_support import DISPLAY_URL, FIXED_INSTANT, StableView
from tests.backend_proxy import BackendProxy
from tests.conftest import launch_backend

pytestmark = pytest.mark.timeout(180)

SIZE = (120, 34)


async def open_exec(app, pilot, sandbox) -> ExecPanel:
    await open_sandbox_screen(app, pilot, sandbox)
    await pilot.press("e")
    panel = app.screen.query_one(ExecPanel)
    await wait_for(pilot, lambda: panel.display and app.focused is panel.input, "the exec view")
    return panel


async def run(pilot, panel: ExecPanel, command: str) -> None:
    panel.input.value = command
    await pilot.press("enter")
    await wait_for(pilot, lambda: panel.current is not None and panel.current.command == command, "the run")


def status(panel: ExecPanel) -> str:
    return panel.status_text().plain


def shown(panel: ExecPanel) -> str:
    """The output of the current run as shown, without the command line (which may hold the
    same words)."""
    return "\n".join(line.text for line in panel.output.transcript.lines if line.kind != COMMAND)


async def processes_matching(client, sandbox_id: str, marker: str) -> int:
    probe = f"cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -o '{marker[:-1]}[{marker[-1]}]' | wc -l"
    return int((await client.sandboxes.exec(sandbox_id, probe)).stdout.strip() or 0)


async def until_gone(client, sandbox_id: str, marker: str) -> int:
    for _ in range(200):
        if (count := await processes_matching(client, sandbox_id, marker)) == 0:
            return 0
        await asyncio.sleep(0.05)
    return count


@pytest.fixture
async def sandbox(local_backend):
    async with client_for(local_backend) as client:
        made = await create_running(client, unique_name("exec"))
        try:
            yield made
        finally:
            await delete_quietly(client, made.id)


async def test_output_streams_in_while_the_command_runs(local_backend, sandbox):
    app = make_app(local_backend)
    async with client_for(local_backend) as client, app.run_test(size=SIZE) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        await run(pilot, panel, "echo ready; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after")
        await wait_for(pilot, lambda: "ready" in shown(panel), "the first line")
        # The command cannot end before this: its first line was shown while it ran.
        assert panel.running and status(panel).startswith("● running for")
        await client.sandboxes.exec(sandbox.id, "touch /tmp/go")
        await wait_for(pilot, lambda: panel.current.state == "exited", "the exit")
        assert shown(panel) == "ready\nafter" and panel.current.exit_code == 0
        assert status(panel).startswith("exit 0 · took")


async def test_stdout_and_stderr_are_interleaved_and_stderr_is_marked(local_backend, sandbox):
    app = make_app(local_backend)
    async with app.run_test(size=SIZE) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        await run(pilot, panel, "echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; exit 3")
        await wait_for(pilot, lambda: panel.current.state == "exited", "the exit")
        lines = [(line.kind, line.text) for line in panel.current.transcript.lines if line.text]
        assert lines[1:] == [(STDOUT, "out1"), (STDERR, "err1"), (STDOUT, "out2")]
        assert lines[0][0] == COMMAND
        assert status(panel).startswith("exit 3")


async def test_ctrl_c_cancels_the_command_and_does_not_offer_to_quit(local_backend, sandbox):
    app = make_app(local_backend)
    async with client_for(local_backend) as client, app.run_test(size=SIZE, notifications=True) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        await run(pilot, panel, "echo started; sleep 303")
        await wait_for(pilot, lambda: "started" in shown(panel), "the output")
        assert await processes_matching(client, sandbox.id, "sleep 303") >= 1
        await pilot.press("ctrl+c")
        assert panel.current.state == "cancelled" and status(panel).startswith("cancelled after")
        assert not any("quit" in n.message.lower() for n in app._notifications)
        assert app.is_running and isinstance(app.screen, SandboxScreen)
        assert await until_gone(client, sandbox.id, "sleep 303") == 0  # the server killed it
        # The next command runs as usual; ctrl+c with nothing running is not the panel's.
        await run(pilot, panel, "echo next")
        await wait_for(pilot, lambda: panel.current.state == "exited", "the next run")
        assert shown(panel) == "next" and "started" not in panel.output.plain()


async def test_escape_cancels_a_running_command_then_closes_the_view(local_backend, sandbox):
    app = make_app(local_backend)
    async with client_for(local_backend) as client, app.run_test(size=SIZE) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        screen = app.screen
        await run(pilot, panel, "echo started; sleep 304")
        await wait_for(pilot, lambda: "started" in shown(panel), "the output")
        await pilot.press("escape")
        assert panel.current.state == "cancelled" and screen.has_class("-exec-open")
        assert await until_gone(client, sandbox.id, "sleep 304") == 0
        await pilot.press("escape")
        await pilot.pause()
        assert not screen.has_class("-exec-open") and not panel.display
        assert isinstance(app.screen, SandboxScreen) and not isinstance(app.focused, Input)
        await pilot.press("e")  # the last run is still there
        await wait_for(pilot, lambda: panel.display, "the view again")
        assert "started" in shown(panel)


async def test_a_timeout_names_the_command(local_backend, sandbox):
    app = make_app(local_backend)
    async with app.run_test(size=SIZE) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        panel.time_limit = 1.0
        await run(pilot, panel, "echo begun; sleep 30")
        await wait_for(pilot, lambda: panel.current.state == "timed out", "the timeout")
        assert status(panel) == "the command timed out after 1 s (exit 124)"
        assert "may have stopped" not in panel.output.plain()


async def test_up_and_down_recall_earlier_commands(local_backend, sandbox):
    app = make_app(local_backend)
    async with app.run_test(size=SIZE) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        for command in ("echo one", "echo two"):
            await run(pilot, panel, command)
            await wait_for(pilot, lambda: panel.current.state == "exited", "the run")
        await pilot.press(*"ec")  # a draft, given back after the newest
        await pilot.press("up")
        assert panel.input.value == "echo two"
        await pilot.press("up", "up")
        assert panel.input.value == "echo one"
        await pilot.press("down")
        assert panel.input.value == "echo two"
        await pilot.press("down")
        assert panel.input.value == "ec"


async def test_sandbox_output_is_shown_as_plain_text(local_backend, sandbox):
    app = make_app(local_backend)
    hostile = (
        "printf '\\033]0;pwned\\007\\033[31mred\\033[0m \\033]52;c;aGk=\\007ok\\n'; "
        "printf 'bar\\033[2J\\033[H\\r50%%\\r100%%\\n\\302\\23331mx\\n\\342\\200\\256evil\\n'"
    )
    async with app.run_test(size=SIZE) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        await run(pilot, panel, hostile)
        await wait_for(pilot, lambda: panel.current.state == "exited", "the run")
        await pilot.pause()
        assert shown(panel).split("\n") == ["red ok", "100%", "x", "evil"]
        drawn = "".join(segment.text for row in panel.output._rows for segment in row)
        assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch == "\u202e" for ch in drawn)


async def test_a_late_event_never_lands_in_a_newer_run(local_backend, sandbox):
    app = make_app(local_backend)
    async with app.run_test(size=SIZE) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        await run(pilot, panel, "sleep 306")
        old = panel.current
        await pilot.press("ctrl+c")
        await run(pilot, panel, "echo fresh")
        await wait_for(pilot, lambda: panel.current.state == "exited", "the new run")
        panel._apply(old, ExecOutput("stdout", "stale output\n"))
        panel._apply(old, ExecFinished(0))
        assert "stale" not in panel.output.plain() and old.state == "cancelled"
        assert "stale" not in "\n".join(line.text for line in old.transcript.lines)
        assert panel.current.exit_code == 0 and shown(panel) == "fresh"


# -- a server without the streaming exec ------------------------------------------------------


def no_exec_stream(request: Request) -> Response | None:
    """The hosted API's answer to a method it does not have."""
    if request.url.path.endswith("sandbox.execStream"):
        return JSONResponse({"error": "MethodNotImplemented", "message": "Method Not Implemented"}, status_code=501)
    return None


@pytest.fixture
def hosted_like(local_backend) -> Iterator[BackendProxy]:
    with BackendProxy(local_backend.url, before=no_exec_stream) as proxy:
        yield proxy


async def test_without_streaming_the_plain_exec_is_used_and_ctrl_c_detaches(local_backend, sandbox, hosted_like):
    context = context_for(local_backend)
    context = AppContext("api", hosted_like.url, context.token, context.public_key, storage_url=hosted_like.url)
    app = PocketenvApp(context, config=AppConfig(), refresh=1.0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        panel = await open_exec(app, pilot, sandbox)
        await run(pilot, panel, "echo hi; echo err >&2; exit 2")
        await wait_for(pilot, lambda: panel.current.state == "exited", "the plain exec")
        assert panel.current.streamed is False and panel.current.exit_code == 2
        assert shown(panel) == "hi\nerr"
        await run(pilot, panel, "sleep 305")
        await wait_for(pilot, lambda: "this server sends the output when the command ends" in status(panel), "the status")
        await pilot.press("ctrl+c")
        assert panel.current.state == "detached"
        assert "may still run on the server" in status(panel)
        assert "may still be running there" in panel.output.plain()
        assert not any("quit" in n.message.lower() for n in app._notifications)


# -- snapshots ------------------------------------------------------------------------------------

STREAMED = (
    "for step in 1 2 3; do echo \"step $step of 3: building\"; sleep 0.3; done; "
    "echo 'warning: cache is cold, this may take a while' >&2; sleep 0.3; "
    "printf '%s\\n' 'compiled 42 modules' 'linking'; sleep 0.3; "
    "echo 'error: retrying one flaky download' >&2; sleep 0.3; echo 'step 3 of 3: done'; sleep 600"
)


@pytest.fixture(scope="module")
def exec_snapshot_backend(tmp_path_factory):
    handle = launch_backend(tmp_path_factory.mktemp("exec-snapshots") / "data")

    async def populate() -> None:
        async with client_for(handle) as client:
            await create_running(client, "alpha")

    try:
        asyncio.run(populate())
        yield handle
    finally:
        handle.stop()


def exec_snapshot_app(backend) -> PocketenvApp:
    context = AppContext("local", DISPLAY_URL, backend.token, backend.public_key)
    return PocketenvApp(
        context, config=AppConfig(), refresh=30.0, now=lambda: FIXED_INSTANT + timedelta(minutes=20),
        client=StableView(client_for(backend)),
    )


async def streamed_output(pilot) -> None:
    app = pilot.app
    main = app.main_screen
    await wait_for(pilot, lambda: any(s.name == "alpha" for s in main.items.values()) and main.poll_count >= 1, "alpha")
    main.query_one("#sandboxes").select_key("sbx_alpha")
    await pilot.press("enter")
    await pilot.press("e")
    panel = app.screen.query_one(ExecPanel)
    panel.clock = lambda: 1000.0  # "running for 0 s" in every run
    panel.input.cursor_blink = False
    panel.input.value = STREAMED
    await pilot.press("enter")
    await wait_for(pilot, lambda: "step 3 of 3: done" in shown(panel), "the streamed output")
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_exec_view_with_streamed_output(snap_compare, exec_snapshot_backend, size):
    """A command still running: its output so far, stderr marked, the status line, the input."""
    assert snap_compare(exec_snapshot_app(exec_snapshot_backend), terminal_size=size, run_before=streamed_output)
