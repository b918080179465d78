"""Interactive shells on real PTYs, shared by key and kept alive across dropped connections.

A :class:`ShellSession` is one ``bash -i`` (``sh -i`` without bash) on a fresh PTY, started
inside a sandbox with ``TERM=xterm-256color`` and made the session leader of that PTY with
``setsid -c``. Its output goes to a 256 KiB ring buffer (replayed to clients that attach
later) and to every current :class:`Attachment`. Sessions are keyed by (sandbox id, session
key), so a key never reaches another sandbox's shell.

Bounds: each attachment may have at most ``ATTACHMENT_BACKLOG`` bytes queued; a client that
reads slower than that is cut off (it can re-attach and gets the replay). Input waits while
more than ``INPUT_BACKLOG`` bytes are queued for the PTY, which pushes back on the socket.

When the last attachment leaves, a grace timer starts (``POCKETENV_SHELL_GRACE`` seconds,
default 300); a shell nobody re-attached to by then is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import struct
import subprocess
import termios
from collections.abc import Callable
from dataclasses import dataclass, field

from pocketenv_tui.local.sandbox.proc import RingBuffer, kill_tree, spawn, wait_exit

REPLAY_LIMIT = 256 * 1024
ATTACHMENT_BACKLOG = 2 * 1024 * 1024
INPUT_BACKLOG = 64 * 1024
DEFAULT_GRACE = 300.0
GRACE_ENV = "POCKETENV_SHELL_GRACE"
MAX_DIMENSION = 1000


@dataclass
class LaunchPlan:
    """How to start a process inside a given sandbox (built by the runtime)."""

    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    # The PTY multiplexer the shell's terminal comes from; a sandbox with its own /dev has
    # its own devpts, so the shell finds its terminal there (``tty`` works inside).
    ptmx: str | None = None
    # The started process is a wrapper (nsenter) outside the sandbox that must outlive its
    # child: signal only what runs under it (see runtime_proc.kill_tree).
    wrapped: bool = False


TIOCGPTPEER = 0x5441
TIOCSPTLCK = 0x40045431


def open_pty(ptmx: str | None) -> tuple[int, int]:
    """(master, slave) of a new PTY, from ``ptmx`` when given, else the host's."""
    if ptmx is None:
        return os.openpty()
    master = os.open(ptmx, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))  # unlockpt()
        slave = fcntl.ioctl(master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)
    except BaseException:
        os.close(master)
        raise
    return master, slave


# (sandbox id, argv to run inside) -> LaunchPlan; raises if the sandbox is not running.
Launcher = Callable[[str, list[str]], LaunchPlan]


def grace_from_env() -> float:
    try:
        return max(0.0, float(os.environ.get(GRACE_ENV, DEFAULT_GRACE)))
    except ValueError:
        return DEFAULT_GRACE


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
        proc: subprocess.Popen[bytes],
        master: int,
        wrapped: bool = False,
    ) -> None:
        self.registry = registry
        self.sandbox_id = sandbox_id
        self.key = key
        self.proc = proc
        self.master = master
        self.wrapped = wrapped
        self.ring = RingBuffer(REPLAY_LIMIT)
        self.attachments: set[Attachment] = set()
        self.exit_code: int | None = None
        self.ended = asyncio.Event()
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
        code = await wait_exit(self.proc)
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
            kill_tree(self.proc.pid, signal.SIGHUP, include_root=not self.wrapped)
            try:
                await asyncio.wait_for(asyncio.shield(self.ended.wait()), 2.0)
            except TimeoutError:
                kill_tree(self.proc.pid, include_root=not self.wrapped)
                try:
                    await asyncio.wait_for(asyncio.shield(self.ended.wait()), 2.0)
                except TimeoutError:
                    kill_tree(self.proc.pid)
        await self.ended.wait()


class ShellRegistry:
    """All live shells of a runtime, keyed by (sandbox id, session key)."""

    def __init__(self, launcher: Launcher, *, grace: float | None = None) -> None:
        self.launcher = launcher
        self.grace = grace_from_env() if grace is None else grace
        self.sessions: dict[tuple[str, str], ShellSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, sandbox_id: str, key: str) -> ShellSession | None:
        return self.sessions.get((sandbox_id, key))

    def attach(
        self, sandbox_id: str, key: str, shell_argv: list[str], cols: int = 80, rows: int = 24
    ) -> tuple[ShellSession, Attachment, bool]:
        """Attach to the live shell under ``key`` or start one; True as third item if new."""
        session = self.sessions.get((sandbox_id, key))
        created = session is None
        if session is None:
            session = self._start(sandbox_id, key, shell_argv, cols, rows)
            self.sessions[(sandbox_id, key)] = session
        return session, session.attach(), created

    def _start(self, sandbox_id: str, key: str, shell_argv: list[str], cols: int, rows: int) -> ShellSession:
        plan = self.launcher(sandbox_id, ["setsid", "-w", "-c", *shell_argv])
        plan.env["TERM"] = "xterm-256color"
        master, slave = open_pty(plan.ptmx)
        try:
            set_winsize(slave, cols, rows)
            proc = spawn(plan.argv, env=plan.env, cwd=plan.cwd, stdin=slave, stdout=slave, stderr=slave)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        return ShellSession(self, sandbox_id, key, proc, master, plan.wrapped)

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
