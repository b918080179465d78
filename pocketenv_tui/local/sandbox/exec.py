"""One command run in a sandbox through its agent, collecting ``{stdout, stderr, exitCode}``.

The command's own exit ends the wait, not the end of its output pipes: a job it started with
``cmd &`` inherits stdout/stderr and may hold them open for as long as the sandbox runs. After
the command exits we drain for a short while, then hand the pipes to discarding readers
(owned by the sandbox) so the background job can keep writing without dying of SIGPIPE.
Output is sandbox output: each stream is kept up to ``OUTPUT_LIMIT`` bytes, the rest counted.

:class:`StreamedRun` is the streaming exec (``io.pocketenv.sandbox.execStream``): the same
command, but its output is handed on as it arrives, stdout and stderr in the order they were
read, instead of collected. Nothing is dropped there; instead the pipes are read only as fast
as the output is taken (above ``STREAM_HIGH_WATER`` bytes not yet taken, reading pauses, so the
command blocks on its writes as under a slow terminal). Its time limit is a timer of its own,
so it holds even while whoever takes the output is stuck, and :meth:`StreamedRun.close` (the
client went away, or the stream ended) kills what is still running.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pocketenv_tui.local.sandbox.agent_channel import AgentChannel, RemoteProcess
from pocketenv_tui.local.sandbox.proc import BoundedBuffer, PipeReader, Sink

OUTPUT_LIMIT = 10 * 1024 * 1024  # per stream
TIMEOUT_EXIT_CODE = 124
# After the command exits, keep collecting while output still arrives, up to this long.
DRAIN_QUIET = 0.05
DRAIN_MAX = 0.5
KILL_WAIT = 5.0
# Streaming: a heartbeat after this long without output (so a client can tell a quiet command
# from a dead server), pipes paused above the high water mark of output not yet taken, and
# consecutive reads of one stream merged into events of at most this many characters.
HEARTBEAT_SECONDS = 5.0
STREAM_HIGH_WATER = 256 * 1024
MAX_EVENT_CHARS = 64 * 1024


@dataclass
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int


@dataclass
class ExecOutcome:
    result: ExecResult
    # Readers still attached to pipes held open by background jobs of the command.
    lingering: list[PipeReader]
    timed_out: bool = False


async def spawn_piped(
    channel: AgentChannel,
    argv: list[str],
    stdout: Sink,
    stderr: Sink,
    *,
    with_stdin: bool = False,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
    reader: Callable[[int, Sink], PipeReader] = PipeReader,
) -> tuple[RemoteProcess, list[PipeReader], int | None]:
    """Start ``argv`` with its stdout and stderr read into the sinks (and a pipe to its stdin
    when asked): (process, [stdout reader, stderr reader], stdin's write end or None)."""
    in_r, in_w = os.pipe() if with_stdin else (None, None)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc, _ = await channel.spawn(argv, env=env, cwd=cwd, stdin=in_r, stdout=out_w, stderr=err_w)
    except BaseException:
        for fd in (in_w, out_r, err_r):
            if fd is not None:
                os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            if fd is not None:
                os.close(fd)
    return proc, [reader(out_r, stdout), reader(err_r, stderr)], in_w


async def run_command(
    channel: AgentChannel,
    argv: list[str],
    *,
    time_limit: float,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> ExecOutcome:
    stdout, stderr = BoundedBuffer(OUTPUT_LIMIT), BoundedBuffer(OUTPUT_LIMIT)
    proc, readers, _ = await spawn_piped(channel, argv, stdout, stderr, env=env, cwd=cwd)
    timed_out = False
    try:
        code = await proc.wait_within(time_limit)
        if code is None:
            timed_out = True
            code = await kill(proc)
        await _drain(readers, stdout, stderr)
    except BaseException:
        # Cancelled (the caller went away): the command must not outlive its request.
        await asyncio.shield(kill(proc))
        for reader in readers:
            reader.close()
        raise
    lingering = [r for r in readers if not r.eof.is_set()]
    for reader in lingering:
        reader.detach()
    result = ExecResult(stdout.text(), stderr.text(), code)
    if timed_out:
        result.exit_code = TIMEOUT_EXIT_CODE
        result.stderr += f"\n[pocketenv: command timed out after {time_limit:g} s and was killed]\n"
    return ExecOutcome(result, lingering, timed_out)


async def kill(proc: RemoteProcess) -> int:
    """Kill the command and everything it started; -1 if it somehow survives."""
    await proc.signal(signal.SIGKILL)
    code = await proc.wait_within(KILL_WAIT)
    return -1 if code is None else code


async def _drain(readers: list[PipeReader], *buffers: BoundedBuffer) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_MAX
    while not all(r.eof.is_set() for r in readers) and loop.time() < deadline:
        before = sum(len(b.data) + b.dropped for b in buffers)
        waits = [asyncio.ensure_future(r.eof.wait()) for r in readers]
        _, pending = await asyncio.wait(waits, timeout=DRAIN_QUIET, return_when=asyncio.ALL_COMPLETED)
        for task in pending:
            task.cancel()
        if sum(len(b.data) + b.dropped for b in buffers) == before:
            return


# -- streaming ------------------------------------------------------------------------------


class PausablePipeReader(PipeReader):
    """A :class:`PipeReader` that can stop reading for a while, and says when it reached EOF."""

    def __init__(self, fd: int, sink: Sink, on_close: Callable[[], None] | None = None) -> None:
        super().__init__(fd, sink)
        self._paused = False
        self._on_close = on_close

    def pause(self) -> None:
        if not self._paused and not self._closed:
            self._paused = True
            self._loop.remove_reader(self.fd)

    def resume(self) -> None:
        if self._paused and not self._closed:
            self._paused = False
            self._loop.add_reader(self.fd, self._on_readable)

    def detach(self) -> None:
        # A discarding reader must read on, or the background job holding the pipe blocks.
        super().detach()
        self.resume()

    def close(self) -> None:
        super().close()
        if self._on_close is not None:
            callback, self._on_close = self._on_close, None
            callback()


class _Outbox:
    """Output read but not yet taken, in arrival order, decoded per stream (a character split
    between two reads is never mangled)."""

    def __init__(self) -> None:
        self.items: deque[tuple[str, str]] = deque()
        self.pending_bytes = 0
        self.arrived = asyncio.Event()
        self.readers: list[PausablePipeReader] = []
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace") for name in ("stdout", "stderr")}

    def sink(self, stream: str) -> Sink:
        outbox = self

        class StreamSink:
            def write(self, chunk: bytes) -> None:
                outbox.put(stream, chunk)

        return StreamSink()

    def put(self, stream: str, chunk: bytes) -> None:
        text = self._decoders[stream].decode(chunk)
        if text:
            self.items.append((stream, text))
        self.pending_bytes += len(chunk)
        self.arrived.set()
        if self.pending_bytes > STREAM_HIGH_WATER:
            for reader in self.readers:
                reader.pause()

    def flush(self) -> None:
        """The bytes a decoder still holds (a cut-off character) become U+FFFD."""
        for stream, decoder in self._decoders.items():
            if text := decoder.decode(b"", final=True):
                self.items.append((stream, text))

    def take(self) -> list[dict[str, Any]]:
        """Everything queued as events (consecutive pieces of one stream merged); reading resumes."""
        events: list[dict[str, Any]] = []
        while self.items:
            stream, text = self.items.popleft()
            last = events[-1] if events else None
            if last is not None and last["stream"] == stream and len(last["data"]) + len(text) <= MAX_EVENT_CHARS:
                last["data"] += text
            else:
                events.append({"stream": stream, "data": text})
        self.pending_bytes = 0
        self.arrived.clear()
        for reader in self.readers:
            reader.resume()
        return events


class StreamedRun:
    """One command whose output is handed on as it arrives; see the module's docstring.

    :meth:`events` yields ``{"stream": "stdout"|"stderr", "data": str}``, ``{"heartbeat":
    seconds}`` after ``HEARTBEAT_SECONDS`` without output, and last ``{"exitCode": n,
    "timedOut": bool, "timeLimit": seconds}`` (124 when the time limit killed it).
    """

    def __init__(
        self,
        proc: RemoteProcess,
        readers: list[PipeReader],
        outbox: _Outbox,
        time_limit: float,
        on_lingering: Callable[[list[PipeReader]], None] | None,
        on_timeout: Callable[[], None] | None = None,
    ) -> None:
        self.proc = proc
        self.readers = readers
        self.time_limit = time_limit
        self.timed_out = False
        self._outbox = outbox
        self._on_lingering = on_lingering
        self._on_timeout = on_timeout
        self._loop = asyncio.get_running_loop()
        self.started = self._loop.time()
        self._finished = False
        self._killing: asyncio.Task[int] | None = None
        self._timer = self._loop.call_later(time_limit, self._time_up)
        self._exit = asyncio.ensure_future(proc.wait())
        self._exit.add_done_callback(lambda _: outbox.arrived.set())

    @classmethod
    async def start(
        cls,
        channel: AgentChannel,
        argv: list[str],
        *,
        time_limit: float,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        on_lingering: Callable[[list[PipeReader]], None] | None = None,
        on_timeout: Callable[[], None] | None = None,
    ) -> StreamedRun:
        """Start ``argv``; ``on_lingering`` takes the readers of pipes that background jobs
        of the command still hold open once it has exited (closed when not given)."""
        outbox = _Outbox()

        def reader(fd: int, sink: Sink) -> PipeReader:
            made = PausablePipeReader(fd, sink, on_close=outbox.arrived.set)
            outbox.readers.append(made)
            return made

        proc, readers, _ = await spawn_piped(
            channel, argv, outbox.sink("stdout"), outbox.sink("stderr"), env=env, cwd=cwd, reader=reader
        )
        return cls(proc, readers, outbox, time_limit, on_lingering, on_timeout)

    def _time_up(self) -> None:
        if self.proc.returncode is None and self._killing is None:
            self.timed_out = True
            self._killing = asyncio.ensure_future(kill(self.proc))
            if self._on_timeout is not None:
                self._on_timeout()

    def elapsed(self) -> float:
        return self._loop.time() - self.started

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        outbox = self._outbox
        last_sent = self._loop.time()
        while self.proc.returncode is None:
            for event in outbox.take():
                yield event
                last_sent = self._loop.time()
            if self.proc.returncode is not None:
                break
            quiet_for = self._loop.time() - last_sent
            if quiet_for >= HEARTBEAT_SECONDS:
                yield {"heartbeat": round(self.elapsed(), 1)}
                last_sent = self._loop.time()
                continue
            try:
                await asyncio.wait_for(outbox.arrived.wait(), HEARTBEAT_SECONDS - quiet_for)
            except TimeoutError:
                pass
        code = self.proc.returncode
        if self._killing is not None:
            code = await self._killing
        async for event in self._drain():
            yield event
        outbox.flush()
        for event in outbox.take():
            yield event
        self._finish()
        yield {
            "exitCode": TIMEOUT_EXIT_CODE if self.timed_out else code,
            "timedOut": self.timed_out,
            "timeLimit": self.time_limit,
        }

    async def _drain(self) -> AsyncIterator[dict[str, Any]]:
        """After the exit: what is still in the pipes, for as long as it keeps coming."""
        deadline = self._loop.time() + DRAIN_MAX
        while True:
            for event in self._outbox.take():
                yield event
            if all(r.eof.is_set() for r in self.readers) or self._loop.time() >= deadline:
                return
            try:
                await asyncio.wait_for(self._outbox.arrived.wait(), DRAIN_QUIET)
            except TimeoutError:
                return

    def _finish(self) -> None:
        self._finished = True
        self._timer.cancel()
        lingering = [r for r in self.readers if not r.eof.is_set()]
        for reader in lingering:
            reader.detach()
        if self._on_lingering is not None:
            self._on_lingering(lingering)
        else:
            for reader in lingering:
                reader.close()

    async def close(self) -> None:
        """End the run: kill the command if it still runs (the client left), free the pipes."""
        self._timer.cancel()
        if self._finished:
            return
        self._finished = True
        for reader in self.readers:
            reader.close()
        if self.proc.returncode is None:
            await (self._killing or kill(self.proc))
        self._exit.cancel()
