"""Pilot tests of the sandbox screen (ports, exec, VS Code) and the shell, on a real backend."""

from __future__ import annotations

import asyncio

import httpx

from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.expose import ExposeScreen
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.app.screens.sandboxes import SandboxesScreen
from pocketenv_tui.app.screens.shell import ShellScreen
from pocketenv_tui.app.widgets.exec_panel import ExecPanel
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

SIZE = (120, 34)


def screen_text(view: TerminalView) -> str:
    return "\n".join(view.terminal.display)


async def test_expose_copy_open_and_unexpose_a_port(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("ports"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                await wait_for(pilot, lambda: screen.ports_loaded, "the ports")
                assert screen.query_one("#ports-empty").display
                screen.query_one("#ports").focus()  # the port keys belong to the ports table
                await pilot.press("p")
                assert isinstance(app.screen, ExposeScreen)
                await pilot.press("ctrl+s")  # empty: refused, with what to enter
                assert isinstance(app.screen, ExposeScreen)
                assert "Enter a port number" in str(app.screen.query_one("#port-error").render())
                await pilot.press(*"80", "enter")  # below 1025: refused in the form
                assert isinstance(app.screen, ExposeScreen)
                assert "1025" in str(app.screen.query_one("#port-error").render())
                app.screen.query_one("#port").value = "8765"
                app.screen.query_one("#description").value = "web"
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: "8765" in screen.ports, "the exposed port")
                port = screen.ports["8765"]
                assert port.description == "web" and port.preview_url
                cells = screen.query_one("#ports").get_row("8765")
                assert cells[2] == port.preview_url

                screen.query_one("#ports").select_key("8765")
                await pilot.press("c")
                assert app.clipboard == port.preview_url
                await pilot.press("o")
                assert any(port.preview_url in n.message for n in app._notifications)

                await pilot.press("u")
                assert isinstance(app.screen, ConfirmScreen)
                assert "8765" in app.screen.question
                await pilot.press("y")
                await wait_for(pilot, lambda: "8765" not in screen.ports, "the port to go")
                assert await client.sandboxes.get_exposed_ports(sandbox.id) == []
        finally:
            await delete_quietly(client, sandbox.id)


async def test_exec_shows_output_and_exit_code(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("exec"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                await pilot.press("e")
                assert app.focused.id == "exec-input"
                await pilot.press(*"echo hello-exec; echo oops >&2; exit 3", "enter")
                panel = screen.query_one(ExecPanel)  # more in test_exec.py
                await wait_for(pilot, lambda: panel.current is not None and panel.current.state == "exited", "the exec result")
                assert (panel.current.command, panel.current.exit_code) == ("echo hello-exec; echo oops >&2; exit 3", 3)
                shown = panel.output.plain()
                assert "hello-exec" in shown and "oops" in shown and panel.status_text().plain.startswith("exit 3")
                await pilot.press("escape")
                await pilot.pause()
                assert not panel.display
        finally:
            await delete_quietly(client, sandbox.id)


async def test_vscode_shows_a_url_or_says_what_is_missing(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("code"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                await pilot.press("v")
                note = screen.query_one("#vscode")
                await wait_for(
                    pilot,
                    lambda: "VS Code: " in str(note.render()) or "not available" in str(note.render()),
                    "the VS Code answer",
                )
                if screen.vscode_url:
                    assert screen.vscode_url.startswith("http")
                else:
                    # No code-server on this machine: the message names it.
                    assert "code-server" in str(note.render())
        finally:
            await delete_quietly(client, sandbox.id)


async def test_sandbox_screen_start_stop_keys_and_live_fields(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("fields"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                assert screen.field_values["ID"] == sandbox.id
                assert screen.field_values["Name"] == sandbox.name
                assert screen.field_values["Status"] == "RUNNING"
                await pilot.press("x")
                await wait_for(pilot, lambda: screen.sandbox.status == "STOPPED" and not screen.busy, "stopped")
                assert screen.field_values["Status"] == "STOPPED"
                assert screen.field_values["Up"] == "-"
                await pilot.press("t")  # a stopped sandbox has no shell: a warning, no screen
                assert isinstance(app.screen, SandboxScreen)
                await pilot.press("s")
                await wait_for(pilot, lambda: screen.sandbox.status == "RUNNING" and not screen.busy, "running")
        finally:
            await delete_quietly(client, sandbox.id)


async def test_shell_runs_commands_leaves_with_ctrl_bracket_and_reattaches(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("shell"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = app.main_screen.query_one("#sandboxes")
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                await pilot.press("t")
                assert isinstance(app.screen, ShellScreen)
                view = app.screen.query_one(TerminalView)
                assert app.focused is view
                await wait_for(pilot, lambda: "$" in screen_text(view) or "#" in screen_text(view), "a prompt")
                await pilot.press(*"echo marker-$((6*7))", "enter")
                await wait_for(pilot, lambda: "marker-42" in screen_text(view), "the command output")
                # Tab and ctrl+c go to the shell, not to the app.
                await pilot.press("ctrl+c")
                assert isinstance(app.screen, ShellScreen)
                await pilot.press("ctrl+right_square_bracket")
                assert isinstance(app.screen, SandboxesScreen)
                session_key = app.last_shell_key(sandbox.id)

                await pilot.press("t")  # reopened: the same session, its output replayed
                assert isinstance(app.screen, ShellScreen)
                assert app.screen.session_key == session_key
                view = app.screen.query_one(TerminalView)
                await wait_for(pilot, lambda: "marker-42" in screen_text(view), "the replayed output")
                await pilot.press(*"echo again-$((2+3))", "enter")
                await wait_for(pilot, lambda: "again-5" in screen_text(view), "the second command")
                await pilot.press("ctrl+right_square_bracket")
                await pilot.press("ctrl+q")
            assert not app.is_running
        finally:
            await delete_quietly(client, sandbox.id)


async def test_shell_output_keeps_its_colours(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("colour"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                app.open_shell(sandbox)
                await pilot.pause()
                view = app.screen.query_one(TerminalView)
                await wait_for(pilot, lambda: view.session is not None, "the session")
                await pilot.press(*"printf '\\033[31mRED\\033[0m\\n'", "enter")
                await wait_for(pilot, lambda: "RED" in screen_text(view).replace("\\033[31mRED", ""), "RED")
                rows = [
                    y for y, line in enumerate(view.terminal.display)
                    if line.strip() == "RED"
                ]
                assert rows, screen_text(view)
                runs = view.terminal.line_runs(rows[-1])
                assert any(text.strip() == "RED" and style.fg == "red" for text, style in runs)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_preview_url_serves_the_sandbox_port(local_backend):
    """The URL the Ports table shows really reaches a server inside the sandbox."""
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("serve"))
        try:
            await client.sandboxes.exec(
                sandbox.id,
                "mkdir -p www && echo from-sandbox > www/index.html && "
                "(cd www && nohup python3 -m http.server 8777 >/dev/null 2>&1 &)",
            )
            app = make_app(local_backend, refresh=1.0)
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                screen.query_one("#ports").focus()
                await pilot.press("p", *"8777", "enter")
                await wait_for(pilot, lambda: "8777" in screen.ports, "the port")
                url = screen.ports["8777"].preview_url
            body = ""
            async with httpx.AsyncClient() as http:
                for _ in range(50):
                    response = await http.get(url)
                    if response.status_code == 200:
                        body = response.text
                        break
                    await asyncio.sleep(0.2)
            assert "from-sandbox" in body
        finally:
            await delete_quietly(client, sandbox.id)


async def test_resource_tabs_from_the_sandbox_screen_add_a_variable(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("tabs"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                tabs = screen.query_one("#resource-tabs")
                assert tabs.active == "tab-secrets"
                await pilot.press("]")  # from the ports table into the next tab
                await pilot.pause()
                assert tabs.active == "tab-variables"
                pane = tabs.pane("variables")
                await wait_for(pilot, lambda: pane.loaded and pane.has_focus_within, "the variables tab")
                await pilot.press("a")
                form = app.screen
                await pilot.press(*"GREETING", "tab", *"hello")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: app.screen is screen, "the form to close")
                await wait_for(pilot, lambda: any(v.name == "GREETING" for v in pane.items.values()), "the row")
                assert form.is_attached is False
                stored = await client.variables.list(sandbox.id)
                assert [(v.name, v.value) for v in stored] == [("GREETING", "hello")]
                await pilot.press("escape")  # back to the list
                assert isinstance(app.screen, SandboxesScreen)
        finally:
            await delete_quietly(client, sandbox.id)
