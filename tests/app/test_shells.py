"""Shells that outlive the app, and the Shells tab: Pilot tests against a real local backend.

Every test's state directory is its own (``no_user_config`` in conftest sets
``POCKETENV_TUI_STATE_DIR``), so two App instances in one test share what the first remembered,
exactly like two runs of ``pocketenv-tui``.
"""

from __future__ import annotations

import json
import re
import stat

import httpx
import pytest

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.app.resources.shells import REMEMBERED, UNLISTED_NOTE, ShellsPane
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.app.screens.shell import ShellScreen
from pocketenv_tui.app.shell_keys import default_state_path
from pocketenv_tui.terminal.widget import TerminalView
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    unique_name,
    wait_for,
)

pytestmark = pytest.mark.timeout(240)

SIZE = (120, 34)


def screen_text(view: TerminalView) -> str:
    return "\n".join(view.terminal.display)


async def select_row(app, pilot, sandbox) -> None:
    table = app.main_screen.query_one("#sandboxes")
    await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
    table.select_key(sandbox.id)


async def shell_view(app, pilot) -> TerminalView:
    assert isinstance(app.screen, ShellScreen)
    view = app.screen.query_one(TerminalView)
    await wait_for(pilot, lambda: re.search(r"[$#] *$", screen_text(view), re.M), "a prompt")
    return view


async def type_line(pilot, text: str) -> None:
    await pilot.press(*(ch if ch != " " else "space" for ch in text), "enter")


async def shells_tab(app, pilot, sandbox) -> tuple[SandboxScreen, ShellsPane]:
    await select_row(app, pilot, sandbox)
    await pilot.press("enter")
    screen = app.screen
    assert isinstance(screen, SandboxScreen)
    tabs = screen.query_one("#resource-tabs")
    tabs.show_tab("shells")
    pane = tabs.pane("shells")
    assert isinstance(pane, ShellsPane)
    await wait_for(pilot, lambda: pane.loaded and pane.has_focus_within, "the shells tab")
    return screen, pane


async def test_after_a_restart_t_reattaches_to_the_same_shell(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("reattach"))
        try:
            first = make_app(local_backend)
            async with first.run_test(size=SIZE) as pilot:
                await select_row(first, pilot, sandbox)
                await pilot.press("t")
                view = await shell_view(first, pilot)
                await type_line(pilot, "echo PID-$$")
                pid = (await wait_for(pilot, lambda: re.search(r"PID-(\d+)", screen_text(view)), "the pid")).group(1)
                await type_line(pilot, "printf 'MARK-%s\\n' 42; sleep 600")
                await wait_for(pilot, lambda: "MARK-42" in screen_text(view), "the mark")
                key = first.screen.session_key
                await pilot.press("ctrl+right_square_bracket")
                await pilot.press("ctrl+q")
            assert not first.is_running

            path = default_state_path()
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert key in path.read_text()

            second = make_app(local_backend)
            async with second.run_test(size=SIZE) as pilot:
                await select_row(second, pilot, sandbox)
                await pilot.press("t")
                assert isinstance(second.screen, ShellScreen)
                assert second.screen.session_key == key
                view = second.screen.query_one(TerminalView)
                # The server's replay brings the old output back; the program still runs.
                await wait_for(pilot, lambda: "MARK-42" in screen_text(view), "the replayed mark")
                await pilot.press("ctrl+c")
                await type_line(pilot, "echo AGAIN-$$")
                again = await wait_for(pilot, lambda: re.search(r"AGAIN-(\d+)", screen_text(view)), "the pid again")
                assert again.group(1) == pid  # the very same shell process
                await pilot.press("ctrl+right_square_bracket")
            assert [s.key for s in await client.shells.list(sandbox.id)] == [key]
        finally:
            await delete_quietly(client, sandbox.id)


async def test_after_a_restart_a_full_screen_program_draws_its_screen_again(local_backend, tmp_path):
    # A stand-in for htop: on the alternate screen, it draws a frame now and on every SIGWINCH.
    script = tmp_path / "frame.sh"
    script.write_text(
        "draw() { printf '\\033[H\\033[2JFRAME-%s top-like\\n' \"$1\"; }\n"
        "printf '\\033[?1049h'; n=0; draw start\n"
        "trap 'n=$((n+1)); draw redraw-$n' WINCH\n"
        "while :; do sleep 0.05; done\n"
    )
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("fullscreen"))
        try:
            first = make_app(local_backend)
            async with first.run_test(size=SIZE) as pilot:
                await select_row(first, pilot, sandbox)
                await pilot.press("t")
                view = await shell_view(first, pilot)
                # The script goes in through the shell (the sandbox cannot see the host's tmp).
                body = script.read_text().replace("'", "'\\''")
                await type_line(pilot, f"printf '%s' '{body}' > /tmp/frame.sh; bash /tmp/frame.sh")
                await wait_for(pilot, lambda: "FRAME-start" in screen_text(view), "the first frame")
                assert view.terminal.alternate_screen
                await pilot.press("ctrl+right_square_bracket")
                await pilot.press("ctrl+q")

            second = make_app(local_backend)
            async with second.run_test(size=SIZE) as pilot:
                await select_row(second, pilot, sandbox)
                await pilot.press("t")
                assert isinstance(second.screen, ShellScreen)
                view = second.screen.query_one(TerminalView)
                # Back on the program's screen, and the program was asked to draw it again.
                await wait_for(pilot, lambda: "FRAME-redraw" in screen_text(view), "a redrawn frame")
                assert view.terminal.alternate_screen
                await pilot.press("ctrl+c")
                await pilot.press("ctrl+right_square_bracket")
        finally:
            await delete_quietly(client, sandbox.id)


async def test_shells_tab_lists_new_shells_ends_one_and_attaches(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("shells"))
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                screen, pane = await shells_tab(app, pilot, sandbox)
                assert pane.items == {} and pane.query_one(".pane-empty").display
                keys = []
                for seconds in (601, 602):
                    await pilot.press("n")
                    await shell_view(app, pilot)
                    keys.append(app.screen.session_key)
                    await type_line(pilot, f"sleep {seconds}")
                    await pilot.press("ctrl+right_square_bracket")
                    assert app.screen is screen
                assert keys[0] != keys[1]
                # The server counts a terminal until its socket has closed, a moment after leaving.
                await wait_for(
                    pilot,
                    lambda: set(pane.items) == set(keys)
                    and all(i.command == "sleep" and i.clients == 0 for i in pane.items.values()),
                    "two sleeping shells nobody is attached to",
                )
                assert app.last_shell_key(sandbox.id) == keys[1]
                row = pane.table.get_row(keys[1])
                assert "(t)" in str(row[0]) and str(row[2]) == "sleep"
                assert not pane.query_one("#shells-note").display

                # d asks first, starting on No; no keeps it
                pane.table.select_key(keys[0])
                await pilot.press("d")
                assert isinstance(app.screen, ConfirmScreen)
                assert app.screen.focused.id == "no"
                await pilot.press("n")
                assert app.screen is screen
                await pilot.press("d")
                await pilot.press("y")
                await wait_for(pilot, lambda: set(pane.items) == {keys[1]}, "the ended shell to go")
                assert [s.key for s in await client.shells.list(sandbox.id)] == [keys[1]]
                assert [s.key for s in app.shell_keys.remembered(app.context.state_key, sandbox.id)] == [keys[1]]

                # Enter attaches to the highlighted shell: its screen comes back
                pane.table.select_key(keys[1])
                await pilot.press("enter")
                assert isinstance(app.screen, ShellScreen) and app.screen.session_key == keys[1]
                view = app.screen.query_one(TerminalView)
                await wait_for(pilot, lambda: "sleep 602" in screen_text(view), "the replayed command")
                for _ in range(200):  # the server counts this terminal as attached
                    if [(s.key, s.clients) for s in await client.shells.list(sandbox.id)] == [(keys[1], 1)]:
                        break
                    await pilot.pause(0.05)
                else:
                    pytest.fail("the server never counted the attached terminal")
                await pilot.press("ctrl+right_square_bracket")
                assert not [n for n in app._notifications if n.severity == "error"]
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_shell_that_exits_is_forgotten(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("exits"))
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await select_row(app, pilot, sandbox)
                await pilot.press("t")
                await shell_view(app, pilot)
                key = app.screen.session_key
                assert app.last_shell_key(sandbox.id) == key
                await type_line(pilot, "exit")
                await wait_for(pilot, lambda: app.last_shell_key(sandbox.id) is None, "the key to be forgotten")
                await pilot.press("ctrl+right_square_bracket")
                await pilot.press("t")
                assert app.screen.session_key != key
                await shell_view(app, pilot)
                await pilot.press("ctrl+right_square_bracket")
        finally:
            await delete_quietly(client, sandbox.id)


class NoShellListing(httpx.AsyncBaseTransport):
    """The real local backend, except that it answers the shell methods as the hosted API
    does (it has no such methods): 501 MethodNotImplemented."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("sandbox.getShells", "sandbox.endShell")):
            return httpx.Response(501, json={"error": "MethodNotImplemented", "message": "Method Not Implemented"})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_server_without_shell_listing_shows_the_remembered_keys(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("hosted"))
        hosted_like = PocketenvClient(
            api_url=local_backend.url, token=local_backend.token, public_key=local_backend.public_key,
            storage_url=local_backend.url, transport=NoShellListing(),
        )
        app = make_app(local_backend, client=hosted_like)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await select_row(app, pilot, sandbox)
                await pilot.press("t")
                await shell_view(app, pilot)
                key = app.screen.session_key
                await pilot.press("ctrl+right_square_bracket")
                screen, pane = await shells_tab(app, pilot, sandbox)
                assert list(pane.items) == [key] and pane.items[key].remembered_only
                assert pane.listing_supported is False
                note = pane.query_one("#shells-note")
                assert note.display and str(note.render()) == UNLISTED_NOTE
                assert str(pane.table.get_row(key)[2]) == REMEMBERED
                assert not pane.query_one(".pane-problem").display
                assert not [n for n in app._notifications if n.severity == "error"]

                pane.table.select_key(key)
                await pilot.press("enter")  # re-attaching still works: the key is the server's
                assert isinstance(app.screen, ShellScreen) and app.screen.session_key == key
                await pilot.press("ctrl+right_square_bracket")

                await pilot.press("d")  # nothing to end here: the app forgets the key instead
                assert isinstance(app.screen, ConfirmScreen) and "Forget" in app.screen.question
                await pilot.press("y")
                await wait_for(pilot, lambda: pane.items == {}, "the forgotten key to go")
                assert app.last_shell_key(sandbox.id) is None
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_corrupt_state_file_is_replaced_quietly(local_backend):
    path = default_state_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b'\x00{"contexts": [garbage')
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("corrupt"))
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await select_row(app, pilot, sandbox)
                notes = list(app._notifications)
                assert [n.severity for n in notes] == ["information"]
                assert "rewritten" in notes[0].message and "Traceback" not in notes[0].message
                assert json.loads(path.read_text()) == {"version": 1, "contexts": {}}
                assert stat.S_IMODE(path.stat().st_mode) == 0o600

                await pilot.press("t")  # and it works as if the file had never been broken
                await shell_view(app, pilot)
                key = app.screen.session_key
                await pilot.press("ctrl+right_square_bracket")
            stored = json.loads(path.read_text())["contexts"][app.context.state_key][sandbox.id]
            assert [entry["key"] for entry in stored] == [key]
        finally:
            await delete_quietly(client, sandbox.id)


async def test_read_only_mode_offers_no_shell_keys(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("readonly"))
        app = make_app(local_backend, read_only=True)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                screen, pane = await shells_tab(app, pilot, sandbox)
                assert all(pane.check_action(action, ()) is False for action in ("attach", "new", "end"))
                await pilot.press("n")
                assert app.screen is screen and not isinstance(app.screen, ShellScreen)
                assert app.last_shell_key(sandbox.id) is None
        finally:
            await delete_quietly(client, sandbox.id)
