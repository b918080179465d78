"""Secrets and variables tabs, through Pilot, against a real local backend."""

from __future__ import annotations

from textual.widgets import Input

from pocketenv_tui.app.resources.form import FormScreen
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.help import HelpScreen
from tests.app.conftest import client_for, create_running, delete_quietly, unique_name, wait_for
from tests.app.test_resources_support import (
    SIZE,
    ResourcesApp,
    data_dir_bytes,
    field_error,
    fill,
    form,
    form_error,
    notifications,
)

PLAINTEXT = "s3cr3t-value-9f8e7d6c5b"


async def test_add_secret_reaches_the_sandbox_and_is_never_stored_or_shown(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("secrets"))
        app = ResourcesApp(client, sandbox)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("secrets")
                await wait_for(pilot, lambda: pane.loaded, "the secrets")
                assert pane.query_one(".pane-empty").display
                pane.focus_main()
                await pilot.press("a")
                screen = form(app)
                await pilot.press(*"api key")  # kept as typed, with what a name may be beside it
                assert screen.value_of("name") == "api key"
                assert "only A-Z, 0-9 and _" in field_error(app, "name")
                fill(app, name="API_KEY")
                await pilot.pause()
                assert field_error(app, "name") == ""
                await pilot.press("tab")
                await pilot.press(*PLAINTEXT)
                value_input = screen.query_one("#field-value")
                name_input = screen.query_one("#field-name")
                assert value_input.password
                await pilot.click("#show-value")
                assert not value_input.password
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), "the form to close")
                # No plaintext left in the form's widgets after the submit.
                assert value_input.value == "" and name_input.value == ""
                await wait_for(pilot, lambda: any(s.name == "API_KEY" for s in pane.items.values()), "the row")
                assert "Secret API_KEY added." in notifications(app)
                assert PLAINTEXT not in notifications(app)
                row = pane.table.get_row(next(iter(pane.items)))
                assert str(row[0]) == "API_KEY" and PLAINTEXT not in "".join(map(str, row))

            # The sandbox sees it after a restart; the backend's SQLite never holds it in clear.
            await client.sandboxes.stop(sandbox.id)
            await client.sandboxes.start(sandbox.id)
            await client.sandboxes.wait_until_running(sandbox.id, timeout=60, interval=0.2)
            result = await client.sandboxes.exec(sandbox.id, "echo $API_KEY")
            assert result.stdout.strip() == PLAINTEXT
            stored = data_dir_bytes(local_backend.data_dir)
            assert stored, "the backend's database files were not found"
            assert PLAINTEXT.encode() not in stored
        finally:
            await delete_quietly(client, sandbox.id)


async def test_secret_validation_replace_edit_and_delete(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("secrets"))
        await client.secrets.add(sandbox.id, "TOKEN", "first-value")
        app = ResourcesApp(client, sandbox)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("secrets")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the secret")
                pane.focus_main()

                # Validation: a name starting with a digit and an empty value are refused here.
                await pilot.press("a")
                fill(app, name="9LIVES")
                await pilot.press("ctrl+s")
                assert isinstance(app.screen, FormScreen)
                assert "UPPER_SNAKE_CASE" in field_error(app, "name")
                assert "required" in field_error(app, "value")
                assert form(app).value_of("name") == "9LIVES"  # nothing typed is lost

                # A name that exists asks to replace; "no" keeps the form and its values.
                fill(app, name="TOKEN", value="second-value")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the replace question")
                assert "TOKEN" in app.screen.question
                await pilot.press("n")
                await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), "the form again")
                assert form(app).value_of("value") == "second-value"
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the replace question")
                await pilot.press("y")
                await wait_for(pilot, lambda: not isinstance(app.screen, (FormScreen, ConfirmScreen)), "the form to close")
                assert "Secret TOKEN replaced." in notifications(app)
                page = await client.secrets.list(sandbox.id)
                assert [s.name for s in page] == ["TOKEN"]

                # Edit asks for the value again (never pre-filled), in a password input that has
                # the focus; the name is shown read-only, so typing can never rename the secret.
                await pilot.press("enter")
                assert form(app).value_of("name") == "TOKEN" and form(app).value_of("value") == ""
                name_input = form(app).query_one("#field-name", Input)
                value_input = form(app).query_one("#field-value", Input)
                assert name_input.disabled and value_input.has_focus and value_input.password
                await pilot.press(*"third-value")
                assert form(app).value_of("name") == "TOKEN" and form(app).value_of("value") == "third-value"
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: "Secret TOKEN updated." in notifications(app), "the update")
                assert [s.name for s in await client.secrets.list(sandbox.id)] == ["TOKEN"]

                # Delete asks first and names the secret.
                await pilot.press("d")
                assert isinstance(app.screen, ConfirmScreen) and "TOKEN" in app.screen.question
                await pilot.press("y")
                await wait_for(pilot, lambda: not pane.items and pane.query_one(".pane-empty").display, "the delete")
                assert len(await client.secrets.list(sandbox.id)) == 0

                # `?` lists the tab's keys with the footer's descriptions.
                await pilot.press("question_mark")
                assert isinstance(app.screen, HelpScreen)
                described = {row.description: row.key for row in app.screen.keys}
                assert {"Add secret", "Edit", "Delete", "Next tab"} <= set(described)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_server_error_is_shown_in_the_form_and_keeps_the_values(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("secrets"))
        app = ResourcesApp(client, sandbox)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("secrets")
                await wait_for(pilot, lambda: pane.loaded, "the secrets")
                pane.focus_main()
                await pilot.press("a")
                await client.sandboxes.delete(sandbox.id)  # the server now refuses the add
                fill(app, name="GONE", value="kept-value")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: form_error(app), "the server's error")
                assert "not found" in form_error(app).lower()
                assert isinstance(app.screen, FormScreen)
                assert form(app).value_of("name") == "GONE" and form(app).value_of("value") == "kept-value"
                await pilot.press("escape")
                assert not isinstance(app.screen, FormScreen)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_variables_add_edit_delete_and_reach_the_sandbox(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("vars"))
        app = ResourcesApp(client, sandbox, initial="tab-variables")
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("variables")
                await wait_for(pilot, lambda: pane.loaded, "the variables")
                pane.focus_main()
                await pilot.press("a")
                await pilot.press(*"GREETING")
                assert form(app).value_of("name") == "GREETING"
                fill(app, value="")
                await pilot.press("ctrl+s")
                assert "required" in field_error(app, "value")
                fill(app, value="hello world")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the variable")
                key = next(iter(pane.items))
                assert [str(c) for c in pane.table.get_row(key)[:2]] == ["GREETING", "hello world"]

                await pilot.press("enter")
                assert form(app).value_of("value") == "hello world"  # variables are pre-filled
                fill(app, value="bonjour")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: str(pane.table.get_row(key)[1]) == "bonjour", "the edit")

                await client.sandboxes.stop(sandbox.id)
                await client.sandboxes.start(sandbox.id)
                await client.sandboxes.wait_until_running(sandbox.id, timeout=60, interval=0.2)
                result = await client.sandboxes.exec(sandbox.id, "echo $GREETING")
                assert result.stdout.strip() == "bonjour"

                await pilot.press("d", "y")
                await wait_for(pilot, lambda: not pane.items, "the delete")
                assert len(await client.variables.list(sandbox.id)) == 0
        finally:
            await delete_quietly(client, sandbox.id)


async def test_read_only_hides_and_refuses_changes(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("ro"))
        await client.secrets.add(sandbox.id, "SEEN", "value")
        app = ResourcesApp(client, sandbox, read_only=True)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("secrets")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the secret")
                pane.focus_main()
                await pilot.pause()
                shown = {b.binding.description for b in app.screen.active_bindings.values() if b.enabled}
                assert "Add secret" not in shown and "Delete" not in shown
                await pilot.press("a", "d")
                assert not isinstance(app.screen, (FormScreen, ConfirmScreen))
                assert len(await client.secrets.list(sandbox.id)) == 1
        finally:
            await delete_quietly(client, sandbox.id)
