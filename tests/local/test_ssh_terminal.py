"""The local backend's ssh family over real HTTP and WebSockets: /ssh/connect, /ssh/{id}/ws, /ssh/disconnect.

On identities: the local backend has one user per data dir, and its token verifier accepts
only that user's DID (a token for another DID, even one signed with the backend's own
secret, is refused as invalid). So "another DID's sessionId" cannot be presented with a
token the backend believes; what is tested is that such a token gets nothing (401 and close
1008), on top of which the server also checks that a session's DID is the caller's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect

from pocketenv_tui.local.state.identity import sign_jwt
from tests.local.test_terminal_hardening import BAD_CONTROL_FRAMES, deep_object
from tests.local.test_terminals import ws_base
from tests.terminal.conftest import create_running_sandbox, delete_sandbox

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def ssh_sandbox(local_backend) -> Iterator[str]:
    sandbox_id = create_running_sandbox(local_backend, "daytona", name="ssh")
    try:
        yield sandbox_id
    finally:
        delete_sandbox(local_backend, sandbox_id)


@pytest.fixture
async def http(local_backend) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=60) as client:
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ssh_connect(http: httpx.AsyncClient, token: str, sandbox: str | None, body: Any = None, **extra: Any) -> httpx.Response:
    headers = auth(token)
    if sandbox is not None:
        headers["X-Sandbox-Id"] = sandbox
    if body is None:
        body = {"cols": 100, "rows": 30}
    if isinstance(body, bytes | str):
        return await http.post("/ssh/connect", content=body, headers={**headers, "Content-Type": "application/json"}, **extra)
    return await http.post("/ssh/connect", json=body, headers=headers, **extra)


async def new_session(http: httpx.AsyncClient, backend: Any, sandbox: str, **options: Any) -> str:
    response = await ssh_connect(http, backend.token, sandbox, **options)
    assert response.status_code == 200, response.text
    session_id = response.json()["sessionId"]
    assert str(uuid.UUID(session_id)) == session_id
    return session_id


def ws_url(backend: Any, session_id: str, token: str | None = None) -> str:
    return f"{ws_base(backend)}/ssh/{session_id}/ws?token={token or backend.token}"


async def output_until(ws: ClientConnection, needle: bytes, within: float = 30.0) -> bytes:
    """Decoded output (every frame base64 text) until ``needle`` shows up."""
    seen = b""
    async with asyncio.timeout(within):
        while needle not in seen:
            frame = await ws.recv()
            assert isinstance(frame, str), "the ssh family sends text frames"
            seen += base64.b64decode(frame, validate=True)
    return seen


async def close_of(ws: ClientConnection, within: float = 30.0) -> websockets.ConnectionClosed:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    return closed.value


@asynccontextmanager
async def attached(backend: Any, session_id: str) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(backend, session_id), open_timeout=20, max_size=None) as ws:
        yield ws


async def test_connect_then_attach_types_resizes_and_ends_with_closed(http, local_backend, ssh_sandbox) -> None:
    session_id = await new_session(http, local_backend, ssh_sandbox, body={"cols": 100, "rows": 30})
    async with attached(local_backend, session_id) as ws:
        await ws.send('stty size; echo "sh""ell=$$"\n')
        out = await output_until(ws, b"shell=")
        assert b"30 100" in out  # the size asked for in the POST
        await ws.send(json.dumps({"type": "resize", "cols": 91, "rows": 33}))
        await ws.send(b'stty size; echo "re""sized"\n')  # binary frames are keystrokes too
        assert b"33 91" in await output_until(ws, b"resized")
        await ws.send("exit 4\n")
        closed = await close_of(ws)
    assert (closed.rcvd.code, closed.rcvd.reason) == (1000, "closed")
    # The shell is over: its id now reaches nothing.
    async with attached(local_backend, session_id) as ws:
        closed = await close_of(ws)
    assert (closed.rcvd.code, closed.rcvd.reason) == (1011, "Session not found")


async def test_the_sandbox_is_named_by_id_or_name(http, local_backend, ssh_sandbox) -> None:
    name = (await http.get("/xrpc/io.pocketenv.sandbox.getSandbox", params={"id": ssh_sandbox}, headers=auth(local_backend.token))).json()["sandbox"]["name"]
    session_id = await new_session(http, local_backend, name)
    async with attached(local_backend, session_id) as ws:
        await ws.send('echo "by""-name"\n')
        await output_until(ws, b"by-name")
    assert (await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(local_backend.token))).status_code == 200


async def test_unknown_session_and_bad_tokens_are_refused(http, local_backend, ssh_sandbox) -> None:
    async with attached(local_backend, str(uuid.uuid4())) as ws:
        closed = await close_of(ws)
    assert (closed.rcvd.code, closed.rcvd.reason) == (1011, "Session not found")

    session_id = await new_session(http, local_backend, ssh_sandbox)
    # Signed with the backend's own secret, but for a DID that is not its user.
    secret = bytes.fromhex((local_backend.data_dir / "jwt_secret").read_text().strip())
    now = int(time.time())
    other = sign_jwt({"did": "did:local:someone-else", "iat": now, "exp": now + 3600}, secret)
    for token in ("not-a-token", other, local_backend.token + "x"):
        async with connect(ws_url(local_backend, session_id, token), open_timeout=20) as ws:
            closed = await close_of(ws)
        assert (closed.rcvd.code, closed.rcvd.reason) == (1008, "Invalid token")
        assert (await ssh_connect(http, token, ssh_sandbox)).status_code == 401
        gone = await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(token))
        assert gone.status_code == 401
    assert (await http.post("/ssh/connect", headers={"X-Sandbox-Id": ssh_sandbox}, json={})).status_code == 401
    async with connect(f"{ws_base(local_backend)}/ssh/{session_id}/ws", open_timeout=20) as ws:
        closed = await close_of(ws)
    assert closed.rcvd.code == 1008
    # None of that touched the session.
    async with attached(local_backend, session_id) as ws:
        await ws.send('echo "st""ill"\n')
        await output_until(ws, b"still")
    await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(local_backend.token))


async def test_a_terminal_token_makes_and_opens_sessions_too(http, local_backend, ssh_sandbox) -> None:
    got = await http.get("/xrpc/io.pocketenv.actor.getTerminalToken", headers=auth(local_backend.token))
    token = got.json()["token"]
    response = await ssh_connect(http, token, ssh_sandbox)
    assert response.status_code == 200, response.text
    session_id = response.json()["sessionId"]
    async with connect(ws_url(local_backend, session_id, token), open_timeout=20) as ws:
        await ws.send('echo "via""-terminal-token"\n')
        await output_until(ws, b"via-terminal-token")
    assert (await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(token))).status_code == 200


async def test_connect_refuses_bad_requests_with_reasons(http, local_backend, ssh_sandbox) -> None:
    token = local_backend.token
    cases = [
        (await ssh_connect(http, token, None), 400, "X-Sandbox-Id"),
        (await ssh_connect(http, token, "no-such-sandbox"), 404, "Sandbox not found"),
        (await ssh_connect(http, token, ssh_sandbox, body={"cols": 0, "rows": 24}), 400, "cols and rows"),
        (await ssh_connect(http, token, ssh_sandbox, body={"cols": True, "rows": 24}), 400, "cols and rows"),
        (await ssh_connect(http, token, ssh_sandbox, body="{nope"), 400, "not JSON"),
        (await ssh_connect(http, token, ssh_sandbox, body="[1,2]"), 400, "JSON object"),
        (await ssh_connect(http, token, ssh_sandbox, body=deep_object(100)), 400, "nested deeper"),
        (await ssh_connect(http, token, ssh_sandbox, body=BAD_CONTROL_FRAMES["huge"]), 413, "at most 4096"),
    ]
    for response, status, says in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert says in body["message"] and body["error"], body
    # An empty body means 80x24, as upstream defaults.
    session_id = await new_session(http, local_backend, ssh_sandbox, body=b"")
    async with attached(local_backend, session_id) as ws:
        await ws.send('stty size; echo "de""fault"\n')
        assert b"24 80" in await output_until(ws, b"default")
    await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(token))


async def test_a_stopped_sandbox_gets_no_session(http, local_backend) -> None:
    sandbox_id = create_running_sandbox(local_backend, "deno", name="ssh-stop")
    try:
        stopped = await http.post("/xrpc/io.pocketenv.sandbox.stopSandbox", params={"id": sandbox_id}, headers=auth(local_backend.token))
        assert stopped.status_code == 200, stopped.text
        response = await ssh_connect(http, local_backend.token, sandbox_id)
        assert response.status_code == 409 and response.json()["message"] == "Sandbox is not running"
    finally:
        delete_sandbox(local_backend, sandbox_id)


async def test_disconnect_ends_the_shell(http, local_backend, ssh_sandbox) -> None:
    session_id = await new_session(http, local_backend, ssh_sandbox)
    shells = f"/xrpc/io.pocketenv.sandbox.getShells?id={ssh_sandbox}"
    async with attached(local_backend, session_id) as ws:
        await ws.send('echo "sle""eping"; sleep 600\n')
        await output_until(ws, b"sleeping")
        listed = (await http.get(shells, headers=auth(local_backend.token))).json()["shells"]
        assert f"ssh-{session_id}" in [s["key"] for s in listed]
        ended = await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(local_backend.token))
        assert (ended.status_code, ended.json()) == (200, {})
        closed = await close_of(ws)
    assert (closed.rcvd.code, closed.rcvd.reason) == (1000, "closed")
    listed = (await http.get(shells, headers=auth(local_backend.token))).json()["shells"]
    assert f"ssh-{session_id}" not in [s["key"] for s in listed]
    again = await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(local_backend.token))
    assert (again.status_code, again.json()) == (404, {"error": "Session not found"})


async def test_reattaching_replays_the_output_so_far_bounded(http, local_backend, ssh_sandbox) -> None:
    session_id = await new_session(http, local_backend, ssh_sandbox)
    async with attached(local_backend, session_id) as ws:
        await ws.send('echo "first-""mark"\n')
        await output_until(ws, b"first-mark")
    async with attached(local_backend, session_id) as ws:
        # The replay comes first, before anything typed now is echoed.
        await ws.send('echo "se""cond"\n')
        seen = await output_until(ws, b"second")
        assert seen.index(b"first-mark") < seen.index(b'echo "se""cond"')
        # Far more output than the replay buffer holds...
        await ws.send("head -c 600000 /dev/zero | tr '\\0' x; echo; echo \"flo\"\"od-done\"\n")
        await output_until(ws, b"flood-done", within=60)
    async with attached(local_backend, session_id) as ws:
        await ws.send('echo "af""ter"\n')
        seen = await output_until(ws, b"after")
        # ...is replayed only as far as the 256 KiB ring goes (plus an 8-byte screen switch).
        replay = seen[: seen.index(b'echo "af""ter"')]
        assert b"flood-done" in replay and len(replay) <= 256 * 1024 + 8
        assert b"first-mark" not in replay
    await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(local_backend.token))


async def test_hostile_frames_never_end_the_session(http, local_backend, ssh_sandbox) -> None:
    session_id = await new_session(http, local_backend, ssh_sandbox)
    frames = {name: BAD_CONTROL_FRAMES[name] for name in (
        "deep-but-small", "array", "number", "surrogate-in-type", "surrogate-in-key", "not-json",
        "unknown-type", "bool-size",
    )}
    # Deep enough for the JSON parser's recursion limit (about 1,000), small enough to type.
    frames["deep-object"] = deep_object(1500)
    frames["deep-array-in-resize"] = '{"type":"resize","cols":' + "[" * 1500 + "]" * 1500 + "}"
    frames["huge"] = '{"type":"resize","pad":"' + "x" * 20_000 + '"}'
    async with attached(local_backend, session_id) as ws:
        # cat takes the typed frames, line by line, so the shell's line editor is not in the way.
        await ws.send('echo "re""ady"; cat > /dev/null; echo "ca""t-done"\n')
        await output_until(ws, b"ready")
        for frame in frames.values():
            await ws.send(frame)
            await ws.send("\n")
        await ws.send(b"\xff\xfe not utf-8 \n")
        await ws.send("\x04")
        await output_until(ws, b"cat-done", within=60)
        await ws.send(json.dumps({"type": "resize", "cols": 99, "rows": 29}))
        await ws.send('stty size; echo "si""zed"\n')
        assert b"29 99" in await output_until(ws, b"sized")
    await http.delete(f"/ssh/disconnect/{session_id}", headers=auth(local_backend.token))


async def test_ssh_sessions_count_against_the_shell_cap(make_backend: Callable[..., Any]) -> None:
    backend = make_backend(env={"POCKETENV_MAX_SHELLS": "1"})
    sandbox_id = create_running_sandbox(backend, "daytona", name="ssh-cap")
    async with httpx.AsyncClient(base_url=backend.url, timeout=60) as http:
        first = await new_session(http, backend, sandbox_id)
        refused = await ssh_connect(http, backend.token, sandbox_id)
        assert refused.status_code == 503 and "Too many shells" in refused.json()["message"]
        # A pty shell is refused too: the ssh session holds the only place.
        async with connect(f"{ws_base(backend)}/pty/{sandbox_id}/ws?token={backend.token}", open_timeout=20) as ws:
            closed = await close_of(ws)
        assert closed.rcvd.code == 1013
        assert (await http.delete(f"/ssh/disconnect/{first}", headers=auth(backend.token))).status_code == 200
        await new_session(http, backend, sandbox_id)
