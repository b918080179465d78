"""``sandbox.getShells`` and ``sandbox.endShell`` over a real server: only the owner's sandbox,
and a key only within the sandbox it belongs to."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.local.helpers import Api

pytestmark = pytest.mark.timeout(120)


async def open_shell(backend: Any, sandbox_id: str, key: str) -> ClientConnection:
    """A binary-dialect terminal on ``key``, past its ``ready``."""
    base = backend.url.replace("http://", "ws://", 1)
    ws = await connect(f"{base}/v1/sandboxes/{sandbox_id}/ws/terminal?t={quote(backend.token)}&session={key}", open_timeout=20)
    async with asyncio.timeout(20):
        while not (isinstance(frame := await ws.recv(), str) and json.loads(frame).get("type") == "ready"):
            pass
    return ws


async def shells_of(api: Api, sandbox_id: str) -> list[dict[str, Any]]:
    return (await api.ok(await api.get("sandbox.getShells", id=sandbox_id)))["shells"]


async def until(condition, what: str, within: float = 20.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def add_foreign_sandbox(data_dir, sandbox_id: str) -> None:
    """A sandbox of another owner in the server's own database (the local backend has one
    owner per data dir, so only the store can hold a second one)."""
    with sqlite3.connect(data_dir / "state.db") as db:
        db.execute("PRAGMA busy_timeout=5000")
        db.execute(
            "INSERT INTO users (id, did, handle, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            ("usr_other", "did:local:someone-else", "other", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"),
        )
        db.execute(
            "INSERT INTO sandboxes (id, name, owner_did, base, provider, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sandbox_id, "not-yours", "did:local:someone-else", "shell", "local", "STOPPED", "2026-01-01T00:00:00.000Z"),
        )


async def test_list_and_end_shells_only_within_their_sandbox(make_backend) -> None:
    backend = make_backend()
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, timeout=60) as http:
        api = Api(http, backend.public_key)
        mine, other = await api.create_running(), await api.create_running()
        try:
            assert await shells_of(api, mine["id"]) == []
            ws = await open_shell(backend, mine["id"], "work")
            try:
                await ws.send(b"sleep 300\n")
                shells = await until(
                    lambda: _with_command(api, mine["id"], "sleep"), "sleep in the foreground"
                )
                assert [(s["key"], s["clients"]) for s in shells] == [("work", 1)]
                assert datetime.fromisoformat(shells[0]["startedAt"].replace("Z", "+00:00"))
                assert set(shells[0]) == {"key", "startedAt", "command", "clients"}

                # The key means nothing in another sandbox of the same owner.
                assert await shells_of(api, other["id"]) == []
                crossed = await api.post("sandbox.endShell", {"id": other["id"], "key": "work"})
                assert crossed.status_code == 404 and crossed.json()["error"] == "ShellNotFound"
                unknown = await api.post("sandbox.endShell", {"id": mine["id"], "key": "no-such-key"})
                assert unknown.status_code == 404 and unknown.json()["error"] == "ShellNotFound"
                assert [s["key"] for s in await shells_of(api, mine["id"])] == ["work"]  # untouched

                ended = await api.post("sandbox.endShell", {"id": mine["id"], "key": "work"})
                assert ended.status_code == 200 and ended.content == b""
                assert await shells_of(api, mine["id"]) == []
                async with asyncio.timeout(20):  # the terminal hears that its shell ended
                    while not (isinstance(frame := await ws.recv(), str) and json.loads(frame).get("type") == "exit"):
                        pass
            finally:
                await ws.close()

            # Another owner's sandbox is not found, whatever the key.
            add_foreign_sandbox(backend.data_dir, "sbx_someoneelse1")
            for response in (
                await api.get("sandbox.getShells", id="sbx_someoneelse1"),
                await api.get("sandbox.getShells", id="not-yours"),
                await api.post("sandbox.endShell", {"id": "sbx_someoneelse1", "key": "work"}),
            ):
                assert response.status_code == 404 and response.json()["error"] == "SandboxNotFound"

            # Input is checked before anything is looked up.
            for body in ({"id": mine["id"]}, {"id": mine["id"], "key": ""}, {"id": mine["id"], "key": 7}, {"key": "work"}):
                bad = await api.post("sandbox.endShell", body)
                assert bad.status_code == 400 and bad.json()["error"] == "InvalidRequest", body
            missing = await api.get("sandbox.getShells")
            assert missing.status_code == 400
        finally:
            await api.delete(mine["id"])
            await api.delete(other["id"])


async def _with_command(api: Api, sandbox_id: str, command: str) -> list[dict[str, Any]] | None:
    shells = await shells_of(api, sandbox_id)
    return shells if shells and all(s["command"] == command for s in shells) else None


async def test_shells_of_a_stopped_sandbox_are_none(api: Api, sandbox: dict, local_backend) -> None:
    ws = await open_shell(local_backend, sandbox["id"], "before-stop")
    try:
        assert [s["key"] for s in await shells_of(api, sandbox["id"])] == ["before-stop"]
        await api.ok(await api.post("sandbox.stopSandbox", id=sandbox["id"]))
        assert await shells_of(api, sandbox["id"]) == []
        gone = await api.post("sandbox.endShell", {"id": sandbox["id"], "key": "before-stop"})
        assert gone.status_code == 404 and gone.json()["error"] == "ShellNotFound"
    finally:
        await ws.close()


async def test_a_hostile_program_name_comes_back_as_plain_text(api: Api, sandbox: dict, local_backend) -> None:
    # The foreground program's name is chosen inside the sandbox (any process may write its
    # own /proc/self/comm): terminal escapes and bells in it never reach a client.
    ws = await open_shell(local_backend, sandbox["id"], "hostile-name")
    try:
        # A child shell leads the foreground job, so its name is the one the server reads.
        await ws.send(b"bash -c \"printf '\\033]0;x\\007\\033[2J' > /proc/\\$\\$/comm; while :; do sleep 1; done\"\n")

        async def renamed():
            found = [s for s in await shells_of(api, sandbox["id"]) if s["key"] == "hostile-name"]
            return found if found and found[0]["command"] not in (None, "bash", "sh", "sleep") else None

        shell = (await until(renamed, "the renamed shell"))[0]
        assert shell["command"].isascii() and shell["command"].isprintable()
        assert "\x1b" not in shell["command"] and "\x07" not in shell["command"]
        assert shell["command"].startswith("?]0;x?")
    finally:
        await ws.send(b"\x03")
        await ws.close()
