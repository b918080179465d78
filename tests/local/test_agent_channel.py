"""The server's end of the agent protocol, against an 'agent' that breaks every rule.

A compromised agent is the sandbox itself, so its packets are hostile input: the channel
must never raise into the server, never keep an fd it did not ask for, and end itself (so
the runtime stops the sandbox) on anything that is not the protocol.
"""

from __future__ import annotations

import array
import asyncio
import json
import os
import socket

import pytest

from pocketenv_tui.local.sandbox.agent_channel import AgentChannel, AgentLost
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def send(sock: socket.socket, message: object, fds: list[int] | None = None) -> None:
    data = message if isinstance(message, bytes) else json.dumps(message).encode()
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sock.sendmsg([data], ancillary)


async def request_id(agent: socket.socket) -> int:
    data = await asyncio.get_running_loop().sock_recv(agent, 65536)
    return json.loads(data)["id"]


@pytest.fixture
async def pair():
    server, agent = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    agent.setblocking(False)
    lost: list[str] = []
    channel = AgentChannel(server, on_lost=lost.append)
    yield channel, agent, lost
    channel.close()
    agent.close()


async def test_unrequested_answers_and_fds_are_dropped(pair) -> None:
    channel, agent, lost = pair
    before = open_fds()
    r, w = os.pipe()
    send(agent, {"id": 999, "ok": True}, [r, w])  # nobody asked
    send(agent, {"event": "exit", "spawn": 12345, "code": 0}, [r])  # no such process
    send(agent, {"event": "ready"})
    os.close(r)
    os.close(w)
    await asyncio.wait_for(channel.ready, 5)
    await asyncio.sleep(0.05)
    assert open_fds() <= before and not channel.closed and lost == []


async def test_a_connect_answer_must_carry_a_socket(pair) -> None:
    channel, agent, _ = pair
    call = asyncio.ensure_future(channel.connect(8080))
    ident = await request_id(agent)
    before = open_fds()
    r, w = os.pipe()
    send(agent, {"id": ident, "ok": True}, [r])  # a pipe where a socket belongs
    os.close(r)
    with pytest.raises(SandboxRuntimeError, match="no connection"):
        await asyncio.wait_for(call, 5)
    os.close(w)
    assert open_fds() <= before


async def test_a_spawn_answer_without_a_pid_ends_the_channel(pair) -> None:
    channel, agent, lost = pair
    call = asyncio.ensure_future(channel.spawn(["true"]))
    send(agent, {"id": await request_id(agent), "ok": True, "pid": "not a number"})
    with pytest.raises(AgentLost):
        await asyncio.wait_for(call, 5)
    assert channel.closed and lost and "malformed" in lost[0]


@pytest.mark.parametrize("packet", [b"not json", b"[1, 2, 3]", b"{" * 5000, b"\xff\xfe"])
async def test_garbage_ends_the_channel_and_fails_what_waits(pair, packet: bytes) -> None:
    channel, agent, lost = pair
    call = asyncio.ensure_future(channel.call("signal", spawn=1, sig=9))
    await request_id(agent)
    send(agent, packet)
    with pytest.raises(AgentLost):
        await asyncio.wait_for(call, 5)
    assert channel.closed and len(lost) == 1
    with pytest.raises(AgentLost):
        await channel.call("signal", spawn=1, sig=9)


async def test_an_oversized_packet_ends_the_channel(pair) -> None:
    channel, agent, lost = pair
    agent.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    send(agent, json.dumps({"event": "ready", "pad": "x" * 200_000}).encode())
    for _ in range(100):
        if channel.closed:
            break
        await asyncio.sleep(0.01)
    assert channel.closed and "oversized" in lost[0]


async def test_exit_codes_are_bounded_and_a_lost_agent_ends_every_process(pair) -> None:
    channel, agent, _ = pair
    first = asyncio.ensure_future(channel.spawn(["a"]))
    ident = await request_id(agent)
    send(agent, {"id": ident, "ok": True, "pid": 7})
    send(agent, {"event": "exit", "spawn": ident, "code": 10**9})
    process, _ = await first
    assert await asyncio.wait_for(process.wait(), 5) == 255
    second = asyncio.ensure_future(channel.spawn(["b"]))
    ident = await request_id(agent)
    send(agent, {"id": ident, "ok": True, "pid": 8})
    process, _ = await second
    agent.close()  # the agent is gone: its processes went with the sandbox
    assert await asyncio.wait_for(process.wait(), 5) == 137
