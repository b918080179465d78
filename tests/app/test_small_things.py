"""Issue 13 item 9: the small things a user sees (order after a filter, no matches, keep-alive,
where a copy went, the VS Code message without "check the values")."""

from __future__ import annotations

from pocketenv_tui.app.clipboard import where_copies_go
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


def names_in_order(app) -> list[str]:
    table = app.main_screen.query_one("#sandboxes")
    return [table.get_cell_at((index, table.get_column_index("name"))).plain for index in range(table.row_count)]


async def test_clearing_a_filter_brings_back_the_same_order_and_no_matches_is_said(make_backend):
    backend = make_backend()
    async with client_for(backend) as client:
        for name in ("order-a", "order-b", "order-c"):
            await create_running(client, name)
        app = make_app(backend, refresh=600.0)
        async with app.run_test(size=SIZE) as pilot:
            main = app.main_screen
            await wait_for(pilot, lambda: len(main.items) == 3, "three rows")
            before = names_in_order(app)
            await pilot.press("slash", *"order-b")
            await wait_for(pilot, lambda: names_in_order(app) == ["order-b"], "one row")
            await pilot.press("escape")
            await wait_for(pilot, lambda: len(names_in_order(app)) == 3, "all rows")
            assert names_in_order(app) == before
            await pilot.press("slash", *"zzz")
            empty = main.query_one("#empty")
            await wait_for(pilot, lambda: empty.display, "the empty state")
            assert "Nothing matches the filter “zzz”" in str(empty.render())


async def test_keep_alive_copy_notice_and_vscode_refusal_say_what_happened(local_backend, monkeypatch):
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")
    async with client_for(local_backend) as client:
        sandbox = await client.sandboxes.create("shell", name=unique_name("keep"), keep_alive=True)
        sandbox = await client.sandboxes.wait_until_running(sandbox.id, timeout=60, interval=0.2)
        await client.sandboxes.expose_port(sandbox.id, 8123, "web")
        app = make_app(local_backend)
        try:
            async with app.run_test(size=(160, 48), notifications=True) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                await wait_for(pilot, lambda: screen.field_values.get("Keep alive", "").startswith("on"), "keep-alive")
                await wait_for(pilot, lambda: "8123" in screen.ports, "the port")
                screen.query_one("#ports").focus()
                await pilot.press("c")
                copied = [str(n.message) for n in app._notifications if "Copied" in str(n.message)]
                assert copied and "tmux" in copied[-1] and "set-clipboard" in copied[-1]
                await pilot.press("v")
                note = screen.query_one("#vscode")
                await wait_for(pilot, lambda: "VS Code" in str(note.render()) and "Starting" not in str(note.render()), "VS Code")
                messages = " ".join(str(n.message) for n in app._notifications)
                assert "Check the values" not in messages
        finally:
            await delete_quietly(client, sandbox.id)


def test_where_copies_go_names_the_terminal_path():
    assert "set-clipboard" in where_copies_go({"TMUX": "x"})
    assert "SSH" in where_copies_go({"SSH_CONNECTION": "1 2 3 4"})
    assert "OSC 52" in where_copies_go({})


def test_a_wide_screen_gives_the_catalog_description_and_the_repo_their_room():
    from datetime import UTC, datetime

    from rich.console import Console

    from pocketenv_tui.api.models import Sandbox
    from pocketenv_tui.app.sandbox_fields import field_rows, fields_grid
    from pocketenv_tui.app.sandbox_rows import RowLayout, catalog_cells

    now = datetime(2026, 12, 1, tzinfo=UTC)
    description = "A template with " + "many words " * 12 + "at the end."
    template = Sandbox(id="t", name="tpl", description=description)
    wide = catalog_cells(template, now, RowLayout.for_width(250))[2]
    narrow = catalog_cells(template, now, RowLayout.for_width(80))[2]
    assert wide == " ".join(description.split())  # whole, at 250 columns
    assert narrow.endswith("…") and len(narrow) <= 30
    repo = "https://github.com/some-organisation/a-repository-with-a-long-name-indeed.git"
    rows = field_rows(Sandbox(id="s", name="s", repo=repo), now, {})
    console = Console(width=46, record=True)
    console.print(fields_grid(rows))
    # Folded over lines in a narrow panel, never cut: every character of the URL is shown.
    assert repo in "".join(part.strip() for part in console.export_text().split("Repo", 1)[1].splitlines()[:3])
