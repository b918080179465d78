"""Backups and Copy tabs: create/restore a backup, upload (honouring ignore files) and download."""

from __future__ import annotations

from pocketenv_tui.app.screens.confirm import ConfirmScreen
from tests.app.conftest import client_for, create_running, delete_quietly, unique_name, wait_for
from tests.app.test_resources_support import (
    SIZE,
    ResourcesApp,
    field_error,
    fill,
    form,
    notifications,
)


async def test_backup_create_and_restore(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("bkp"))
        await client.sandboxes.exec(sandbox.id, "mkdir -p /home/sandbox/work && echo original > /home/sandbox/work/a.txt")
        app = ResourcesApp(client, sandbox, initial="backups")
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("backups")
                await wait_for(pilot, lambda: pane.loaded, "the backups")
                pane.focus_main()
                await pilot.press("b")
                fill(app, directory="work", ttl="soon")
                await pilot.press("ctrl+s")
                assert "absolute" in field_error(app, "directory")
                assert "10m, 2h or 7d" in field_error(app, "ttl")
                fill(app, directory="/home/sandbox/work", ttl="", description="before the change")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the backup")
                backup = next(iter(pane.items.values()))
                row = [str(c) for c in pane.table.get_row(backup.id)]
                assert row[0] == backup.id and row[1] == "/home/sandbox/work"
                assert row[3].startswith("in 2d23h") or row[3].startswith("in 3d")  # default time to live: 3d

                await client.sandboxes.exec(sandbox.id, "echo changed > /home/sandbox/work/a.txt")
                await pilot.press("R")
                assert isinstance(app.screen, ConfirmScreen) and backup.id in app.screen.question
                await pilot.press("y")
                await wait_for(pilot, lambda: "restored" in notifications(app), "the restore")
                result = await client.sandboxes.exec(sandbox.id, "cat /home/sandbox/work/a.txt")
                assert result.stdout == "original\n"
        finally:
            await delete_quietly(client, sandbox.id)


async def test_upload_honours_ignore_files_and_download_brings_it_back(local_backend, tmp_path):
    source = tmp_path / "project"
    (source / "src").mkdir(parents=True)
    (source / "src" / "main.py").write_text("print('hi')\n")
    (source / "debug.log").write_text("noise\n")
    (source / "keep.log").write_text("wanted\n")
    (source / "node_modules" / "pkg").mkdir(parents=True)
    (source / "node_modules" / "pkg" / "index.js").write_text("x\n")
    (source / "local.env").write_text("SECRET=1\n")
    (source / ".git").mkdir()
    (source / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (source / ".gitignore").write_text("*.log\n!keep.log\nnode_modules/\n")
    (source / ".pocketenvignore").write_text("local.env\n")
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("copy"))
        app = ResourcesApp(client, sandbox, initial="copy")
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("copy")
                pane.focus_main()
                await pilot.press("u")
                fill(app, local=str(tmp_path / "absent"), remote="/home/sandbox/project")
                await pilot.press("ctrl+s")
                assert "not a folder" in field_error(app, "local")
                fill(app, local=str(source))
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: "Uploaded" in notifications(app), "the upload")
                assert not pane.busy
                result = await client.sandboxes.exec(sandbox.id, "cd /home/sandbox/project && find . -type f | sort")
                assert result.stdout.split() == [
                    "./.gitignore", "./.pocketenvignore", "./keep.log", "./src/main.py",
                ]
                bar = pane.query_one("#copy-progress")
                assert bar.progress == bar.total

                await pilot.press("w")
                fill(app, remote="/home/sandbox/project/src", local=str(tmp_path / "back"))
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: "Downloaded" in notifications(app), "the download")
                assert (tmp_path / "back" / "main.py").read_text() == "print('hi')\n"

                # A failed copy keeps the folders typed for the next try.
                await pilot.press("w")
                fill(app, remote="/home/sandbox/nowhere", local=str(tmp_path / "none"))
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: "Could not download" in notifications(app), "the failure")
                await pilot.press("w")
                assert form(app).value_of("remote") == "/home/sandbox/nowhere"
        finally:
            await delete_quietly(client, sandbox.id)
