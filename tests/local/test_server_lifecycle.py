"""The sandbox lifecycle over real HTTP: create, boot, list, stop, start, exec, delete."""

from __future__ import annotations

import pytest

from tests.local.helpers import Api

pytestmark = pytest.mark.timeout(120)


async def test_create_honours_name_and_resources_then_boots(api: Api) -> None:
    created = await api.ok(await api.post("sandbox.createSandbox", {
        "base": "shell", "name": "life-one", "description": "first", "topics": ["a", "b"],
        "vcpus": 2, "memory": 3, "disk": 5,
    }))
    try:
        assert created["name"] == "life-one"
        assert created["provider"] == "cloudflare"  # what upstream records when none is asked
        assert created["status"] == "INITIALIZING"
        assert (created["vcpus"], created["memory"], created["disk"]) == (2, 3, 5)
        assert created["id"].startswith("sbx_")
        assert created["uri"].startswith("at://did:local:")

        running = await api.wait_status(created["id"], "RUNNING")
        assert running["startedAt"]
        assert running["topics"] == ["a", "b"]
        assert running["description"] == "first"
        assert running["isolation"] in ("bwrap", "none")
        assert running["owner"]["handle"] == "local"

        by_name = await api.ok(await api.get("sandbox.getSandbox", id="life-one"))
        assert by_name["sandbox"]["id"] == created["id"]
        by_uri = await api.ok(await api.get("sandbox.getSandbox", id=created["uri"]))
        assert by_uri["sandbox"]["id"] == created["id"]

        dup = await api.post("sandbox.createSandbox", {"base": "shell", "name": "life-one"})
        assert dup.status_code == 409
        assert dup.json()["error"] == "Conflict"
    finally:
        await api.delete(created["id"])
    assert await api.ok(await api.get("sandbox.getSandbox", id=created["id"])) == {}


async def test_generated_name_and_base_uri(api: Api) -> None:
    created = await api.ok(await api.post("sandbox.createSandbox", {"base": "at://did:plc:xyz/io.pocketenv.sandbox/shell"}))
    try:
        parts = created["name"].split("-")
        assert len(parts) == 3 and len(parts[2]) == 4
        sandbox = await api.wait_status(created["id"], "RUNNING")
        assert sandbox["baseSandbox"] == "shell"
    finally:
        await api.delete(created["id"])


async def test_unknown_base_is_a_clear_400(api: Api) -> None:
    response = await api.post("sandbox.createSandbox", {"base": "no-such-template"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "InvalidRequest"
    assert "base" in body["message"] and "shell" in body["message"]


async def test_catalog_lists_shell(api: Api) -> None:
    data = await api.ok(await api.get("sandbox.getSandboxes"))
    names = [item["name"] for item in data["sandboxes"]]
    assert "shell" in names
    assert data["total"] >= 1
    item = data["sandboxes"][names.index("shell")]
    assert set(item) >= {"id", "name", "displayName", "description", "logo", "readme", "installs", "uri", "createdAt"}


async def test_stop_start_and_exec(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    result = await api.exec(sid, "echo out; echo err >&2; exit 7")
    assert result == {"stdout": "out\n", "stderr": "err\n", "exitCode": 7}

    assert await api.ok(await api.post("sandbox.stopSandbox", id=sid)) == {}
    stopped = await api.ok(await api.get("sandbox.getSandbox", id=sid))
    assert stopped["sandbox"]["status"] == "STOPPED"
    refused = await api.post("sandbox.exec", {"command": "true"}, id=sid)
    assert refused.status_code == 400
    assert "not running" in refused.json()["message"]

    assert await api.ok(await api.post("sandbox.startSandbox", {}, id=sid)) == {}
    running = await api.ok(await api.get("sandbox.getSandbox", id=sid))
    assert running["sandbox"]["status"] == "RUNNING"
    assert (await api.exec(sid, "echo back"))["stdout"] == "back\n"


async def test_exec_timeout_is_configurable(api: Api, sandbox: dict) -> None:
    result = await api.exec(sandbox["id"], "sleep 30; echo never", timeout=1)
    assert "never" not in result["stdout"]
    assert result["exitCode"] != 0
    bad = await api.post("sandbox.exec", {"command": "true", "timeout": "soon"}, id=sandbox["id"])
    assert bad.status_code == 400 and "timeout" in bad.json()["message"]


async def test_actor_sandboxes_newest_first_and_filters(api: Api, local_backend) -> None:
    profile = await api.ok(await api.get("actor.getProfile"))
    first = await api.create_running(name="order-first")
    second = await api.create_running(name="order-second")
    try:
        await api.ok(await api.post("sandbox.stopSandbox", id=first["id"]))
        page = await api.ok(await api.get("actor.getActorSandboxes", did=profile["did"], limit=100))
        ids = [s["id"] for s in page["sandboxes"]]
        assert ids.index(second["id"]) < ids.index(first["id"])
        assert page["total"] >= 2
        running = await api.ok(await api.get("actor.getActorSandboxes", did="local", isRunning="true", limit=100))
        assert second["id"] in [s["id"] for s in running["sandboxes"]]
        assert first["id"] not in [s["id"] for s in running["sandboxes"]]
        stopped = await api.ok(await api.get("actor.getActorSandboxes", did=profile["did"], isRunning="false"))
        assert first["id"] in [s["id"] for s in stopped["sandboxes"]]
        one = await api.ok(await api.get("actor.getActorSandboxes", did=profile["did"], limit=1, offset=0))
        assert len(one["sandboxes"]) == 1
    finally:
        await api.delete(first["id"])
        await api.delete(second["id"])


async def test_unknown_sandbox_is_404(api: Api) -> None:
    for method in ("sandbox.stopSandbox", "sandbox.deleteSandbox"):
        response = await api.post(method, id="sbx_doesnotexist")
        assert response.status_code == 404
        assert response.json()["error"] == "SandboxNotFound"
    response = await api.post("sandbox.exec", {"command": "true"}, id="sbx_doesnotexist")
    assert response.status_code == 404


async def test_preferences_rename_and_validate(api: Api, sandbox: dict) -> None:
    details = "io.pocketenv.sandbox.defs#sandboxDetailsPref"
    await api.ok(await api.post("sandbox.putPreferences", {
        "sandboxId": sandbox["id"], "preferences": [{"$type": details, "name": "renamed-box", "description": "d2"}],
    }))
    got = await api.ok(await api.get("sandbox.getSandbox", id="renamed-box"))
    assert got["sandbox"]["description"] == "d2"
    bad = await api.post("sandbox.putPreferences", {"sandboxId": sandbox["id"], "preferences": [{"name": "x"}]})
    assert bad.status_code == 400
    assert bad.json()["message"] == 'Input/preferences/0 must be an object which includes the "$type" property'
    assert await api.ok(await api.get("sandbox.getPreferences", id=sandbox["id"])) == []


async def test_unreachable_repo_is_reported_not_hidden(api: Api) -> None:
    created = await api.ok(await api.post("sandbox.createSandbox", {"base": "shell", "repo": "http://127.0.0.1:9/none.git"}))
    try:
        sandbox = await api.wait_status(created["id"], "RUNNING")
        assert sandbox["repo"] == "http://127.0.0.1:9/none.git"
        assert any("repo" in w.lower() for w in sandbox.get("warnings", [])), sandbox
    finally:
        await api.delete(created["id"])
