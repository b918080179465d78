"""No focus traps: the visible tab's keys work at once, no key means two things, and the `:`
line keeps the keyboard (Tab completes) so no letter typed there runs as a hotkey."""

from __future__ import annotations

from textual import events

from pocketenv_tui.app.resources.form import FormScreen
from pocketenv_tui.app.resources.keys import SshKeysPane
from pocketenv_tui.app.resources.named import SecretsPane
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.expose import ExposeScreen
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    open_sandbox_screen,
    unique_name,
    wait_for,
)

SIZE = (120, 40)


async def test_the_visible_tabs_keys_work_without_tab_and_p_means_one_thing(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("focus"))
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                # The keyboard is in the Secrets tab at once: `a` adds a secret, no Tab needed.
                secrets = screen.query_one(SecretsPane)
                await wait_for(
                    pilot, lambda: screen.focused is not None and secrets in screen.focused.ancestors_with_self, "focus in the tab"
                )
                await pilot.press("a")
                assert isinstance(app.screen, FormScreen)
                await pilot.press("escape")
                assert app.screen is screen

                # In the SSH keys tab, p is "Put keys" (as its panel says), not Expose.
                await pilot.press(*["right_square_bracket"] * 6)
                pane = screen.query_one(SshKeysPane)
                await wait_for(pilot, lambda: screen.focused is not None and pane in screen.focused.ancestors_with_self, "focus in SSH keys")
                footer_keys = {binding.id for binding, _ in screen.query_one("KeyFooter").shown_bindings()}
                assert "ssh.put" in footer_keys and "sandbox.expose" not in footer_keys
                await pilot.press("p")
                assert isinstance(app.screen, FormScreen) and not isinstance(app.screen, ExposeScreen)
                await pilot.press("escape")

                # Tab takes the keyboard to the ports, whose keys then show and work.
                for _ in range(12):
                    if screen.focused is screen.query_one("#ports"):
                        break
                    await pilot.press("shift+tab")
                assert screen.focused is screen.query_one("#ports")
                footer_keys = {binding.id for binding, _ in screen.query_one("KeyFooter").shown_bindings()}
                assert "sandbox.expose" in footer_keys and "ssh.put" not in footer_keys
                await pilot.press("p")
                assert isinstance(app.screen, ExposeScreen)
                await pilot.press("escape")
                # Exec stays on e wherever the keyboard is (no tab claims e).
                await pilot.press("e")
                assert app.focused is not None and app.focused.id == "exec-input"
        finally:
            await delete_quietly(client, sandbox.id)


async def test_tab_completes_in_the_command_line_and_keeps_the_keyboard(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("cmdtab"))
        app = make_app(local_backend, refresh=600.0)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                main = app.main_screen
                await wait_for(pilot, lambda: sandbox.id in main.items, "the row")
                main.query_one("#sandboxes").select_key(sandbox.id)
                await pilot.press("colon", "r", "u", "tab")
                line = main.query_one("#command")
                assert app.focused is line and line.value == "running "
                # Letters after Tab go into the line: x and d do not act on the sandbox.
                await pilot.press("x", "d")
                assert app.focused is line and line.value == "running xd"
                assert not main.pending and not isinstance(app.screen, ConfirmScreen)
                line.value = "sort cr"
                line.cursor_position = len(line.value)
                await pilot.press("tab")
                assert line.value == "sort created"
                await pilot.press("space", "d", "tab", "enter")
                assert main.query_one("#sandboxes").sort_column == "created"
                assert main.query_one("#sandboxes").sort_reverse
                # Ambiguous: the candidates are shown, the text stays.
                await pilot.press("colon", "c", "tab")
                assert main.query_one("#command").value == "c"
                assert any("catalog" in str(n.message) and "ctx" in str(n.message) for n in app._notifications)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_letters_typed_right_behind_slash_go_into_the_filter(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("burst"))
        app = make_app(local_backend, refresh=600.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                main = app.main_screen
                await wait_for(pilot, lambda: sandbox.id in main.items, "the row")
                main.query_one("#sandboxes").select_key(sandbox.id)
                # One burst, read before the filter line has the focus: "d" must not delete.
                for key in ["slash", "d", "e", "v"]:
                    app.post_message(events.Key(key, "/" if key == "slash" else key))
                await wait_for(pilot, lambda: main.filter_text == "dev", "the filter text")
                assert not isinstance(app.screen, ConfirmScreen)
        finally:
            await delete_quietly(client, sandbox.id)
