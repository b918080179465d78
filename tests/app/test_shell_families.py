"""The shell screen opens each terminal family by the sandbox's provider: Pilot against a real local backend."""

from __future__ import annotations

import re
import uuid

import pytest

from pocketenv_tui.api.ssh_sessions import session_id_from_key
from pocketenv_tui.app.screens.shell import ShellScreen
from pocketenv_tui.terminal.session import SessionState
from pocketenv_tui.terminal.widget import TerminalView
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    open_sandbox_screen,
    unique_name,
    wait_for,
)

pytestmark = pytest.mark.timeout(240)

SIZE = (120, 34)


def screen_text(view: TerminalView) -> str:
    return "\n".join(view.terminal.display)


async def type_line(pilot, text: str) -> None:
    await pilot.press(*(ch if ch != " " else "space" for ch in text), "enter")


async def open_shell(app, pilot, sandbox) -> tuple[ShellScreen, TerminalView]:
    await open_sandbox_screen(app, pilot, sandbox)
    await pilot.press("t")
    screen = app.screen
    assert isinstance(screen, ShellScreen)
    view = screen.query_one(TerminalView)
    await wait_for(pilot, lambda: re.search(r"[$#] *$", screen_text(view), re.M), "a prompt")
    return screen, view


def remembered(app, sandbox_id: str) -> list[str]:
    return [s.key for s in app.shell_keys.remembered(app.context.state_key, sandbox_id)]


@pytest.mark.parametrize(("provider", "family"), [("daytona", "ssh"), ("sprites", "tty")])
async def test_t_opens_the_providers_family_types_and_reattaches(local_backend, provider: str, family: str) -> None:
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name(provider), provider=provider)
        assert sandbox.provider == provider
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen, view = await open_shell(app, pilot, sandbox)
                assert screen.dialect == family
                await type_line(pilot, "KEEP=kept-$((6*7)); echo fam-$((6*7))")
                await wait_for(pilot, lambda: "fam-42" in screen_text(view), "the command's output")
                key = screen.session_key
                if family == "ssh":
                    # The server made the session; the app remembers its key, not the made-up one.
                    assert session_id_from_key(key) is not None
                    assert view.session is not None and f"/ssh/{session_id_from_key(key)}/ws" in view.session.url
                else:
                    assert view.session is not None and f"/tty/{sandbox.id}/ws" in view.session.url
                assert remembered(app, sandbox.id) == [key]
                assert key in [s.key for s in await client.shells.list(sandbox.id)]

                # ctrl+] keeps the shell; t re-attaches to it.
                await pilot.press("ctrl+right_square_bracket")
                assert not isinstance(app.screen, ShellScreen)
                await pilot.press("t")
                screen = app.screen
                assert isinstance(screen, ShellScreen) and screen.session_key == key
                view = screen.query_one(TerminalView)
                if family == "ssh":
                    # ssh replays what the shell printed so far.
                    await wait_for(pilot, lambda: "fam-42" in screen_text(view), "the replayed output")
                await wait_for(pilot, lambda: view.status is not None and view.status.state is SessionState.CONNECTED, "the re-attach")
                await type_line(pilot, 'echo "again:$KEEP"')
                await wait_for(pilot, lambda: "again:kept-42" in screen_text(view), "the same shell")

                # The shell exits: its key is forgotten (and an ssh session ended).
                await type_line(pilot, "exit")
                await wait_for(pilot, lambda: view.status is not None and view.status.state is SessionState.EXITED, "the exit")
                assert remembered(app, sandbox.id) == []
                await pilot.press("ctrl+right_square_bracket")
            assert key not in [s.key for s in await client.shells.list(sandbox.id)]
            if family == "ssh":
                session_id = session_id_from_key(key)
                assert session_id is not None
                assert await client.ssh_sessions().disconnect(session_id) is False  # over already
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_remembered_ssh_session_the_server_lost_is_replaced_with_a_note(local_backend) -> None:
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("deno"), provider="deno")
        app = make_app(local_backend)
        stale = f"ssh-{uuid.uuid4()}"
        app.shell_keys.remember(app.context.state_key, sandbox.id, stale, app.now())
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                screen, view = await open_shell(app, pilot, sandbox)
                await wait_for(pilot, lambda: screen.session_key != stale, "a new session's key")
                await type_line(pilot, "echo new-$((5*5))")
                await wait_for(pilot, lambda: "new-25" in screen_text(view), "the new shell's output")
                assert remembered(app, sandbox.id) == [screen.session_key]
                notes = [n.message for n in app._notifications]
                assert any("no longer had the previous shell" in note for note in notes), notes
                assert view.status is not None and view.status.state is SessionState.CONNECTED
                await pilot.press("ctrl+right_square_bracket")
        finally:
            await delete_quietly(client, sandbox.id)


async def test_end_shell_ends_a_remembered_ssh_session_on_a_server_without_shell_listing(local_backend) -> None:
    """As on the hosted API (no getShells): the Shells tab lists the remembered ssh session,
    and End shell ends it with DELETE /ssh/disconnect."""
    from starlette.responses import JSONResponse

    from pocketenv_tui.api import PocketenvClient
    from pocketenv_tui.app.app import PocketenvApp
    from pocketenv_tui.app.config import AppConfig
    from pocketenv_tui.app.contexts.resolve import AppContext
    from pocketenv_tui.app.resources import ResourceTabs
    from pocketenv_tui.app.screens.confirm import ConfirmScreen
    from tests.backend_proxy import BackendProxy, xrpc_method

    def no_shell_listing(request):
        if xrpc_method(request) == "sandbox.getShells":
            return JSONResponse({"error": "MethodNotImplemented", "message": "Method Not Implemented"}, status_code=501)
        return None

    async with client_for(local_backend) as direct:
        sandbox = await create_running(direct, unique_name("daytona-end"), provider="daytona")
        try:
            with BackendProxy(local_backend.url, before=no_shell_listing) as proxy:
                async with PocketenvClient(api_url=proxy.url, token=local_backend.token,
                                           public_key=local_backend.public_key) as client:
                    session_id = await client.ssh_sessions().connect(sandbox.id)
                context = AppContext("api", proxy.url, local_backend.token, local_backend.public_key, storage_url=proxy.url)
                app = PocketenvApp(context, config=AppConfig(), refresh=1.0)
                key = f"ssh-{session_id}"
                app.shell_keys.remember(app.context.state_key, sandbox.id, key, app.now())
                async with app.run_test(size=SIZE, notifications=True) as pilot:
                    screen = await open_sandbox_screen(app, pilot, sandbox)
                    tabs = screen.query_one(ResourceTabs)
                    tabs.show_tab("shells")
                    pane = tabs.pane("shells")
                    await wait_for(pilot, lambda: key in pane.items, "the remembered session")
                    pane.focus_main()
                    await pilot.press("d")
                    assert isinstance(app.screen, ConfirmScreen)
                    await pilot.press("y")
                    await wait_for(pilot, lambda: key not in pane.items, "the session to go")
                    assert remembered(app, sandbox.id) == []
                assert await direct.ssh_sessions().disconnect(session_id) is False  # ended by the app
                assert key not in [s.key for s in await direct.shells.list(sandbox.id)]
        finally:
            await delete_quietly(direct, sandbox.id)
