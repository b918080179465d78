"""The streaming exec (``io.pocketenv.sandbox.execStream``) against a real local backend.

Output arrives while the command runs (proved by a command that cannot finish until the test
has seen its first line), stdout and stderr come in the order they were written, closing
the stream kills the command, the time limit is the command's, and refusals are ordinary
XRPC errors. The plain ``sandbox.exec`` is unchanged (test_runtime, test_resources_exec).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.exec_stream import ExecFinished, ExecOutput
from tests.local.helpers import NS, Api

pytestmark = pytest.mark.timeout(120)

STREAM = f"/xrpc/{NS}sandbox.execStream"


async def events_of(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    async for line in response.aiter_lines():
        if line.strip():
            yield json.loads(line)


async def collect(api: Api, sandbox_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    async with api.client.stream("POST", STREAM, params={"id": sandbox_id}, json=body) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("application/x-ndjson")
        return [event async for event in events_of(response)]


def output_of(events: list[dict[str, Any]], stream: str | None = None) -> str:
    return "".join(e["data"] for e in events if "stream" in e and (stream is None or e["stream"] == stream))


async def running_count(api: Api, sandbox_id: str, marker: str) -> int:
    # The marker is written as "sleep 30[1]" in this probe so it never matches itself.
    probe = f"cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -o '{marker[:-1]}[{marker[-1]}]' | wc -l"
    return int((await api.exec(sandbox_id, probe))["stdout"].strip() or 0)


async def test_output_arrives_while_the_command_runs(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    command = "echo ready; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after"
    async with api.client.stream("POST", STREAM, params={"id": sid}, json={"command": command}) as response:
        assert response.status_code == 200
        events = events_of(response)
        first = await anext(events)
        assert first == {"stream": "stdout", "data": "ready\n"}
        # Only now can the command finish: its first line came while it was still waiting.
        await api.ok(await api.post("sandbox.exec", {"command": "touch /tmp/go"}, id=sid))
        rest = [event async for event in events]
    assert output_of(rest) == "after\n"
    assert rest[-1] == {"exitCode": 0, "timedOut": False, "timeLimit": 300.0}


async def test_stdout_and_stderr_are_interleaved_in_order(api: Api, sandbox: dict) -> None:
    command = "echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; sleep 0.3; echo err2 >&2; exit 3"
    events = await collect(api, sandbox["id"], {"command": command})
    pieces = [(e["stream"], e["data"]) for e in events if "stream" in e]
    assert pieces == [("stdout", "out1\n"), ("stderr", "err1\n"), ("stdout", "out2\n"), ("stderr", "err2\n")]
    assert events[-1]["exitCode"] == 3 and events[-1]["timedOut"] is False


async def test_closing_the_stream_kills_the_command(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    async with api.client.stream("POST", STREAM, params={"id": sid}, json={"command": "echo started; sleep 301; echo never"}) as response:
        events = events_of(response)
        assert (await anext(events))["data"] == "started\n"
        assert await running_count(api, sid, "sleep 301") >= 1
    # Leaving the block closed the connection: the server kills the command's process group.
    for _ in range(200):
        if await running_count(api, sid, "sleep 301") == 0:
            break
        await asyncio.sleep(0.05)
    assert await running_count(api, sid, "sleep 301") == 0


async def test_the_time_limit_is_the_commands(api: Api, sandbox: dict) -> None:
    events = await collect(api, sandbox["id"], {"command": "echo begun; sleep 60", "timeout": 1})
    assert output_of(events) == "begun\n"
    assert events[-1] == {"exitCode": 124, "timedOut": True, "timeLimit": 1.0}
    assert await running_count(api, sandbox["id"], "sleep 60") == 0


async def test_a_quiet_command_gets_heartbeats(api: Api, sandbox: dict) -> None:
    events = await collect(api, sandbox["id"], {"command": "sleep 5.5; echo woke"})
    beats = [e for e in events if "heartbeat" in e]
    assert beats and beats[0]["heartbeat"] >= 4.5
    assert output_of(events) == "woke\n"


async def test_output_is_complete_in_large_amounts_and_split_characters_survive(api: Api, sandbox: dict) -> None:
    big = await collect(api, sandbox["id"], {"command": "head -c 3000000 /dev/zero | tr '\\0' a; echo"})
    assert output_of(big, "stdout") == "a" * 3_000_000 + "\n"
    assert all(len(e["data"]) <= 64 * 1024 for e in big if "stream" in e)
    # A euro sign written in two halves, and bytes that are not UTF-8 at all.
    split = await collect(api, sandbox["id"], {"command": "printf '\\342\\202'; sleep 0.2; printf '\\254\\n'; printf '\\377\\n' >&2"})
    assert output_of(split, "stdout") == "€\n"
    assert output_of(split, "stderr") == "\ufffd\n"


async def test_a_background_job_does_not_hold_the_stream_open(api: Api, sandbox: dict) -> None:
    events = await collect(api, sandbox["id"], {"command": "sleep 100 & echo done"})
    assert output_of(events) == "done\n" and events[-1]["exitCode"] == 0


async def test_refusals_are_ordinary_xrpc_errors(api: Api, sandbox: dict, local_backend) -> None:
    sid = sandbox["id"]
    missing = await api.post("sandbox.execStream", {}, id=sid)
    assert missing.status_code == 400 and "command" in missing.json()["message"]
    unknown = await api.post("sandbox.execStream", {"command": "true"}, id="sbx_nobody")
    assert unknown.status_code == 404 and unknown.json()["error"] == "SandboxNotFound"
    too_long = await api.post("sandbox.execStream", {"command": "true", "timeout": 10**9}, id=sid)
    assert too_long.status_code == 400
    async with httpx.AsyncClient(base_url=local_backend.url) as anonymous:
        refused = await anonymous.post(STREAM, params={"id": sid}, json={"command": "true"})
    assert refused.status_code == 401
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    stopped = await api.post("sandbox.execStream", {"command": "true"}, id=sid)
    assert stopped.status_code == 400 and "not running" in stopped.json()["message"]


async def test_the_client_streams_and_cancels(local_backend, api: Api, sandbox: dict) -> None:
    async with PocketenvClient(api_url=local_backend.url, token=local_backend.token, public_key=local_backend.public_key) as client:
        events = [e async for e in client.sandboxes.exec_stream(sandbox["id"], "echo hi; echo oops >&2; exit 4")]
        assert output_pieces(events) == {"stdout": "hi\n", "stderr": "oops\n"}
        assert events[-1] == ExecFinished(4, False, 300.0)
        assert client.sandboxes.exec_stream_offered is True

        async def first_then_wait() -> None:
            async for _ in client.sandboxes.exec_stream(sandbox["id"], "echo go; sleep 302"):
                await asyncio.sleep(3600)  # parked here until cancelled

        task = asyncio.create_task(first_then_wait())
        for _ in range(200):
            if await running_count(api, sandbox["id"], "sleep 302") >= 1:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(200):
            if await running_count(api, sandbox["id"], "sleep 302") == 0:
                break
            await asyncio.sleep(0.05)
        assert await running_count(api, sandbox["id"], "sleep 302") == 0


def output_pieces(events: list[object]) -> dict[str, str]:
    pieces: dict[str, str] = {"stdout": "", "stderr": ""}
    for event in events:
        if isinstance(event, ExecOutput):
            pieces[event.stream] += event.data
    return pieces
