"""Interactive shells on real PTYs, shared by key and kept alive across dropped connections.

A :class:`ShellSession` is one ``bash -i`` (``sh -i`` without bash) on a fresh PTY, started
inside a sandbox by its agent with ``TERM=xterm-256color``, as the leader of a new session
whose controlling terminal is that PTY. The PTY is the sandbox's own (its devpts); the agent
hands the server the master end. Its output goes to a 256 KiB ring buffer (replayed to clients that attach
later) and to every current :class:`Attachment`. Sessions are keyed by (sandbox id, session
key), so a key never reaches another sandbox's shell.

Bounds: each attachment may have at most ``ATTACHMENT_BACKLOG`` bytes queued; a client that
reads slower than that is cut off (it can re-attach and gets the replay). Input waits while
more than ``INPUT_BACKLOG`` bytes are queued for the PTY, which pushes back on the socket.

When the last attachment leaves, a grace timer starts (``POCKETENV_SHELL_GRACE`` seconds,
default 300); a shell nobody re-attached to by then is killed. A sandbox has at most
``limit`` shells (``POCKETENV_MAX_SHELLS``, default 8); asking for one more is refused with
:class:`ShellLimitReached` (re-attaching to a live one always works).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import struct
import termios
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pocketenv_tui.local.sandbox.agent_channel import RemoteProcess
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.proc import RingBuffer

REPLAY_LIMIT = 256 * 1024
ATTACHMENT_BACKLOG = 2 * 1024 * 1024
INPUT_BACKLOG = 64 * 1024
DEFAULT_GRACE = 300.0
GRACE_ENV = "POCKETENV_SHELL_GRACE"
DEFAULT_MAX_SHELLS = 8
MAX_SHELLS_ENV = "POCKETENV_MAX_SHELLS"
MAX_DIMENSION = 1000


class ShellLimitReached(SandboxRuntimeError):
    """The sandbox already has as many shells as it may have."""


# (sandbox id, argv, cols, rows) -> the shell process and its PTY master; raises if the
# sandbox is not running.
Launcher = Callable[[str, list[str], int, int], Awaitable[tuple[RemoteProcess, int]]]


def grace_from_env() -> float:
    try:
        return max(0.0, float(os.environ.get(GRACE_ENV, DEFAULT_GRACE)))
    except ValueError:
        return DEFAULT_GRACE


def max_shells_from_env(environ: dict[str, str] | None = None) -> int:
    """The shell cap from ``POCKETENV_MAX_SHELLS`` (default 8); ValueError when not a whole number >= 1."""
    raw = (os.environ if environ is None else environ).get(MAX_SHELLS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_SHELLS
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ValueError(f"{MAX_SHELLS_ENV} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def valid_size(cols: object, rows: object) -> bool:
    return (
        isinstance(cols, int)
        and isinstance(rows, int)
        and not isinstance(cols, bool)
        and not isinstance(rows, bool)
        and 0 < cols <= MAX_DIMENSION
        and 0 < rows <= MAX_DIMENSION
    )


def set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


@dataclass(eq=False)
class Attachment:
    """One client's view of a shell: the replay at attach time, then live output."""

    replay: bytes
    queue: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    backlog: int = 0
    overflowed: bool = False

    def push(self, chunk: bytes) -> None:
        if self.overflowed:
            return
        if self.backlog + len(chunk) > ATTACHMENT_BACKLOG:
            self.overflowed = True
            self.queue.put_nowait(None)
            return
        self.backlog += len(chunk)
        self.queue.put_nowait(chunk)

    def end(self) -> None:
        self.queue.put_nowait(None)

    async def next(self) -> bytes | None:
        """The next output chunk, or None when the shell ended or this client fell behind."""
        chunk = await self.queue.get()
        if chunk is not None:
            self.backlog -= len(chunk)
        return chunk


class ShellSession:
    def __init__(
        self,
        registry: ShellRegistry,
        sandbox_id: str,
        key: str,
        proc: RemoteProcess,
        master: int,
    ) -> None:
        self.registry = registry
        self.sandbox_id = sandbox_id
        self.key = key
        self.proc = proc
        self.master = master
        self.ring = RingBuffer(REPLAY_LIMIT)
        self.attachments: set[Attachment] = set()
        self.exit_code: int | None = None
        self.ended = asyncio.Event()
        self.started_at = time.time()
        self._loop = asyncio.get_running_loop()
        self._input = bytearray()
        self._input_drained = asyncio.Event()
        self._input_drained.set()
        self._grace: asyncio.TimerHandle | None = None
        self._closing = False
        os.set_blocking(master, False)
        self._loop.add_reader(master, self._on_output)
        self._watcher = self._loop.create_task(self._watch())

    # -- output -----------------------------------------------------------------------------

    def _read_chunk(self) -> bool | None:
        """Read one chunk: True if read, None if nothing is there, False on hang-up."""
        try:
            chunk = os.read(self.master, 65536)
        except BlockingIOError:
            return None
        except OSError:
            return False
        if not chunk:
            return False
        self.ring.write(chunk)
        for attachment in list(self.attachments):
            attachment.push(chunk)
        return True

    def _read_available(self) -> None:
        while self._read_chunk():
            pass

    def _on_output(self) -> None:
        # One chunk per wake-up, so consumers get their turn even under a flood of output.
        if self._read_chunk() is False:
            # Every slave fd is closed; the watcher finishes once the shell is reaped.
            self._loop.remove_reader(self.master)

    async def _watch(self) -> None:
        code = await self.proc.wait()
        self._finish(code)

    def _finish(self, code: int) -> None:
        if self.exit_code is not None:
            return
        with contextlib.suppress(OSError):
            self._read_available()
        self._loop.remove_reader(self.master)
        self._loop.remove_writer(self.master)
        # Closing the master hangs up the PTY: background jobs still holding it get SIGHUP.
        with contextlib.suppress(OSError):
            os.close(self.master)
        self.exit_code = code
        self._cancel_grace()
        self._input_drained.set()
        self.registry.forget(self)
        for attachment in self.attachments:
            attachment.end()
        self.ended.set()

    # -- input and size ---------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        if self.exit_code is not None or not data:
            return
        self._input += data
        self._flush_input()
        if len(self._input) > INPUT_BACKLOG:
            self._input_drained.clear()
            await self._input_drained.wait()

    def _flush_input(self) -> None:
        if self.exit_code is not None:
            return
        try:
            while self._input:
                written = os.write(self.master, self._input)
                del self._input[:written]
        except BlockingIOError:
            pass
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            self._input.clear()
        if self._input:
            self._loop.add_writer(self.master, self._flush_input)
        else:
            self._loop.remove_writer(self.master)
            self._input_drained.set()

    def resize(self, cols: int, rows: int) -> None:
        """Set the PTY size; the kernel sends SIGWINCH to the shell's foreground job."""
        if self.exit_code is None and valid_size(cols, rows):
            with contextlib.suppress(OSError):
                set_winsize(self.master, cols, rows)

    def foreground_command(self) -> str | None:
        """The name of the program in the shell's foreground, as the kernel reports it.

        The name comes from inside the sandbox (any process may rename itself), so it is
        cut to printable ASCII and 32 characters; None when it cannot be read.
        """
        if self.exit_code is not None:
            return None
        try:
            group = os.tcgetpgrp(self.master)
            with open(f"/proc/{group}/comm", "rb") as handle:
                raw = handle.read(64)
        except (OSError, ValueError):
            return None
        name = "".join(ch if " " <= ch <= "~" else "?" for ch in raw.decode("latin-1").strip())
        return name[:32] or None

    # -- attachments ------------------------------------------------------------------------

    def attach(self) -> Attachment:
        # Snapshot and subscribe in one step of the loop: no output is lost or doubled.
        attachment = Attachment(replay=self.ring.snapshot())
        self.attachments.add(attachment)
        self._cancel_grace()
        if self.exit_code is not None:
            attachment.end()
        return attachment

    def detach(self, attachment: Attachment) -> None:
        self.attachments.discard(attachment)
        if not self.attachments and self.exit_code is None:
            self._cancel_grace()
            self._grace = self._loop.call_later(self.registry.grace, self._grace_expired)

    def _cancel_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    def _grace_expired(self) -> None:
        self._grace = None
        if not self.attachments:
            self.registry.track(self._loop.create_task(self.terminate()))

    async def terminate(self) -> None:
        """Hang up the shell, then kill whatever of it is left."""
        if self.exit_code is None and not self._closing:
            self._closing = True
            await self.proc.signal(signal.SIGHUP)
            try:
                await asyncio.wait_for(asyncio.shield(self.ended.wait()), 2.0)
            except TimeoutError:
                await self.proc.signal(signal.SIGKILL)
        await self.ended.wait()


class ShellRegistry:
    """All live shells of a runtime, keyed by (sandbox id, session key)."""

    def __init__(self, launcher: Launcher, *, grace: float | None = None, limit: int | None = None) -> None:
        self.launcher = launcher
        self.grace = grace_from_env() if grace is None else grace
        if limit is None:
            try:
                limit = max_shells_from_env()
            except ValueError:
                limit = DEFAULT_MAX_SHELLS  # ``serve`` refuses a bad value before it gets here
        self.limit = limit
        self.sessions: dict[tuple[str, str], ShellSession] = {}
        self._starting: dict[tuple[str, str], asyncio.Future[ShellSession]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, sandbox_id: str, key: str) -> ShellSession | None:
        return self.sessions.get((sandbox_id, key))

    def count(self, sandbox_id: str) -> int:
        return sum(1 for sid, _ in (*self.sessions, *self._starting) if sid == sandbox_id)

    async def attach(
        self, sandbox_id: str, key: str, shell_argv: list[str], cols: int = 80, rows: int = 24
    ) -> tuple[ShellSession, Attachment, bool]:
        """Attach to the live shell under ``key`` or start one; True as third item if new."""
        ident = (sandbox_id, key)
        session = self.sessions.get(ident)
        if session is not None:
            return session, session.attach(), False
        starting = self._starting.get(ident)
        if starting is not None:  # someone else is starting this very shell: share it
            session = await asyncio.shield(starting)
            return session, session.attach(), False
        if self.count(sandbox_id) >= self.limit:
            raise ShellLimitReached(
                f"Too many shells: this sandbox has {self.limit} (the limit); exit one or reuse a "
                f"session key (idle shells end after {self.grace:g}s)"
            )
        # Counted from here on, so two clients racing past the check cannot both start one.
        future: asyncio.Future[ShellSession] = asyncio.get_running_loop().create_future()
        self._starting[ident] = future
        try:
            proc, master = await self.launcher(sandbox_id, shell_argv, cols, rows)
            session = ShellSession(self, sandbox_id, key, proc, master)
            self.sessions[ident] = session
            future.set_result(session)
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else SandboxRuntimeError("cancelled"))
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._starting.pop(ident, None)
        return session, session.attach(), True

    def forget(self, session: ShellSession) -> None:
        if self.sessions.get((session.sandbox_id, session.key)) is session:
            del self.sessions[(session.sandbox_id, session.key)]

    def track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def of_sandbox(self, sandbox_id: str) -> list[ShellSession]:
        return [s for (sid, _), s in self.sessions.items() if sid == sandbox_id]

    async def close_sandbox(self, sandbox_id: str) -> None:
        sessions = self.of_sandbox(sandbox_id)
        if sessions:
            await asyncio.gather(*(s.terminate() for s in sessions))

    async def close_all(self) -> None:
        sessions = list(self.sessions.values())
        if sessions:
            await asyncio.gather(*(s.terminate() for s in sessions))
        for task in list(self._tasks):
            task.cancel()
