"""Pilot tests of the sandboxes screen against a real local backend: every key of the view."""

from __future__ import annotations

import json

from textual import events
from textual.command import CommandList, CommandPalette

from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig, load_config
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.create import CreateScreen
from pocketenv_tui.app.screens.help import HelpScreen
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.app.screens.sandboxes import SandboxesScreen
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    status_of,
    unique_name,
    wait_for,
)

SIZE = (120, 34)


def table_of(app: PocketenvApp):
    return app.main_screen.query_one("#sandboxes")


def rows_in_order(table) -> list[str]:
    return [str(table.coordinate_to_cell_key((index, 0)).row_key.value) for index in range(table.row_count)]


def shown_names(app: PocketenvApp) -> list[str]:
    table = table_of(app)
    return [table.get_cell_at((index, table.get_column_index("name"))).plain for index in range(table.row_count)]


async def test_rows_follow_the_server_and_the_cursor_stays_on_its_sandbox(local_backend):
    async with client_for(local_backend) as client:
        first = await create_running(client, unique_name("cur-a"))
        second = await create_running(client, unique_name("cur-b"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: second.id in table.shown_keys, "rows")
                assert table.select_key(second.id)
                # A sandbox appears behind the app's back; polls and a re-sort must not move the cursor.
                third = await create_running(client, unique_name("cur-c"))
                await wait_for(pilot, lambda: third.id in table.shown_keys, "the new row")
                assert table.highlighted_key == second.id
                await pilot.press("o")  # sort by NAME
                assert table.sort_column == "name"
                assert table.highlighted_key == second.id
                await pilot.press("O")  # reverse
                assert table.sort_reverse is True
                assert table.highlighted_key == second.id
                names = shown_names(app)
                assert names == sorted(names, key=str.casefold, reverse=True)
                await pilot.press("o")  # next column: BASE
                assert table.sort_column == "base"
                # A deleted sandbox disappears from the table without a clear-and-refill.
                await client.sandboxes.delete(first.id)
                await wait_for(pilot, lambda: first.id not in table.shown_keys, "the row to go")
                assert table.highlighted_key == second.id
        finally:
            await delete_quietly(client, second.id, first.id)
            if "third" in locals():
                await delete_quietly(client, third.id)


async def test_every_column_shows_its_sort_mark_and_created_desc_is_newest_first(local_backend):
    async with client_for(local_backend) as client:
        older = await create_running(client, unique_name("sort-old"))
        newer = await create_running(client, unique_name("sort-new"))
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: {older.id, newer.id} <= set(table.shown_keys), "rows")
                for key, column in table.columns.items():
                    table.sort_by(str(key.value), reverse=True)
                    await pilot.pause()
                    label = column.label.plain
                    assert label.endswith(" ▼"), label
                    # The column is wide enough for its mark: the header shows it whole.
                    assert column.get_render_width(table) >= column.label.cell_len + 2, label
                app.main_screen.run_command(":sort created desc")
                await pilot.pause()
                keys = rows_in_order(table)
                assert keys.index(newer.id) < keys.index(older.id), "newest first"
                app.main_screen.run_command(":sort created")
                await pilot.pause()
                keys = rows_in_order(table)
                assert keys.index(older.id) < keys.index(newer.id), "oldest first"
        finally:
            await delete_quietly(client, older.id, newer.id)


async def test_stop_and_start_show_progress_in_the_row_and_notify(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("life"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                screen = app.main_screen
                seen: list[str | None] = []
                original = screen.render_rows

                def recording_render_rows() -> None:
                    original()
                    seen.append(status_of(app, sandbox.id))

                screen.render_rows = recording_render_rows
                table = table_of(app)
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                await pilot.press("x")
                await wait_for(pilot, lambda: status_of(app, sandbox.id) == "STOPPED", "STOPPED")
                assert "STOPPING…" in seen
                assert (await client.sandboxes.get(sandbox.id)).status == "STOPPED"
                assert any("stopped" in n.message for n in app._notifications)

                seen.clear()
                table.select_key(sandbox.id)
                await pilot.press("s")
                await wait_for(pilot, lambda: status_of(app, sandbox.id) == "RUNNING", "RUNNING")
                assert "STARTING…" in seen
                assert (await client.sandboxes.get(sandbox.id)).status == "RUNNING"
        finally:
            await delete_quietly(client, sandbox.id)


async def test_the_action_uses_the_sandbox_highlighted_at_key_press(local_backend):
    async with client_for(local_backend) as client:
        target = await create_running(client, unique_name("cap-t"))
        other = await create_running(client, unique_name("cap-o"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: {target.id, other.id} <= set(table.shown_keys), "rows")
                table.select_key(target.id)
                await pilot.press("x")
                table.select_key(other.id)  # moving on right away must not redirect the stop
                await wait_for(pilot, lambda: status_of(app, target.id) == "STOPPED", "target stopped")
                assert (await client.sandboxes.get(other.id)).status == "RUNNING"
        finally:
            await delete_quietly(client, target.id, other.id)


async def test_delete_asks_naming_the_sandbox_and_defaults_to_no(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("del"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                await pilot.press("d")
                assert isinstance(app.screen, ConfirmScreen)
                assert sandbox.name in app.screen.question
                assert app.screen.focused.id == "no"
                await pilot.press("enter")  # the default answer: No
                assert isinstance(app.screen, SandboxesScreen)
                assert await client.sandboxes.get(sandbox.id) is not None

                await pilot.press("d")
                await pilot.press("y")
                await wait_for(pilot, lambda: sandbox.id not in table.shown_keys, "the row to go")
                assert await client.sandboxes.get(sandbox.id) is None
        finally:
            await delete_quietly(client, sandbox.id)


async def test_create_form_validates_then_creates_until_running(local_backend):
    name = unique_name("made")
    app = make_app(local_backend, refresh=1.0)
    async with client_for(local_backend) as client:
        try:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("n")
                form = app.screen
                assert isinstance(form, CreateScreen)
                await wait_for(pilot, lambda: form.query_one("#base").value == "shell", "catalog bases")
                await pilot.press(*"Bad Name")
                await pilot.press("ctrl+s")
                assert app.screen is form  # refused
                assert "lowercase" in str(form.query_one("#name-error").render())
                form.query_one("#name").value = name
                form.query_one("#repo").value = "github:missing-slash"
                await pilot.press("ctrl+s")
                assert app.screen is form
                assert "owner/repo" in str(form.query_one("#repo-error").render())
                form.query_one("#repo").value = ""
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: isinstance(app.screen, SandboxesScreen), "the form to close")
                main = app.main_screen
                await wait_for(
                    pilot,
                    lambda: any(s.name == name and s.status == "RUNNING" for s in main.items.values())
                    and not main.pending,
                    "the new sandbox RUNNING",
                )
                created = await client.sandboxes.get(name)
                assert created is not None and created.status == "RUNNING"
        finally:
            created = await client.sandboxes.get(name)
            if created is not None:
                await delete_quietly(client, created.id)


async def test_create_with_a_taken_name_keeps_the_form_and_what_was_typed(local_backend):
    async with client_for(local_backend) as client:
        taken = await create_running(client, unique_name("taken"))
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.press("n")
                form = app.screen
                assert isinstance(form, CreateScreen)
                await wait_for(pilot, lambda: form.query_one("#base").value == "shell", "catalog bases")
                await pilot.press(*taken.name)
                form.query_one("#keep-alive").value = True
                await pilot.press("ctrl+s")
                # The server refuses: the form stays, the reason is beside the name, nothing is lost.
                await wait_for(pilot, lambda: "already exists" in str(form.query_one("#name-error").render()), "the refusal")
                assert app.screen is form and not form.sending
                assert form.query_one("#name").value == taken.name and form.query_one("#keep-alive").value
                assert form.query_one("#name").has_focus
                assert [s.name async for s in client.actor.iter_sandboxes()].count(taken.name) == 1
        finally:
            await delete_quietly(client, taken.id)


async def test_filter_narrows_rows_and_escape_clears_it(local_backend):
    async with client_for(local_backend) as client:
        # The filtered sandbox sits between two others, so rows coming back have a place to go.
        others = [await create_running(client, unique_name("order0"))]
        keep = await create_running(client, unique_name("zebrafilter"))
        others.append(await create_running(client, unique_name("order1")))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: keep.id in table.shown_keys, "rows")
                before = rows_in_order(table)
                await pilot.press("slash", *"zebrafil")
                await wait_for(pilot, lambda: table.shown_keys == [keep.id], "the filtered row")
                assert "/zebrafil" in app.main_screen.query_one("#context-header").view_label
                await pilot.press("enter")  # keep the filter, back to the table
                assert app.focused is table
                await pilot.press("slash", *"no-such-thing")
                await wait_for(pilot, lambda: table.row_count == 0, "no rows")
                assert app.main_screen.query_one("#empty").display
                await pilot.press("escape")
                await wait_for(pilot, lambda: table.row_count > 1 or len(app.main_screen.items) == 1, "all rows")
                assert app.main_screen.filter_text == ""
                # The rows are back in the order they had before the filter, not at the end.
                assert rows_in_order(table) == before
        finally:
            await delete_quietly(client, keep.id, *(sandbox.id for sandbox in others))


async def test_prompts_are_mounted_after_the_first_frame_or_on_their_key(local_backend):
    app = make_app(local_backend, refresh=600.0)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        await wait_for(pilot, lambda: main.poll_count >= 1, "the first list")
        filter_field, command_field = main.query_one("#filter"), main.query_one("#command")
        assert not filter_field.display and not command_field.display
        # A key that comes before the prompts are mounted mounts them and still lands in them.
        await filter_field.remove()
        await command_field.remove()
        await pilot.press("slash", *"abc")
        assert main.query_one("#filter").value == "abc"
        assert main.filter_text == "abc"
        await pilot.press("escape")
        assert main.filter_text == "" and not main.query_one("#filter").display
        await main.query_one("#command").remove()
        await pilot.press("colon", *"running", "enter")
        assert main.view == "running"
        assert not main.query_one("#command").display


async def test_keys_typed_right_behind_a_key_that_opens_a_screen_land_in_it(local_backend):
    app = make_app(local_backend, refresh=600.0)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        await wait_for(pilot, lambda: main.poll_count >= 1, "the first list")
        # One burst, as a terminal delivers a fast typist or `tmux send-keys`: every key is read
        # before the create form exists. "s", "x" and "d" must not act on the list behind it.
        for key in ["n", "d", "e", "v", "s", "x"]:
            app.post_message(events.Key(key, key))
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, CreateScreen) and app.screen.query_one("#name").value == "devsx",
            "the name typed into the form",
        )
        assert not main.pending


async def test_refresh_key_polls_at_once(local_backend):
    async with client_for(local_backend) as client:
        app = make_app(local_backend, refresh=600.0)  # polling alone would not see it in time
        try:
            async with app.run_test(size=SIZE) as pilot:
                main = app.main_screen
                await wait_for(pilot, lambda: main.poll_count >= 1, "the first poll")
                sandbox = await client.sandboxes.create("shell", name=unique_name("fresh"))
                await pilot.press("r")
                await wait_for(pilot, lambda: sandbox.id in main.items, "the refreshed row")
                assert main.poll_count >= 2
        finally:
            if "sandbox" in locals():
                await client.sandboxes.wait_until_running(sandbox.id, timeout=60, interval=0.2)
                await delete_quietly(client, sandbox.id)


async def test_command_line_aliases_switch_views_and_quit(local_backend):
    async with client_for(local_backend) as client:
        running = await create_running(client, unique_name("cmd-run"))
        stopped = await create_running(client, unique_name("cmd-stop"))
        await client.sandboxes.stop(stopped.id)
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                main = app.main_screen
                await wait_for(pilot, lambda: stopped.id in main.items, "my sandboxes")
                await pilot.press("colon", *"running", "enter")
                assert main.view == "running"
                await wait_for(pilot, lambda: running.id in main.items, "running rows")
                assert stopped.id not in main.items
                await pilot.press("colon", *"catalog", "enter")
                await wait_for(pilot, lambda: "shell" in shown_names(app), "the catalog")
                assert [c.label.plain for c in table_of(app).columns.values()][:3] == [
                    "NAME", "DISPLAY NAME", "DESCRIPTION"
                ]
                # Sandbox-only keys are off in the catalog; enter offers to create from the template.
                assert main.check_action("stop", ()) is False
                table_of(app).select_key(next(k for k, v in main.items.items() if v.name == "shell"))
                await pilot.press("enter")
                assert isinstance(app.screen, CreateScreen)
                await wait_for(pilot, lambda: app.screen.query_one("#base").value == "shell", "preselected base")
                await pilot.press("escape")
                await pilot.press("colon", *"sb", "enter")
                assert main.view == "mine"
                await pilot.press("colon", *"bogus", "enter")
                assert main.view == "mine"
                await pilot.press("colon", *"q", "enter")
            assert app.return_value == 0
        finally:
            await delete_quietly(client, running.id, stopped.id)


async def test_number_keys_switch_views(local_backend):
    app = make_app(local_backend, refresh=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        assert app.main_screen.view == "running"
        await pilot.press("3")
        assert app.main_screen.view == "catalog"
        await pilot.press("1")
        assert app.main_screen.view == "mine"


async def test_help_lists_every_key_of_the_view(local_backend):
    app = make_app(local_backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        actions = {row.description for row in app.screen.keys}
        assert {
            "Create", "Start", "Stop", "Delete", "Open", "Shell", "Filter", "Sort",
            "Reverse sort", "Refresh", "Command", "Help", "Quit",
        } <= actions
        keys = {row.description: row.key for row in app.screen.keys}
        assert keys["Stop"] == "x" and keys["Quit"] == "^q"
        await pilot.press("escape")
        assert isinstance(app.screen, SandboxesScreen)


async def test_command_palette_offers_the_highlighted_sandbox(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("pal"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                titles = [title for title, _, _ in app.main_screen.palette_commands()]
                assert f"Stop {sandbox.name}" in titles and f"Shell in {sandbox.name}" in titles
                await pilot.press("ctrl+p")
                assert isinstance(app.screen, CommandPalette)
                await pilot.press(*f"Open {sandbox.name}")
                await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0, "palette hits")
                await pilot.pause(0.3)
                await pilot.press("enter")
                await wait_for(pilot, lambda: isinstance(app.screen, SandboxScreen), "the sandbox screen")
                assert app.screen.sandbox.id == sandbox.id
        finally:
            await delete_quietly(client, sandbox.id)


async def test_read_only_hides_and_refuses_mutating_actions(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("ro"))
        app = make_app(local_backend, refresh=1.0, read_only=True)
        try:
            async with app.run_test(size=SIZE) as pilot:
                main = app.main_screen
                table = table_of(app)
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                shown = {active.binding.action for active in main.active_bindings.values()}
                assert not shown & {"create", "start", "stop", "delete", "shell"}
                assert "open" in shown
                await pilot.press("x", "d", "n", "t")
                await pilot.pause(0.5)
                assert isinstance(app.screen, SandboxesScreen)
                assert (await client.sandboxes.get(sandbox.id)).status == "RUNNING"
                # Each refused key says why instead of doing nothing silently.
                said = [n.message for n in app._notifications if "Read-only mode" in n.message]
                assert len(said) == 4 and any("Stop" in m for m in said) and any("Delete" in m for m in said)
                # Reached another way (palette, code), the action is still refused.
                main.action_stop()
                await pilot.pause(0.5)
                assert (await client.sandboxes.get(sandbox.id)).status == "RUNNING"
                titles = [title for title, _, _ in main.palette_commands()]
                assert not any(t.startswith(("Stop", "Start", "Delete", "Create")) for t in titles)
                assert "read-only" in main.query_one("#context-header").view_label
        finally:
            await delete_quietly(client, sandbox.id)


async def test_keys_are_remapped_from_the_config_file(local_backend, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"keymap": {"sandboxes.stop": "k"}}))
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("keymap"))
        app = make_app(local_backend, config=load_config(path), refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                await pilot.press("x")  # no longer bound
                await pilot.pause(0.3)
                assert (await client.sandboxes.get(sandbox.id)).status == "RUNNING"
                await pilot.press("k")
                await wait_for(pilot, lambda: status_of(app, sandbox.id) == "STOPPED", "STOPPED")
        finally:
            await delete_quietly(client, sandbox.id)


async def test_theme_is_remembered_in_the_config_file(local_backend, tmp_path):
    path = tmp_path / "config.json"
    app = make_app(local_backend, config=load_config(path))
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "nord"
        await pilot.pause()
    assert json.loads(path.read_text())["theme"] == "nord"
    again = make_app(local_backend, config=load_config(path))
    async with again.run_test(size=SIZE):
        assert again.theme == "nord"


async def test_context_switch_points_the_app_at_another_backend(local_backend, make_backend):
    other = make_backend()
    from tests.app.conftest import context_for

    calls: list[str] = []

    def resolver(name, current):
        calls.append(name)
        return context_for(other)

    app = PocketenvApp(
        context_for(local_backend), config=AppConfig(), refresh=1.0, context_resolver=resolver
    )
    async with app.run_test(size=SIZE) as pilot:
        main = app.main_screen
        await wait_for(pilot, lambda: main.poll_count >= 1, "the first poll")
        await pilot.press("colon", *"ctx api", "enter")
        await wait_for(pilot, lambda: app.context.api_url == other.url, "the switch")
        assert calls == ["api"]
        header = main.query_one("#context-header")
        assert other.url in header.context_label
        await wait_for(pilot, lambda: main.last_success is not None, "a poll of the new backend")
        assert main.items == {}


async def test_enter_opens_the_sandbox_and_escape_returns(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("open"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                await pilot.press("enter")
                assert isinstance(app.screen, SandboxScreen)
                assert app.screen.sandbox.id == sandbox.id
                await pilot.press("escape")
                assert isinstance(app.screen, SandboxesScreen)
                assert table.highlighted_key == sandbox.id
                await pilot.press("ctrl+q")
            assert app.return_value is None or app.return_value == 0
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_sandbox_warning_is_marked_announced_and_listed(local_backend):
    # A repo nobody serves (a closed port on this machine): the sandbox runs, with a warning.
    name = unique_name("warned")
    app = make_app(local_backend, refresh=1.0)
    async with client_for(local_backend) as client:
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                main = app.main_screen
                await wait_for(pilot, lambda: main.poll_count >= 1, "the first list")
                sandbox = await client.sandboxes.create("shell", name=name, repo="http://127.0.0.1:9/nobody/nothing.git")
                await wait_for(
                    pilot, lambda: (s := main.items.get(sandbox.id)) is not None and s.warnings, "the warning"
                )
                assert any(n.title == f"{name}: warning" and "repo not reachable" in n.message for n in app._notifications)
                await wait_for(pilot, lambda: f"{name} ⚠" in shown_names(app), "the row's mark")
                table_of(app).select_key(sandbox.id)
                await pilot.press("enter")
                await wait_for(pilot, lambda: isinstance(app.screen, SandboxScreen), "the sandbox screen")
                await wait_for(pilot, lambda: "repo not reachable" in app.screen.field_values.get("Warnings", ""), "the field")
        finally:
            created = await client.sandboxes.get(name)
            if created is not None:
                await delete_quietly(client, created.id)
