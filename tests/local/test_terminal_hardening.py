"""Terminal WebSockets under hostile frames, terminal tokens, and the shell cap per sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from tests.local.helpers import Api
from tests.local.test_terminals import collect_binary, collect_text, open_binary, ws_base

pytestmark = pytest.mark.timeout(120)


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


# Text frames a hostile or buggy client might send as control messages.
BAD_CONTROL_FRAMES = {
    "deep-object": deep_object(5000),
    "deep-but-small": deep_object(100),
    "deep-array-in-resize": '{"type":"resize","cols":' + "[" * 5000 + "]" * 5000 + "}",
    "array": "[1, 2]",
    "string": '"resize"',
    "number": "42",
    "null": "null",
    "huge": '{"type":"resize","cols":80,"rows":24,"pad":"' + "x" * 1_000_000 + '"}',
    "surrogate-in-type": '{"type":"resize\\udcff","cols":80,"rows":24}',
    "surrogate-in-key": '{"type":"resize","\\ud800":1,"cols":80,"rows":24}',
    "not-json": "{nope",
    "unknown-type": '{"type":"teleport"}',
    "bool-size": '{"type":"resize","cols":true,"rows":24}',
}


async def next_status(ws: ClientConnection, within: float = 20.0) -> dict[str, Any]:
    """The next JSON status frame, skipping terminal output."""
    async with asyncio.timeout(within):
        while True:
            frame = await ws.recv()
            if isinstance(frame, str):
                return json.loads(frame)


async def closed_with(ws: ClientConnection, within: float = 20.0) -> tuple[websockets.ConnectionClosed, list[Any]]:
    """Read until the server closes; the close and the frames met on the way."""
    frames: list[Any] = []
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(within):
            while True:
                frames.append(await ws.recv())
    return closed.value, frames


async def test_binary_dialect_answers_malformed_control_frames_and_goes_on(sandbox: dict, local_backend: Any) -> None:
    url = f"{ws_base(local_backend)}/v1/sandboxes/{sandbox['id']}/ws/terminal?t={local_backend.token}&session=hostile"
    ws, _ = await open_binary(url)
    async with ws:
        for i, (name, frame) in enumerate(BAD_CONTROL_FRAMES.items()):
            await ws.send(frame)
            await ws.send(f'echo "al""ive-{i}"\n'.encode())
            _, statuses = await collect_binary(ws, f"alive-{i}".encode())
            errors = [s for s in statuses if s.get("type") == "error"]
            assert len(errors) == 1, (name, statuses)
            assert errors[0]["message"].startswith("Invalid"), (name, errors)
        messages = {}
        for name in ("deep-but-small", "huge", "array", "surrogate-in-type", "not-json"):
            await ws.send(BAD_CONTROL_FRAMES[name])
            messages[name] = (await next_status(ws))["message"]
        assert "nested deeper than" in messages["deep-but-small"]
        assert "at most 4096" in messages["huge"]
        assert "JSON object" in messages["array"]
        assert "lone surrogate" in messages["surrogate-in-type"]
        assert "not JSON" in messages["not-json"]
        # A good resize still works after all that.
        await ws.send(json.dumps({"type": "resize", "cols": 101, "rows": 31}))
        await ws.send(b'stty size; echo "si""zed"\n')
        out, _ = await collect_binary(ws, b"sized\r\n")
        assert b"31 101" in out


async def test_pty_dialect_types_what_is_not_a_resize(sandbox: dict, local_backend: Any) -> None:
    url = f"{ws_base(local_backend)}/pty/{sandbox['id']}/ws?token={local_backend.token}&sessionId=hostile"
    frames = {name: BAD_CONTROL_FRAMES[name] for name in (
        "deep-but-small", "array", "number", "surrogate-in-type", "surrogate-in-key", "not-json",
    )}
    # Deep enough for the JSON parser's recursion limit (about 1,000), small enough to type.
    frames["deep-object"] = deep_object(1500)
    frames["deep-array-in-resize"] = '{"type":"resize","cols":' + "[" * 1500 + "]" * 1500 + "}"
    frames["huge"] = '{"type":"resize","pad":"' + "x" * 20_000 + '"}'
    async with connect(url, open_timeout=20, max_size=None) as ws:
        # cat takes the typed frames, line by line, so the shell's line editor is not in the way.
        await ws.send('echo "re""ady"; cat > /dev/null; echo "ca""t-done"\n')
        await collect_text(ws, "ready", within=30)
        for frame in frames.values():
            await ws.send(frame)
            await ws.send("\n")
        await ws.send("\x04")  # end of input for cat: the shell is back
        await collect_text(ws, "cat-done", within=60)
        await ws.send(json.dumps({"type": "resize", "cols": 99, "rows": 29}))
        await ws.send('stty size; echo "si""zed"\n')
        assert "29 99" in await collect_text(ws, "sized")


async def test_terminal_token_opens_both_dialects(api: Api, sandbox: dict, local_backend: Any) -> None:
    token = (await api.ok(await api.get("actor.getTerminalToken")))["token"]
    base = ws_base(local_backend)
    sid = sandbox["id"]
    for t in (token, local_backend.token):  # the login token still opens terminals too
        ws, _ = await open_binary(f"{base}/v1/sandboxes/{sid}/ws/terminal?t={t}&session=tok")
        async with ws:
            await ws.send(b'echo "via""-binary"\n')
            await collect_binary(ws, b"via-binary")
        async with connect(f"{base}/pty/{sid}/ws?token={t}&sessionId=tok2", open_timeout=20) as ws:
            await ws.send('echo "via""-pty"\n')
            await collect_text(ws, "via-pty")
    async with connect(f"{base}/pty/{sid}/ws?token={token}x", open_timeout=20) as ws:
        closed, _ = await closed_with(ws)
        assert closed.rcvd.code == 1008


@asynccontextmanager
async def backend_api(backend: Any) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, timeout=60) as client:
        yield Api(client, backend.public_key)


async def test_shells_per_sandbox_are_capped(make_backend: Callable[..., Any]) -> None:
    backend = make_backend(env={"POCKETENV_MAX_SHELLS": "2"})
    async with backend_api(backend) as api:
        sid = (await api.create_running())["id"]
        base = ws_base(backend)
        pty = f"{base}/pty/{sid}/ws?token={backend.token}&sessionId="
        binary = f"{base}/v1/sandboxes/{sid}/ws/terminal?t={backend.token}&session="

        first = await connect(pty + "one", open_timeout=20)
        second, _ = await open_binary(binary + "two")
        try:
            await first.send('echo "o""ne"\n')
            await collect_text(first, "one")
            # A third key is refused in both dialects, with 1013 and a reason.
            async with connect(pty + "three", open_timeout=20) as ws:
                closed, frames = await closed_with(ws)
            assert closed.rcvd.code == 1013 and "Too many shells" in closed.rcvd.reason, closed
            assert frames == []
            async with connect(binary + "four", open_timeout=20) as ws:
                closed, frames = await closed_with(ws)
            assert closed.rcvd.code == 1013
            assert [json.loads(f)["type"] for f in frames] == ["error"]
            assert "Too many shells" in json.loads(frames[0])["message"]
            # Re-attaching to a live key is fine at the cap, alongside the first client.
            async with connect(pty + "one", open_timeout=20) as again:
                await again.send('echo "ag""ain"\n')
                await collect_text(again, "again")
            # A shell that exits frees its slot.
            await second.send(b"exit\n")
            closed, _ = await closed_with(second)
            assert closed.rcvd.code == 1000
            ws, _ = await open_binary(binary + "five")
            async with ws:
                await ws.send(b'echo "fi""ve"\n')
                await collect_binary(ws, b"five")
        finally:
            await first.close()
            await second.close()


async def test_max_shells_flag_wins_over_the_environment(make_backend: Callable[..., Any]) -> None:
    backend = make_backend(env={"POCKETENV_MAX_SHELLS": "5"}, args=["--max-shells", "1"])
    async with backend_api(backend) as api:
        sid = (await api.create_running())["id"]
        url = f"{ws_base(backend)}/pty/{sid}/ws?token={backend.token}&sessionId="
        async with connect(url + "a", open_timeout=20) as only:
            await only.send('echo "o""nly"\n')
            await collect_text(only, "only")
            async with connect(url + "b", open_timeout=20) as ws:
                closed, _ = await closed_with(ws)
            assert closed.rcvd.code == 1013
