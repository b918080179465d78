"""Interactive shells on real PTYs, shared by key and kept alive across dropped connections.

A :class:`ShellSession` is one ``bash -i`` (``sh -i`` without bash) on a fresh PTY, started
inside a sandbox by its agent with ``TERM=xterm-256color``, as the leader of a new session
whose controlling terminal is that PTY. The PTY is the sandbox's own (its devpts); the agent
hands the server the master end. Its output goes to a 256 KiB ring buffer (replayed to clients that attach
later) and to every current :class:`Attachment`. Sessions are keyed by (sandbox id, session
key), so a key never reaches another sandbox's shell.

Flow control, as a real terminal does it: the PTY is read only while some client can take
more. Each attachment counts its *pressure*, the bytes queued for it plus the bytes handed to
its socket and not yet taken (a client that acknowledges what it processed holds them until
its ack; otherwise until the socket's write buffer drained). When every client is at
``HIGH_WATER`` the server stops reading the PTY, the kernel's PTY buffer fills and the program
writing blocks, exactly as under a slow terminal; reading resumes once a client is back at
``LOW_WATER``. Keys are never held back by output: input goes to the PTY as it arrives, so
ctrl+C interrupts a flood with at most a window of output still on its way.

A client much slower than the fastest one is cut off once its pressure passes
``ATTACHMENT_BACKLOG`` (it can re-attach and gets the replay), so one stuck client never
stalls the others. Input waits while more than ``INPUT_BACKLOG`` bytes are queued for the
PTY, which pushes back on the socket.

Re-attaching to a shell whose program is on the alternate screen (htop, vim, less) gets a
replay that starts on the alternate screen, and the program is asked to redraw (the PTY size
is changed and restored, which sends it SIGWINCH twice), so its whole screen comes back.

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
import re
import signal
import struct
import termios
import time
from collections.abc import Awaitable, Callable

from pocketenv_tui.local.sandbox.agent_channel import RemoteProcess
from pocketenv_tui.local.sandbox.errors import SandboxRuntimeError
from pocketenv_tui.local.sandbox.proc import RingBuffer
from pocketenv_tui.local.sandbox.shell_output import Attachment

REPLAY_LIMIT = 256 * 1024
READ_SIZE = 65536
REDRAW_PAUSE = 0.05  # seconds between the two size changes that make a program redraw
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


_ALT_SCREEN = re.compile(rb"\x1b\[\?(?:1049|1047|47)([hl])")
_ALT_TAIL = 8  # bytes kept from a chunk's end: a switch cut by the read boundary is still seen
ALT_SCREEN_ON = b"\x1b[?1049h"


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
        self._paused = False  # PTY reads stopped: every client is full
        self._hung_up = False  # the PTY reported end of file; nothing more to read
        self.alternate_screen = False  # the program in front is on the alternate screen
        self._alt_tail = b""
        self._redraw: asyncio.Task[None] | None = None
        self._size: tuple[int, int] | None = None  # (cols, rows) a client asked for last
        os.set_blocking(master, False)
        self._loop.add_reader(master, self._on_output)
        self._watcher = self._loop.create_task(self._watch())

    # -- output -----------------------------------------------------------------------------

    def _read_chunk(self) -> bool | None:
        """Read one chunk: True if read, None if nothing is there, False on hang-up."""
        try:
            chunk = os.read(self.master, READ_SIZE)
        except BlockingIOError:
            return None
        except OSError:
            return False
        if not chunk:
            return False
        self.ring.write(chunk)
        self._track_screen(chunk)
        for attachment in list(self.attachments):
            attachment.push(chunk)
        return True

    def _track_screen(self, chunk: bytes) -> None:
        window = self._alt_tail + chunk
        if b"\x1b[?" in window:
            switches = _ALT_SCREEN.findall(window)
            if switches:
                self.alternate_screen = switches[-1] == b"h"
        self._alt_tail = window[-_ALT_TAIL:]

    def _read_available(self) -> None:
        while self._read_chunk():
            pass

    def _on_output(self) -> None:
        # One chunk per wake-up, so consumers get their turn even under a flood of output.
        if self._read_chunk() is False:
            # Every slave fd is closed; the watcher finishes once the shell is reaped.
            self._hung_up = True
            self._loop.remove_reader(self.master)
            return
        if self._clients_full():
            self._paused = True
            self._loop.remove_reader(self.master)

    def _clients_full(self) -> bool:
        """Every client still attached (not cut off) is at the high watermark; False for none."""
        live = [a for a in self.attachments if not a.overflowed]
        return bool(live) and all(a.full for a in live)

    def _room(self) -> None:
        """A client can take output again (or left): read the PTY again if it was paused."""
        if self._paused and not self._hung_up and self.exit_code is None:
            self._paused = False
            self._loop.add_reader(self.master, self._on_output)

    @property
    def reading_paused(self) -> bool:
        return self._paused

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
        self._paused = False
        if self._redraw is not None:
            self._redraw.cancel()
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
            self._size = (cols, rows)
            with contextlib.suppress(OSError):
                set_winsize(self.master, cols, rows)

    def request_redraw(self) -> None:
        """Make a full-screen program draw its whole screen again (for a re-attached client)."""
        if self.exit_code is None and self.alternate_screen:
            if self._redraw is not None:
                self._redraw.cancel()
            self._redraw = self._loop.create_task(self._wiggle_size())

    async def _wiggle_size(self) -> None:
        try:
            packed = fcntl.ioctl(self.master, termios.TIOCGWINSZ, b"\0" * 8)
            rows, cols = struct.unpack("HHHH", packed)[:2]
            set_winsize(self.master, cols, rows + 1 if rows < MAX_DIMENSION else rows - 1)
            await asyncio.sleep(REDRAW_PAUSE)
            # Back to the size asked for last: a client may have resized in between.
            if self.exit_code is None:
                set_winsize(self.master, *(self._size or (cols, rows)))
        except OSError:
            pass

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
        replay = self.ring.snapshot()
        if self.alternate_screen and replay:
            # The switch may have dropped out of the ring: start the replay on that screen.
            replay = ALT_SCREEN_ON + replay
        attachment = Attachment(replay, on_room=self._room)
        self.attachments.add(attachment)
        self._cancel_grace()
        if self.exit_code is not None:
            attachment.end()
        return attachment

    def detach(self, attachment: Attachment) -> None:
        self.attachments.discard(attachment)
        if not self._clients_full():
            self._room()  # the client holding the shell back left
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
        # (sandbox id, kind, sentence, details) for the event log: shell_opened, shell_closed.
        self.on_event: Callable[[str, str, str, dict[str, object]], None] | None = None

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
        if self.on_event is not None:
            self.on_event(sandbox_id, "shell_opened", "A shell was opened.", {"key": key})
        return session, session.attach(), True

    def forget(self, session: ShellSession) -> None:
        """The shell ended: it is no longer found under its key."""
        if self.sessions.get((session.sandbox_id, session.key)) is session:
            del self.sessions[(session.sandbox_id, session.key)]
            if self.on_event is not None:
                self.on_event(
                    session.sandbox_id, "shell_closed", f"A shell ended (exit code {session.exit_code}).",
                    {"key": session.key, "exitCode": session.exit_code},
                )

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
