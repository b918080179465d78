"""Process plumbing of the server's side: spawning, waiting, reading pipes, finding marked processes.

The few processes the server starts itself (bwrap, slirp4netns, an agent under isolation
"none") are started with :class:`subprocess.Popen` and watched from the event loop through a
pidfd (Linux 5.3+), so waiting never blocks the loop and never competes with asyncio's own
child watcher. Everything inside a sandbox is started by its agent instead (see
``agent_channel.py``). Pipes from a sandbox are read into bounded buffers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

PROC = Path("/proc")


def spawn(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: str | Path | None,
    stdin: int | None = subprocess.DEVNULL,
    stdout: int | None = None,
    stderr: int | None = None,
    pass_fds: Iterable[int] = (),
    new_session: bool = True,
) -> subprocess.Popen[bytes]:
    # A new session keeps terminal signals aimed at the server (Ctrl+C in its terminal) away
    # from sandbox processes.
    return subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        pass_fds=tuple(pass_fds),
        close_fds=True,
        start_new_session=new_session,
    )


async def wait_exit(proc: subprocess.Popen[bytes]) -> int:
    """Wait for ``proc`` without blocking the loop; a signal death becomes 128 + signal."""
    if proc.returncode is None:
        try:
            pidfd = os.pidfd_open(proc.pid)
        except ProcessLookupError:
            pidfd = None
        if pidfd is not None:
            loop = asyncio.get_running_loop()
            exited = loop.create_future()

            def on_ready() -> None:
                if not exited.done():
                    exited.set_result(None)

            loop.add_reader(pidfd, on_ready)
            try:
                await exited
            finally:
                loop.remove_reader(pidfd)
                os.close(pidfd)
        proc.wait()
    return exit_code(proc.returncode)


async def wait_exit_within(proc: subprocess.Popen[bytes], within: float) -> int | None:
    """:func:`wait_exit` bounded by ``within`` seconds; None when ``proc`` is still running."""
    if proc.returncode is not None:
        return exit_code(proc.returncode)
    try:
        return await asyncio.wait_for(wait_exit(proc), max(within, 0.0))
    except TimeoutError:
        return None


def exit_code(returncode: int | None) -> int:
    if returncode is None:
        return -1
    return 128 - returncode if returncode < 0 else returncode


# /proc/<pid>/stat: fields after the command name, counted from 0 (field 3 of proc(5) is 0).
_STATE, _FLAGS, _ENV_END = 0, 6, 48
PF_KTHREAD = 0x00200000


def _stat(pid: int) -> list[bytes] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    return raw[raw.rfind(b")") + 2 :].split()


def _is_live_user_process(rest: list[bytes]) -> bool:
    try:
        return rest[_STATE] not in (b"Z", b"X", b"x") and not int(rest[_FLAGS]) & PF_KTHREAD
    except (IndexError, ValueError):
        return False


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir(PROC) if name.isdigit()]


def kill_pids(pids: Iterable[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        if pid <= 1:
            continue  # 0 and -1 would mean "my group" and "everyone"; 1 is init
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def pids_with_env(marker: bytes) -> list[int]:
    """Processes whose environment holds ``marker`` (a ``NAME=value`` entry), except us."""
    return scan_env(marker)[0]


def scan_env(marker: bytes) -> tuple[list[int], list[int]]:
    """(pids whose environment holds ``marker``, pids caught in the middle of an execve).

    A process's environment is unreadable for a moment during every execve: the new image's
    memory is in place before the kernel has copied the environment into it, and
    /proc/<pid>/environ reads as empty until then. A service started a moment ago goes
    through several (setpriv, then bash, then its command), so a single scan can miss it.
    The second list names those processes, so a caller can look again instead of taking
    "not found" for "not there".
    """
    found: list[int] = []
    busy: list[int] = []
    me = os.getpid()
    for pid in all_pids():
        if pid == me:
            continue
        state = _env_state(pid, marker)
        if state == "match":
            found.append(pid)
        elif state == "busy":
            busy.append(pid)
    return found, busy


def _env_state(pid: int, marker: bytes) -> str:
    """"match", "other" (another environment, gone, a kernel thread) or "busy" (mid-execve)."""
    # An empty read followed by a finished exec (env_end set) may mean the exec completed
    # between the two reads: read again, a bounded number of times.
    for _ in range(3):
        try:
            environ = (PROC / str(pid) / "environ").read_bytes()
        except OSError:
            return "other"
        if environ:
            return "match" if marker in environ.split(b"\0") else "other"
        rest = _stat(pid)
        if rest is None or not _is_live_user_process(rest):
            return "other"
        try:
            if int(rest[_ENV_END]) == 0:
                return "busy"
        except (IndexError, ValueError):
            return "other"
    return "other"  # a process that really has an empty environment


class BoundedBuffer:
    """Keeps the first ``limit`` bytes written and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0

    def write(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        body = self.data.decode("utf-8", errors="replace")
        if self.dropped:
            body += f"\n[pocketenv: output truncated, {self.dropped} more bytes not kept]\n"
        return body


class RingBuffer:
    """Keeps the last ``limit`` bytes written."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()

    def write(self, chunk: bytes) -> None:
        self.data += chunk
        excess = len(self.data) - self.limit
        if excess > 0:
            del self.data[:excess]

    def snapshot(self) -> bytes:
        return bytes(self.data)


class Sink(Protocol):
    """Where a PipeReader puts what it reads (a bounded buffer, a ring, a capped file)."""

    def write(self, chunk: bytes) -> None: ...


class PipeReader:
    """Reads a non-blocking pipe from the event loop into a sink until EOF.

    ``detach()`` turns it into a discarding reader: used when a command has finished but a
    background job it started still holds the pipe open. Reading on (and dropping the data)
    keeps that job from dying of SIGPIPE, and the fd is closed at EOF or by ``close()``.
    """

    def __init__(self, fd: int, sink: Sink) -> None:
        self.fd = fd
        self.sink: Sink | None = sink
        self.eof = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._on_readable)
        self._closed = False

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        if self.sink is not None:
            self.sink.write(chunk)

    def detach(self) -> None:
        self.sink = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self.fd)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self.eof.set()
