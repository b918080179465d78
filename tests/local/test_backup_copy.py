"""Backups (create with TTL, list, restore) and directory copies both ways through /cp."""

from __future__ import annotations

import pytest

from tests.local.helpers import Api, make_tar_gz, read_tar_gz

pytestmark = pytest.mark.timeout(120)


async def test_backup_and_restore(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    await api.exec(sid, "mkdir -p ~/proj/sub && echo one > ~/proj/a.txt && echo two > ~/proj/sub/b.txt")
    home = (await api.exec(sid, "echo $HOME"))["stdout"].strip()
    await api.ok(await api.post("sandbox.createBackup", {"directory": f"{home}/proj", "description": "before", "ttl": 3600}, id=sid))
    backups = (await api.ok(await api.get("sandbox.getBackups", id=sid)))["backups"]
    assert len(backups) == 1
    backup = backups[0]
    assert backup["directory"] == f"{home}/proj" and backup["description"] == "before"
    assert backup["expiresAt"] > backup["createdAt"]

    await api.exec(sid, "rm -rf ~/proj/sub && echo changed > ~/proj/a.txt && echo new > ~/proj/c.txt")
    await api.ok(await api.post("sandbox.restoreBackup", {"backupId": backup["id"]}))
    result = await api.exec(sid, "cat ~/proj/a.txt ~/proj/sub/b.txt; ls ~/proj")
    assert result["stdout"] == "one\ntwo\na.txt\nsub\n"

    missing = await api.post("sandbox.restoreBackup", {"backupId": "bkp_nothing"})
    assert missing.status_code == 404
    not_dir = await api.post("sandbox.createBackup", {"directory": f"{home}/proj/a.txt"}, id=sid)
    assert not_dir.status_code == 400


async def test_push_and_pull_directories(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    # Upload from "local" to the sandbox: POST /cp then pullDirectory.
    archive = make_tar_gz({"hello.txt": b"hi\n", "nested/deep.txt": b"deep\n"})
    upload = await api.client.post("/cp", files={"file": ("up.tar.gz", archive, "application/gzip")})
    assert upload.status_code == 200
    copy_id = upload.json()["uuid"]
    await api.ok(await api.post("sandbox.pullDirectory", {"sandboxId": sid, "directoryPath": "/tmp/incoming", "uuid": copy_id}))
    assert (await api.exec(sid, "cat /tmp/incoming/hello.txt /tmp/incoming/nested/deep.txt"))["stdout"] == "hi\ndeep\n"

    # Download from the sandbox: pushDirectory then GET /cp/{uuid}.
    await api.exec(sid, "mkdir -p /tmp/out && echo result > /tmp/out/r.txt")
    pushed = await api.ok(await api.post("sandbox.pushDirectory", {"sandboxId": sid, "directoryPath": "/tmp/out"}))
    download = await api.client.get(f"/cp/{pushed['uuid']}")
    assert download.status_code == 200
    assert read_tar_gz(download.content) == {"r.txt": b"result\n"}

    not_tar = await api.client.post("/cp", files={"file": ("x.tar.gz", b"plain text")})
    assert not_tar.status_code == 400
    no_field = await api.client.post("/cp", files={"other": ("x.tar.gz", archive)})
    assert no_field.status_code == 400 and "file" in no_field.json()["message"]
    assert (await api.client.get("/cp/00000000-0000-4000-8000-000000000000")).status_code == 404


async def test_copy_needs_a_running_sandbox(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    response = await api.post("sandbox.pushDirectory", {"sandboxId": sid, "directoryPath": "/tmp"})
    assert response.status_code == 400 and response.json()["message"] == "Sandbox is not running"
