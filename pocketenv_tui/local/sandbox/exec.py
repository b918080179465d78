"""One command run in a sandbox through its agent, collecting ``{stdout, stderr, exitCode}``.

The command's own exit ends the wait, not the end of its output pipes: a job it started with
``cmd &`` inherits stdout/stderr and may hold them open for as long as the sandbox runs. After
the command exits we drain for a short while, then hand the pipes to discarding readers
(owned by the sandbox) so the background job can keep writing without dying of SIGPIPE.
Output is sandbox output: each stream is kept up to ``OUTPUT_LIMIT`` bytes, the rest counted.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass

from pocketenv_tui.local.sandbox.agent_channel import AgentChannel, RemoteProcess
from pocketenv_tui.local.sandbox.proc import BoundedBuffer, PipeReader, Sink

OUTPUT_LIMIT = 10 * 1024 * 1024  # per stream
TIMEOUT_EXIT_CODE = 124
# After the command exits, keep collecting while output still arrives, up to this long.
DRAIN_QUIET = 0.05
DRAIN_MAX = 0.5
KILL_WAIT = 5.0


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


async def spawn_piped(
    channel: AgentChannel,
    argv: list[str],
    stdout: Sink,
    stderr: Sink,
    *,
    with_stdin: bool = False,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
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
    return proc, [PipeReader(out_r, stdout), PipeReader(err_r, stderr)], in_w


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
    return ExecOutcome(result, lingering)


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
