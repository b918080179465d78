"""``getSandboxUsage``: live figures of running sandboxes, read from their cgroups and disk."""

from __future__ import annotations

from datetime import datetime

from tests.local.helpers import Api
from tests.local.test_runtime_helpers import eventually

USAGE_KEYS = {
    "sandboxId", "cpuPercent", "cpuLimitPercent", "memoryBytes", "memoryLimitBytes",
    "diskBytes", "diskLimitBytes", "pids", "pidsLimit", "sampledAt",
}  # fmt: skip
GIB = 1024**3
MIB = 1024**2


async def usage_of(api: Api, sandbox_id: str) -> dict:
    [usage] = (await api.ok(await api.get("sandbox.getSandboxUsage", id=sandbox_id)))["usage"]
    return usage


async def test_a_running_sandbox_reports_its_figures_and_limits(api: Api, sandbox: dict) -> None:
    usage = await usage_of(api, sandbox["id"])
    assert set(usage) == USAGE_KEYS
    assert usage["sandboxId"] == sandbox["id"]
    assert datetime.fromisoformat(usage["sampledAt"].replace("Z", "+00:00")).tzinfo is not None
    protections = sandbox.get("protections", [])
    if "cpuLimit" in protections:
        assert usage["cpuLimitPercent"] == 200.0  # the default 2 vCPUs
    if "memoryLimit" in protections:
        assert usage["memoryLimitBytes"] == 2 * GIB
        assert 0 < usage["memoryBytes"] < 2 * GIB
    if "pidsLimit" in protections:
        assert usage["pidsLimit"] == 1024
        assert usage["pids"] >= 1
    if "diskQuota" in protections:
        assert 9 * GIB < usage["diskLimitBytes"] <= 10 * GIB
        assert 0 < usage["diskBytes"] < usage["diskLimitBytes"]
    else:
        assert usage["diskBytes"] is None and usage["diskLimitBytes"] is None

    listed = (await api.ok(await api.get("sandbox.getSandboxUsage")))["usage"]
    assert sandbox["id"] in {u["sandboxId"] for u in listed}
    assert all(set(u) == USAGE_KEYS for u in listed)


async def test_cpu_memory_and_disk_figures_move_with_the_work(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    protections = sandbox.get("protections", [])

    await api.exec(sid, "timeout 3 sh -c 'while :; do :; done' >/dev/null 2>&1 &")
    await usage_of(api, sid)  # a fresh base: the next percent covers the busy seconds only

    async def busy() -> bool:
        percent = (await usage_of(api, sid))["cpuPercent"]
        return percent is not None and percent > 50

    assert await eventually(busy, within=30, step=0.6)

    if "memoryLimit" in protections:
        before = (await usage_of(api, sid))["memoryBytes"]
        await api.exec(
            sid, "python3 -c 'b = bytearray(200 * 2**20); import time; time.sleep(5)' >/dev/null 2>&1 &"
        )

        async def grown() -> bool:
            return (await usage_of(api, sid))["memoryBytes"] > before + 150 * MIB

        assert await eventually(grown, within=30, step=0.2)

    if "diskQuota" in protections:
        before = (await usage_of(api, sid))["diskBytes"]
        result = await api.exec(sid, "dd if=/dev/urandom of=/root/f bs=1M count=50 2>&1 && sync")
        assert result["exitCode"] == 0, result

        async def written() -> bool:
            return (await usage_of(api, sid))["diskBytes"] > before + 40 * MIB

        assert await eventually(written, within=30, step=0.2)


async def test_stopped_and_unknown_sandboxes(api: Api) -> None:
    created = await api.create_running()
    try:
        await api.ok(await api.post("sandbox.stopSandbox", id=created["id"]))
        stopped = await api.ok(await api.get("sandbox.getSandboxUsage", id=created["id"]))
        assert stopped == {"usage": []}
        by_name = await api.ok(await api.get("sandbox.getSandboxUsage", id=created["name"]))
        assert by_name == {"usage": []}
        listed = (await api.ok(await api.get("sandbox.getSandboxUsage")))["usage"]
        assert created["id"] not in {u["sandboxId"] for u in listed}
    finally:
        await api.delete(created["id"])
    missing = await api.get("sandbox.getSandboxUsage", id="sbx_doesnotexist000000")
    assert missing.status_code == 404
    assert missing.json()["error"] == "SandboxNotFound"
