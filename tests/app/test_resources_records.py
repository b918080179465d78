"""Files and volumes tabs, through Pilot, against a real local backend."""

from __future__ import annotations

from pocketenv_tui.app.resources.form import FormScreen
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from tests.app.conftest import client_for, create_running, delete_quietly, unique_name, wait_for
from tests.app.test_resources_support import (
    SIZE,
    ResourcesApp,
    data_dir_bytes,
    field_error,
    fill,
    form,
    notifications,
)

CONTENT = '{"token": "file-plaintext-4c3b2a19"}\n'


async def restart(client, sandbox_id: str) -> None:
    await client.sandboxes.stop(sandbox_id)
    await client.sandboxes.start(sandbox_id)
    await client.sandboxes.wait_until_running(sandbox_id, timeout=60, interval=0.2)


async def test_files_add_from_editor_and_local_file_edit_delete(local_backend, tmp_path):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("files"))
        app = ResourcesApp(client, sandbox, initial="files")
        local = tmp_path / "settings.ini"
        local.write_text("[app]\ncolour = blue\n")
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("files")
                await wait_for(pilot, lambda: pane.loaded, "the files")
                pane.focus_main()

                await pilot.press("a")
                fill(app, path="relative/path")
                await pilot.press("ctrl+s")
                assert "absolute" in field_error(app, "path")
                assert "Type the content" in field_error(app, "content")
                fill(app, path="/root/app/config.json", content=CONTENT, local=str(local))
                await pilot.press("ctrl+s")
                assert "not both" in field_error(app, "local")
                fill(app, local="")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the file row")
                assert CONTENT.strip() not in notifications(app)

                await pilot.press("a")
                fill(app, path="/root/settings.ini", local=str(tmp_path / "missing.ini"))
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: "not a readable file" in field_error(app, "local"), "the local file error")
                fill(app, local=str(local))
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: len(pane.items) == 2, "the second file")

                await restart(client, sandbox.id)
                result = await client.sandboxes.exec(sandbox.id, "cat /root/app/config.json /root/settings.ini")
                assert result.stdout == CONTENT + "[app]\ncolour = blue\n"
                assert b"file-plaintext-4c3b2a19" not in data_dir_bytes(local_backend.data_dir)

                pane.table.select_key(next(k for k, f in pane.items.items() if f.path == "/root/settings.ini"))
                await pilot.press("enter")
                assert form(app).value_of("path") == "/root/settings.ini" and form(app).value_of("content") == ""
                fill(app, path="/root/renamed.ini", content="changed\n")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: {f.path for f in pane.items.values()} == {"/root/app/config.json", "/root/renamed.ini"}, "the edit")
                # The list is re-read in a worker; under load the keys may land before the form's
                # screen has gone and the table has drawn the renamed row under the cursor.
                await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), "the form to close")
                renamed = next(k for k, f in pane.items.items() if f.path == "/root/renamed.ini")
                await wait_for(pilot, lambda: pane.table.highlighted_key == renamed, "the renamed row highlighted")

                await pilot.press("d")
                assert isinstance(app.screen, ConfirmScreen) and "/root/renamed.ini" in app.screen.question
                await pilot.press("y")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the delete")
                assert [f.path for f in await client.files.list(sandbox.id)] == ["/root/app/config.json"]
        finally:
            await delete_quietly(client, sandbox.id)


async def test_volumes_add_edit_delete_and_mount(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("vols"))
        app = ResourcesApp(client, sandbox, initial="volumes")
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("volumes")
                await wait_for(pilot, lambda: pane.loaded, "the volumes")
                pane.focus_main()
                await pilot.press("a")
                fill(app, name="", path="data")
                await pilot.press("ctrl+s")
                assert "required" in field_error(app, "name") and "absolute" in field_error(app, "path")
                fill(app, name="cache", path="/data")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the volume")
                key = next(iter(pane.items))
                assert [str(c) for c in pane.table.get_row(key)[:2]] == ["cache", "/data"]

                await restart(client, sandbox.id)
                await client.sandboxes.exec(sandbox.id, "echo kept > /data/note")
                await restart(client, sandbox.id)
                assert (await client.sandboxes.exec(sandbox.id, "cat /data/note")).stdout == "kept\n"

                await pilot.press("enter")
                assert form(app).value_of("path") == "/data"
                fill(app, path="/srv/cache")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: str(pane.table.get_row(key)[1]) == "/srv/cache", "the edit")

                await pilot.press("d")
                assert isinstance(app.screen, ConfirmScreen) and "cache" in app.screen.question
                await pilot.press("y")
                await wait_for(pilot, lambda: not pane.items, "the delete")
                assert not isinstance(app.screen, FormScreen)
        finally:
            await delete_quietly(client, sandbox.id)
