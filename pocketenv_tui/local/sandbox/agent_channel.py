"""The server's end of a sandbox agent's socket (the protocol is in ``inside/pocketenv_agent.py``).

The agent runs as the sandbox and so must be treated as the sandbox: every packet from it is
hostile until checked. Answers must match a request in flight and have the expected shape;
file descriptors are kept only where an answer is meant to carry one and only of the
expected kind (a terminal for a PTY, a socket for a connection); everything else is closed.
A packet that breaks the protocol (truncated, not JSON, not an object) ends the channel: the
runtime then stops the sandbox.

The agent's own environment is the sandbox's as it was at start. Variables and secrets change
while a sandbox runs, so every spawn carries :attr:`AgentChannel.env_changes` (what differs
from that start: new or changed values, and names to unset) under the request's own ``env``:
every new process sees the records as they are now, whoever starts it (exec, shells, services,
tools), and the packet stays small while the records stay as they were at start.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import errno
import itertools
import json
import os
import socket
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError

MAX_PACKET = 64 * 1024
AGENT_MAX_PACKET = 1 << 20  # the largest request the agent reads whole (its MAX_PACKET)
MAX_FDS = 4
LOST_EXIT_CODE = 137  # what a process reports when its sandbox went away under it


@dataclass(frozen=True)
class EnvChanges:
    """How the environment of new processes differs from the agent's own (set at start)."""

    values: dict[str, str] = field(default_factory=dict)  # new or changed since start
    unset: frozenset[str] = frozenset()  # present at start, gone now

    def apply(self, env: dict[str, str] | None) -> tuple[dict[str, str], list[str]]:
        """(env, unset) of one spawn: the request's own ``env`` wins over the changes."""
        own = env or {}
        return {**self.values, **own}, sorted(name for name in self.unset if name not in own)


class AgentLost(SandboxRuntimeError):
    """The agent is gone (the sandbox stopped) or broke the protocol."""


class RemoteProcess:
    """A process the agent started; ``pid`` is its pid inside the sandbox."""

    def __init__(self, channel: AgentChannel, spawn_id: int, pid: int, exited: asyncio.Future[int]) -> None:
        self.channel = channel
        self.spawn_id = spawn_id
        self.pid = pid
        self._exited = exited

    @property
    def returncode(self) -> int | None:
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    async def wait_within(self, seconds: float) -> int | None:
        if self._exited.done():
            return self._exited.result()
        try:
            return await asyncio.wait_for(asyncio.shield(self._exited), max(seconds, 0.0))
        except TimeoutError:
            return None

    async def signal(self, sig: int) -> None:
        """Signal the process, its group and its descendants (nothing if it is gone)."""
        if self._exited.done():
            return
        with contextlib.suppress(SandboxRuntimeError):
            await self.channel.call("signal", spawn=self.spawn_id, sig=int(sig))


class AgentChannel:
    def __init__(self, sock: socket.socket, on_lost: Callable[[str], None] | None = None) -> None:
        self.sock = sock
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            # Room for a spawn that carries a large environment (the kernel caps it at
            # wmem_max; the agent reads packets of up to 1 MiB).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[tuple[dict[str, Any], list[int]]], str]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self.ready: asyncio.Future[None] = self._loop.create_future()
        self.closed = False
        self.lost_reason: str | None = None
        self._on_lost = on_lost
        self.env_changes = EnvChanges()
        self._loop.add_reader(sock.fileno(), self._on_readable)

    # -- requests ---------------------------------------------------------------------------

    async def call(self, op: str, fds: list[int] | None = None, *, expect_fd: str | None = None, **fields: Any) -> tuple[dict[str, Any], list[int]]:
        """Send a request and wait for its answer: (answer, fds). Raises on ``ok: false``.

        ``expect_fd`` ("tty" or "socket") is the kind of fd the answer must carry.
        """
        _, _, reply, got = await self._request(op, fds or [], expect_fd, fields, track_exit=False)
        return reply, got

    async def _request(
        self, op: str, fds: list[int], expect_fd: str | None, fields: dict[str, Any], *, track_exit: bool
    ) -> tuple[int, asyncio.Future[int] | None, dict[str, Any], list[int]]:
        """(request id, its exit future when ``track_exit``, answer, fds)."""
        if self.closed:
            raise AgentLost(self.lost_reason or "the sandbox is not running")
        ident = next(self._ids)
        answer: asyncio.Future[tuple[dict[str, Any], list[int]]] = self._loop.create_future()
        self._pending[ident] = (answer, expect_fd or "")
        exit_future: asyncio.Future[int] | None = None
        if track_exit:
            # Registered before sending: the exit can come right behind the answer.
            exit_future = self._exits[ident] = self._loop.create_future()
        try:
            await self._send(json.dumps({"op": op, "id": ident, **fields}).encode(), fds)
            reply, got = await answer
        except BaseException:
            self._pending.pop(ident, None)
            self._exits.pop(ident, None)
            if exit_future is not None and not exit_future.done():
                exit_future.cancel()
            raise
        if not reply.get("ok"):
            self._exits.pop(ident, None)
            for fd in got:
                os.close(fd)
            error = reply.get("error")
            raise SandboxRuntimeError(str(error)[:500] if error else f"the sandbox refused {op}")
        return ident, exit_future, reply, got

    async def _send(self, data: bytes, fds: list[int]) -> None:
        if len(data) > AGENT_MAX_PACKET:
            raise self._too_large(data)
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
        while True:
            try:
                self.sock.sendmsg([data], ancillary)
                return
            except BlockingIOError:
                writable: asyncio.Future[None] = self._loop.create_future()
                self._loop.add_writer(self.sock.fileno(), _resolve, writable)
                try:
                    await writable
                finally:
                    self._loop.remove_writer(self.sock.fileno())
            except OSError as exc:
                if exc.errno == errno.EMSGSIZE:
                    raise self._too_large(data) from None  # nothing was sent: the channel is fine
                self._lose(f"the sandbox's agent is gone ({exc.strerror or exc})")
                raise AgentLost(self.lost_reason or "the sandbox is not running") from None

    @staticmethod
    def _too_large(data: bytes) -> SandboxRuntimeError:
        return SandboxRuntimeError(
            f"the request is too large for the sandbox's agent ({len(data)} bytes); variables and "
            "secrets this large apply at the next start of the sandbox"
        )

    async def spawn(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        stdin: int | None = None,
        stdout: int | None = None,
        stderr: int | None = None,
        pty: tuple[int, int] | None = None,
    ) -> tuple[RemoteProcess, int | None]:
        """Start ``argv`` in the sandbox: (the process, the PTY master fd when ``pty`` given)."""
        fds: list[int] = []
        stdio: list[int | None] = []
        for fd in (stdin, stdout, stderr):
            if fd is None:
                stdio.append(None)
            else:
                stdio.append(len(fds))
                fds.append(fd)
        spawn_env, unset = self.env_changes.apply(env)
        fields: dict[str, Any] = {"argv": argv, "env": spawn_env, "cwd": cwd, "stdio": stdio}
        if unset:
            fields["unset"] = unset
        if pty is not None:
            fields["pty"] = {"cols": pty[0], "rows": pty[1]}
        ident, exited, reply, got = await self._request("spawn", fds, "tty" if pty else None, fields, track_exit=True)
        pid = reply.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool) or (pty is not None and len(got) != 1):
            for fd in got:
                os.close(fd)
            self._lose("the sandbox's agent answered a spawn with a malformed reply")
            raise AgentLost(self.lost_reason or "protocol error")
        assert exited is not None
        return RemoteProcess(self, ident, pid, exited), (got[0] if pty is not None else None)

    async def connect(self, port: int) -> socket.socket:
        """A TCP connection to ``port`` on the sandbox's own loopback."""
        _, got = await self.call("connect", expect_fd="socket", port=port)
        if len(got) != 1:
            for fd in got:
                os.close(fd)
            raise SandboxRuntimeError("the sandbox's agent sent no connection")
        return socket.socket(fileno=got[0])

    # -- answers ----------------------------------------------------------------------------

    def _on_readable(self) -> None:
        for _ in range(64):  # bounded, so a chatty agent cannot starve the loop
            try:
                data, ancillary, flags, _ = self.sock.recvmsg(
                    MAX_PACKET, socket.CMSG_SPACE(MAX_FDS * 4), socket.MSG_CMSG_CLOEXEC
                )
            except BlockingIOError:
                return
            except OSError as exc:
                self._lose(f"the sandbox's agent is gone ({exc.strerror or exc})")
                return
            fds = _fds_of(ancillary)
            if not data and not fds:
                self._lose("the sandbox stopped")
                return
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                _close_all(fds)
                self._lose("the sandbox's agent sent an oversized packet")
                return
            try:
                message = json.loads(data)
            except (ValueError, UnicodeDecodeError, RecursionError):
                message = None
            if not isinstance(message, dict):
                _close_all(fds)
                self._lose("the sandbox's agent sent a packet that is not a JSON object")
                return
            self._dispatch(message, fds)

    def _dispatch(self, message: dict[str, Any], fds: list[int]) -> None:
        event = message.get("event")
        if event is not None:
            _close_all(fds)
            if event == "ready" and not self.ready.done():
                self.ready.set_result(None)
            elif event == "exit":
                future = self._exits.pop(message.get("spawn"), None)  # type: ignore[arg-type]
                code = message.get("code")
                if future is not None and not future.done():
                    future.set_result(code if isinstance(code, int) and 0 <= code <= 255 else 255)
            return
        ident = message.get("id")
        pending = self._pending.pop(ident, None) if isinstance(ident, int) else None
        if pending is None:
            _close_all(fds)
            return
        answer, expect_fd = pending
        kept = fds[:1] if expect_fd and message.get("ok") and fds and _fd_is(fds[0], expect_fd) else []
        _close_all(fds[len(kept):])
        if not answer.done():
            answer.set_result((message, kept))
        else:
            _close_all(kept)

    # -- end --------------------------------------------------------------------------------

    def _lose(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.lost_reason = reason
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
        for answer, _ in self._pending.values():
            if not answer.done():
                answer.set_exception(AgentLost(reason))
        self._pending.clear()
        for future in self._exits.values():
            if not future.done():
                future.set_result(LOST_EXIT_CODE)
        self._exits.clear()
        if not self.ready.done():
            self.ready.set_exception(AgentLost(reason))
            self.ready.exception()  # retrieved: nobody may be waiting for it
        if self._on_lost is not None:
            self._on_lost(reason)

    def close(self) -> None:
        self._on_lost = None
        self._lose("the sandbox stopped")


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fds_of(ancillary: list[tuple[int, int, bytes]]) -> list[int]:
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
    return fds


def _fd_is(fd: int, kind: str) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    if kind == "socket":
        return stat.S_ISSOCK(mode)
    if kind == "tty":
        return stat.S_ISCHR(mode) and os.isatty(fd)
    return False


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
