"""Records that would break a sandbox's next start are refused when they are added or changed."""

from __future__ import annotations

import pytest

from tests.local.helpers import Api

pytestmark = pytest.mark.timeout(180)

KiB = 1024
ENV_BUDGET = 256 * KiB  # resources.py ENV_BUDGET
MAX_ENV_VALUE = 64 * KiB  # resources.py MAX_ENV_VALUE

BAD_FILE_PATHS = ["/", "/etc/passwd", "/usr/local/bin/tool", "/proc/self/x", "//etc/x", "/./etc/x", "/dev/", "/lib64",
                  "/bin/sh", "/sbin/init", "/lib/x", "/lib32/x", "/libx32/x", "/sys/x", "/run/x", "/boot/x", "/etc",
                  "/tmp", "/home/sandbox", "/home", "/.pocketenv/agent"]
GOOD_FILE_PATHS = ["/tmp/x", "/home/sandbox/x", "/etcetera/x", "/opt/app/config", "/usrlocal/x", "/tmp/etc/x",
                   "/home/other/x"]
BAD_VOLUME_PATHS = [*BAD_FILE_PATHS, "/tmp/", "//home/sandbox/", "/home/./sandbox", "/home/"]
GOOD_VOLUME_PATHS = ["/tmp/cache", "/home/sandbox/data", "/data", "/srv/shared", "/home/other"]


async def test_file_paths_in_system_directories_are_refused(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    for path in BAD_FILE_PATHS:
        response = await api.post("file.addFile", {"file": {"sandboxId": sid, "path": path, "content": api.seal("x")}})
        assert response.status_code == 400, (path, response.text)
        message = response.json()["message"]
        assert message.startswith("Input/file/path must not be"), message
        assert "start" in message  # says why: the next start would fail
    for path in GOOD_FILE_PATHS:
        await api.ok(await api.post("file.addFile", {"file": {"sandboxId": sid, "path": path, "content": api.seal("x")}}))
    files = (await api.ok(await api.get("file.getFiles", sandboxId=sid, limit=100)))["files"]
    assert sorted(f["path"] for f in files) == sorted(GOOD_FILE_PATHS)
    moved = await api.post("file.updateFile", {"id": files[0]["id"], "file": {"path": "/etc/shadow", "content": api.seal("y")}})
    assert moved.status_code == 400 and "/etc" in moved.json()["message"]
    # The sandbox still restarts with what was accepted.
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))


async def test_volume_paths_in_system_or_reserved_directories_are_refused(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    for path in BAD_VOLUME_PATHS:
        response = await api.post("volume.addVolume", {"volume": {"sandboxId": sid, "name": "v", "path": path}})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["message"].startswith("Input/volume/path must not be"), response.text
    reserved = await api.post("volume.addVolume", {"volume": {"sandboxId": sid, "name": "v", "path": "/home/sandbox"}})
    assert "/home/sandbox itself" in reserved.json()["message"]
    for i, path in enumerate(GOOD_VOLUME_PATHS):
        await api.ok(await api.post("volume.addVolume", {"volume": {"sandboxId": sid, "name": f"v{i}", "path": path}}))
    volumes = (await api.ok(await api.get("volume.getVolumes", sandboxId=sid, limit=100)))["volumes"]
    assert sorted(v["path"] for v in volumes) == sorted(GOOD_VOLUME_PATHS)
    moved = await api.post("volume.updateVolume", {"id": volumes[0]["id"], "volume": {"name": "v", "path": "/tmp"}})
    assert moved.status_code == 400 and "/tmp itself" in moved.json()["message"]
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))


async def test_environment_budget_stops_variables_before_start_breaks(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    value = "v" * 2000
    accepted, refusal = 0, None
    for i in range(1100):
        response = await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": f"VAR_{i:04d}", "value": value}})
        if response.status_code != 200:
            refusal = response
            break
        accepted += 1
    assert refusal is not None, "1,100 variables of 2 KB were all accepted"
    assert refusal.status_code == 400
    entry = len("VAR_0000=") + len(value)
    assert accepted == ENV_BUDGET // entry
    message = refusal.json()["message"]
    assert f"limit of {ENV_BUDGET} bytes" in message and f"{accepted * entry} bytes are used now" in message
    # Everything accepted still fits the next start.
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
    result = await api.exec(sid, 'printf %s "$VAR_0000" | wc -c')
    assert result["stdout"].strip() == "2000"


async def test_environment_counts_secrets_and_updates(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    big = "s" * (60 * KiB)
    for i in range(4):
        await api.ok(await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": f"SECRET_{i}", "value": api.seal(big)}}))
    used = 4 * (len("SECRET_0=") + len(big))
    over = await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": "EXTRA", "value": "e" * (20 * KiB)}})
    assert over.status_code == 400
    assert f"{used} bytes are used now" in over.json()["message"]
    small = {"sandboxId": sid, "name": "EXTRA", "value": "e" * 100}
    await api.ok(await api.post("variable.addVariable", {"variable": small}))
    var_id = (await api.ok(await api.get("variable.getVariables", sandboxId=sid)))["variables"][0]["id"]
    grown = await api.post("variable.updateVariable", {"id": var_id, "variable": {**small, "value": "e" * (20 * KiB)}})
    assert grown.status_code == 400 and "over its limit" in grown.json()["message"]
    # Replacing a record with one of the same size does not count it twice.
    await api.ok(await api.post("variable.updateVariable", {"id": var_id, "variable": {**small, "value": "f" * 100}}))
    secret_id = (await api.ok(await api.get("secret.getSecrets", sandboxId=sid)))["secrets"][0]["id"]
    await api.ok(await api.post("secret.updateSecret", {"id": secret_id, "secret": {"name": "SECRET_R", "value": api.seal(big)}}))
    # Unlinked records do not belong to any sandbox's environment.
    await api.ok(await api.post("variable.addVariable", {"variable": {"name": "LOOSE", "value": "l" * (60 * KiB)}}))
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
    loose = [v for v in (await api.ok(await api.get("variable.getVariables", limit=100)))["variables"] if v["name"] == "LOOSE"]
    for v in loose:
        await api.ok(await api.post("variable.deleteVariable", id=v["id"]))


async def test_one_value_over_64_kib_is_refused(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    secret = await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": "HUGE", "value": api.seal("h" * (70 * KiB))}})
    assert secret.status_code == 400
    assert secret.json()["message"] == (
        f"Input/secret/value is {70 * KiB} bytes; a variable or secret value may be at most {MAX_ENV_VALUE} bytes "
        "(64 KiB), since it goes into the sandbox's environment"
    )
    # Counted in bytes: 22,000 three-byte characters are 66,000 bytes.
    variable = await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": "WIDE", "value": "€" * 22_000}})
    assert variable.status_code == 400 and "is 66000 bytes" in variable.json()["message"]
    at_limit = await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": "FULL", "value": "x" * MAX_ENV_VALUE}})
    assert at_limit.status_code == 200, at_limit.text
