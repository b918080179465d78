"""Secrets, variables, files, volumes and SSH keys: CRUD, and their effect inside a started sandbox."""

from __future__ import annotations

import pytest

from tests.local.helpers import Api

pytestmark = pytest.mark.timeout(120)


async def test_env_files_and_keys_reach_the_sandbox(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    await api.ok(await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": "GREETING", "value": "hello world"}}))
    await api.ok(await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": "SHARED", "value": "from-variable"}}))
    await api.ok(await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": "API_TOKEN", "value": api.seal("s3cr3t-value")}}))
    await api.ok(await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": "SHARED", "value": api.seal("from-secret")}}))
    await api.ok(await api.post("file.addFile", {"file": {"sandboxId": sid, "path": "/tmp/conf/app.env", "content": api.seal("KEY=value\n")}}))
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n"
    await api.ok(await api.post("sandbox.putSshKeys", {"id": sid, "privateKey": api.seal(key), "publicKey": "ssh-ed25519 AAAAC3Nza test@local"}))

    # Everything is applied on (re)start, as on the hosted platform.
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))

    out = await api.exec(sid, 'printf "%s|%s|%s" "$GREETING" "$API_TOKEN" "$SHARED"')
    assert out["stdout"] == "hello world|s3cr3t-value|from-secret"
    assert (await api.exec(sid, "cat /tmp/conf/app.env"))["stdout"] == "KEY=value\n"
    ssh = await api.exec(sid, 'cat ~/.ssh/id_ed25519.pub; stat -c %a ~/.ssh/id_ed25519')
    assert ssh["stdout"].split("\n")[:2] == ["ssh-ed25519 AAAAC3Nza test@local", "600"]


async def test_secret_crud(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    await api.ok(await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": "ONE", "value": api.seal("1")}}))
    dup = await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": "ONE", "value": api.seal("2")}})
    assert dup.status_code == 409
    listing = await api.ok(await api.get("secret.getSecrets", sandboxId=sid))
    assert listing["total"] == 1
    item = listing["secrets"][0]
    assert item["name"] == "ONE" and item["id"].startswith("secret_") and "value" not in item
    assert (await api.ok(await api.get("secret.getSecret", id=item["id"])))["secret"]["name"] == "ONE"
    await api.ok(await api.post("secret.updateSecret", {"id": item["id"], "secret": {"name": "RENAMED", "value": api.seal("3")}}))
    assert (await api.ok(await api.get("secret.getSecret", id=item["id"])))["secret"]["name"] == "RENAMED"
    await api.ok(await api.post("secret.deleteSecret", id=item["id"]))
    assert await api.ok(await api.get("secret.getSecret", id=item["id"])) == {}
    assert (await api.post("secret.deleteSecret", id=item["id"])).status_code == 404
    foreign = await api.post("secret.addSecret", {"secret": {"sandboxId": "sbx_nobody", "name": "X", "value": api.seal("1")}})
    assert foreign.status_code == 404


async def test_variable_file_volume_crud(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    await api.ok(await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": "A", "value": "1"}}))
    var = (await api.ok(await api.get("variable.getVariables", sandboxId=sid)))["variables"][0]
    assert (var["name"], var["value"]) == ("A", "1") and var["id"].startswith("var_")
    await api.ok(await api.post("variable.updateVariable", {"id": var["id"], "variable": {"name": "A", "value": "2"}}))
    assert (await api.ok(await api.get("variable.getVariable", id=var["id"])))["variable"]["value"] == "2"
    await api.ok(await api.post("variable.deleteVariable", id=var["id"]))
    assert (await api.ok(await api.get("variable.getVariables", sandboxId=sid)))["total"] == 0

    await api.ok(await api.post("file.addFile", {"file": {"sandboxId": sid, "path": "/tmp/x.txt", "content": api.seal("v1")}}))
    f = (await api.ok(await api.get("file.getFiles", sandboxId=sid)))["files"][0]
    assert f["path"] == "/tmp/x.txt" and "content" not in f
    await api.ok(await api.post("file.updateFile", {"id": f["id"], "file": {"path": "/tmp/y.txt", "content": api.seal("v2")}}))
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
    assert (await api.exec(sid, "cat /tmp/y.txt"))["stdout"] == "v2"
    await api.ok(await api.post("file.deleteFile", id=f["id"]))
    assert (await api.post("file.deleteFile", id=f["id"])).status_code == 404

    await api.ok(await api.post("volume.addVolume", {"volume": {"sandboxId": sid, "name": "data", "path": "/tmp/vol"}}))
    vol = (await api.ok(await api.get("volume.getVolumes", sandboxId=sid)))["volumes"][0]
    assert (vol["name"], vol["path"], vol["readOnly"]) == ("data", "/tmp/vol", False)
    await api.ok(await api.post("volume.updateVolume", {"id": vol["id"], "volume": {"name": "data2"}}))
    assert (await api.ok(await api.get("volume.getVolume", id=vol["id"])))["volume"]["name"] == "data2"
    dup = await api.post("volume.addVolume", {"volume": {"sandboxId": sid, "name": "other", "path": "/tmp/vol"}})
    assert dup.status_code == 409
    await api.ok(await api.post("volume.deleteVolume", id=vol["id"]))


async def test_volume_is_mounted_and_outlives_a_restart(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    await api.ok(await api.post("volume.addVolume", {"volume": {"sandboxId": sid, "name": "keep", "path": "/tmp/keep"}}))
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
    assert (await api.exec(sid, "echo persisted > /tmp/keep/note && cat /tmp/keep/note"))["stdout"] == "persisted\n"
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
    assert (await api.exec(sid, "cat /tmp/keep/note"))["stdout"] == "persisted\n"
