"""Limits by default: processes, memory and disk, enforced inside while the server stays up.

A server of its own with small defaults (``serve --default-pids 64 --default-memory 256M
--default-disk 96M``) keeps these fast; the session's server shows the documented defaults.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.local.escape.conftest import require
from tests.local.helpers import Api

SMALL = ["--default-pids", "64", "--default-memory", "256M", "--default-disk", "96M"]


@pytest.fixture
async def small(make_backend) -> AsyncIterator[tuple[Api, dict]]:
    backend = make_backend(args=SMALL)
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, timeout=120) as client:
        api = Api(client, backend.public_key)
        sandbox = await api.create_running()
        yield api, sandbox


async def still_healthy(api: Api, sandbox_id: str) -> None:
    """The server answers and the sandbox still runs commands."""
    assert (await api.exec(sandbox_id, "echo alive"))["stdout"] == "alive\n"
    record = (await api.ok(await api.get("sandbox.getSandbox", id=sandbox_id)))["sandbox"]
    assert record["status"] == "RUNNING"


async def test_the_record_shows_the_documented_defaults(api: Api, sandbox: dict) -> None:
    assert sandbox["limits"] == {"pids": 1024, "memoryMiB": 2048, "vcpus": 2, "diskMiB": 10240}
    assert (sandbox["vcpus"], sandbox["memory"], sandbox["disk"]) == (2, 2, 10)
    listed = (await api.ok(await api.get("actor.getActorSandboxes", did="local", limit=100)))["sandboxes"]
    assert next(s for s in listed if s["id"] == sandbox["id"])["limits"] == sandbox["limits"]


async def test_a_record_can_ask_for_other_limits(api: Api) -> None:
    created = await api.ok(await api.post("sandbox.createSandbox", {"base": "shell", "vcpus": 1, "memory": 1, "disk": 3}))
    try:
        assert created["limits"] == {"pids": 1024, "memoryMiB": 1024, "vcpus": 1, "diskMiB": 3072}
        running = await api.wait_status(created["id"], "RUNNING")
        if "diskQuota" in running.get("protections", []):
            size = await api.exec(created["id"], "df -k --output=size /home | tail -1")
            assert 2 * 1024 * 1024 < int(size["stdout"]) <= 3 * 1024 * 1024
    finally:
        await api.delete(created["id"])


async def test_forking_past_the_pids_limit_fails_inside(small: tuple[Api, dict]) -> None:
    api, sandbox = small
    require(sandbox, "pidsLimit")
    assert sandbox["limits"]["pids"] == 64
    result = await api.exec(
        sandbox["id"],
        "python3 -c 'import os, time\n"
        "pids = []\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            time.sleep(30); os._exit(0)\n"
        "        pids.append(pid)\n"
        "except OSError as exc:\n"
        "    print(\"refused after\", len(pids), exc.strerror)\n"
        "for pid in pids: os.kill(pid, 9)\n'",
        timeout=60,
    )
    assert "refused after" in result["stdout"], result
    forked = int(result["stdout"].split()[2])
    assert 40 < forked < 64
    assert "Resource temporarily unavailable" in result["stdout"]
    await still_healthy(api, sandbox["id"])


async def test_allocating_past_the_memory_limit_kills_only_that_process(small: tuple[Api, dict]) -> None:
    api, sandbox = small
    require(sandbox, "memoryLimit")
    result = await api.exec(sandbox["id"], "python3 -c 'b = bytearray(600 * 1024 * 1024); print(len(b))'; echo code=$?")
    assert "code=137" in result["stdout"], result  # SIGKILL from the cgroup's OOM killer
    await still_healthy(api, sandbox["id"])


async def test_writing_past_the_disk_quota_fails_with_enospc(small: tuple[Api, dict]) -> None:
    api, sandbox = small
    require(sandbox, "diskQuota")
    result = await api.exec(sandbox["id"], "dd if=/dev/zero of=/tmp/fill bs=1M count=200 2>&1; echo code=$?; df -k --output=avail /tmp | tail -1")
    assert "No space left on device" in result["stdout"] and "code=1" in result["stdout"], result
    await api.exec(sandbox["id"], "rm -f /tmp/fill")
    home = await api.exec(sandbox["id"], "head -c 200000000 /dev/zero > ~/big; echo code=$?")
    assert "No space left on device" in home["stderr"] and "code=1" in home["stdout"], home
    await api.exec(sandbox["id"], "rm -f ~/big")
    await still_healthy(api, sandbox["id"])
