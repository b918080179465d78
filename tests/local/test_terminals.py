"""Both terminal dialects and exec, end to end over a real server, HTTP and WebSockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from pocketenv_tui.local.sandbox.proc import pids_with_env
from tests.local.helpers import Api


def ws_base(backend: Any) -> str:
    return backend.url.replace("http://", "ws://", 1)


async def collect_text(ws: ClientConnection, pattern: str, within: float = 20.0) -> str:
    """Text frames until ``pattern`` (a regex) matches what arrived."""
    seen = ""
    async with asyncio.timeout(within):
        while not re.search(pattern, seen):
            frame = await ws.recv()
            seen += frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    return seen


async def collect_binary(ws: ClientConnection, needle: bytes, within: float = 20.0) -> tuple[bytes, list[dict]]:
    """Binary output until ``needle``; JSON status frames met on the way are returned too."""
    seen, statuses = b"", []
    async with asyncio.timeout(within):
        while needle not in seen:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                seen += frame
            else:
                statuses.append(json.loads(frame))
    return seen, statuses


async def open_binary(url: str) -> tuple[ClientConnection, bytes]:
    """Connect to the binary dialect; returns the socket and the replay sent before ready."""
    ws = await connect(url, open_timeout=20)
    replay = b""
    async with asyncio.timeout(20):
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                replay += frame
                continue
            status = json.loads(frame)
            assert status == {"type": "ready"}, status
            return ws, replay


async def test_pty_dialect_resize_and_reattach_by_session(sandbox: dict, local_backend: Any) -> None:
    base = f"{ws_base(local_backend)}/pty/{sandbox['id']}/ws?token={local_backend.token}"
    async with connect(base + "&sessionId=work", open_timeout=20) as ws:
        await ws.send(json.dumps({"type": "resize", "cols": 91, "rows": 33}))
        await ws.send('KEPT=still-here; stty size; echo "sh""ell=$$"\n')
        out = await collect_text(ws, r"shell=\d+")
        assert "33 91" in out
        pid = re.search(r"shell=(\d+)", out).group(1)

    async with connect(base + "&sessionId=work", open_timeout=20) as ws:
        await ws.send('echo "$KEPT:$$"\n')
        await collect_text(ws, f"still-here:{pid}")

    async with connect(base + "&sessionId=other", open_timeout=20) as ws:
        await ws.send('echo "[$KEPT]:$$"\n')
        out = await collect_text(ws, r"\[\]:\d+")
        assert f"[]:{pid}" not in out


async def test_pty_dialect_closes_with_exit(sandbox: dict, local_backend: Any) -> None:
    url = f"{ws_base(local_backend)}/pty/{sandbox['id']}/ws?token={local_backend.token}&sessionId=leaving"
    async with connect(url, open_timeout=20) as ws:
        await ws.send("exit 3\n")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(20):
                while True:
                    await ws.recv()
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1000, "exit")


async def test_binary_dialect_replay_resize_and_exit_code(sandbox: dict, local_backend: Any) -> None:
    url = f"{ws_base(local_backend)}/v1/sandboxes/{sandbox['id']}/ws/terminal?t={local_backend.token}&session=cf-1"
    ws, replay = await open_binary(url)
    async with ws:
        await ws.send(json.dumps({"type": "resize", "cols": 120, "rows": 40}))
        await ws.send(b'stty size; echo "first""-visit"\n')
        out, _ = await collect_binary(ws, b"first-visit\r\n")
        assert b"40 120" in out

    ws, replay = await open_binary(url)
    async with ws:
        assert b"first-visit" in replay  # what was on screen comes back before "ready"
        await ws.send(json.dumps({"type": "resize", "cols": 0, "rows": 10}))
        await ws.send("not json")
        await ws.send(b"exit 5\n")
        statuses: list[dict] = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(20):
                while True:
                    frame = await ws.recv()
                    if isinstance(frame, str):
                        statuses.append(json.loads(frame))
        assert closed.value.rcvd.code == 1000
        assert [s["type"] for s in statuses] == ["error", "error", "exit"]
        assert statuses[-1]["code"] == 5


async def test_no_shell_without_a_valid_token(sandbox: dict, local_backend: Any) -> None:
    sid = sandbox["id"]
    base = ws_base(local_backend)
    before = len(pids_with_env(f"POCKETENV_SANDBOX_ID={sid}".encode()))
    header = {"Authorization": "Bearer forged"}
    for url, headers in (
        (f"{base}/pty/{sid}/ws?sessionId=x", None),
        (f"{base}/pty/{sid}/ws?token=forged", None),
        (f"{base}/v1/sandboxes/{sid}/ws/terminal", header),
        (f"{base}/v1/sandboxes/{sid}/ws/terminal?t={local_backend.token}x", None),
    ):
        async with connect(url, open_timeout=20, additional_headers=headers) as ws:
            with contextlib.suppress(websockets.ConnectionClosed):  # it may be closed already
                await ws.send(b"touch /tmp/should-not-exist\n")
            frames = []
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(20):
                    while True:
                        frames.append(await ws.recv())
            assert closed.value.rcvd.code == 1008
            assert all(isinstance(f, str) and json.loads(f)["type"] == "error" for f in frames)
    assert len(pids_with_env(f"POCKETENV_SANDBOX_ID={sid}".encode())) == before


async def test_token_in_header_and_stopped_sandbox(api: Api, sandbox: dict, local_backend: Any) -> None:
    sid = sandbox["id"]
    url = f"{ws_base(local_backend)}/v1/sandboxes/{sid}/ws/terminal?session=hdr"
    ws = await connect(url, open_timeout=20, additional_headers=local_backend.headers)
    async with ws:
        assert json.loads(await ws.recv()) == {"type": "ready"}
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    async with connect(url, open_timeout=20, additional_headers=local_backend.headers) as ws:
        assert json.loads(await ws.recv()) == {"type": "error", "message": "Sandbox is not running"}
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 20)
    async with connect(f"{ws_base(local_backend)}/pty/{sid}/ws?token={local_backend.token}", open_timeout=20) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 20)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1011, "Sandbox is not running")


async def test_exec_background_server_keeps_answering(api: Api, sandbox: dict) -> None:
    port = 8765
    result = await api.exec(sandbox["id"], f"python3 -m http.server {port} --bind 127.0.0.1 & echo started")
    assert (result["stdout"], result["exitCode"]) == ("started\n", 0)
    # The sandbox has its own network: its server is reached through the preview proxy.
    exposed = await api.ok(await api.post("sandbox.exposePort", {"port": port}, id=sandbox["id"]))
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(300):
            if (await client.get(exposed["previewUrl"])).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the sandbox's server never answered through its preview")
    later = await api.exec(sandbox["id"], f"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/")
    assert later["stdout"] == "200"
    failing = await api.exec(sandbox["id"], "echo oops >&2; exit 9")
    assert (failing["stderr"], failing["exitCode"]) == ("oops\n", 9)


async def test_bwrap_sandbox_cannot_read_host_secrets(api: Api, sandbox: dict, local_backend: Any) -> None:
    if sandbox.get("isolation") != "bwrap":
        pytest.skip("this backend runs without bubblewrap (its record says isolation: none)")
    data_dir = local_backend.data_dir.resolve()
    probe = await api.exec(
        sandbox["id"],
        f"ls '{data_dir}' 2>&1; cat '{data_dir}/token.json' 2>&1; "
        f"grep -rl '{local_backend.token}' / --exclude-dir=proc --exclude-dir=usr 2>/dev/null; true",
    )
    assert local_backend.token not in probe["stdout"]
    assert probe["stdout"].count("No such file or directory") == 2
