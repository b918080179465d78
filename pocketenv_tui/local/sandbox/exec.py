"""One ``exec``: run a shell command in a sandbox and collect ``{stdout, stderr, exitCode}``.

The command's own exit ends the wait, not the end of its output pipes: a job it started with
``cmd &`` inherits stdout/stderr and may hold them open for as long as the sandbox runs. After
the shell exits we drain for a short while, then hand the pipes to discarding readers (owned
by the sandbox) so the background job can keep writing without dying of SIGPIPE.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from dataclasses import dataclass

from pocketenv_tui.local.sandbox.proc import (
    BoundedBuffer,
    PipeReader,
    exit_code,
    signal_until_exit,
    spawn,
    wait_exit,
)
from pocketenv_tui.local.sandbox.shells import LaunchPlan

OUTPUT_LIMIT = 10 * 1024 * 1024  # per stream
TIMEOUT_EXIT_CODE = 124
# After the shell exits, keep collecting while output still arrives, up to this long.
DRAIN_QUIET = 0.05
DRAIN_MAX = 0.5
# How long each kill step waits for the command to exit.
KILL_WAIT = 2.0


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


async def run_command(plan: LaunchPlan, *, time_limit: float) -> ExecOutcome:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        proc = spawn(plan.argv, env=plan.env, cwd=plan.cwd, stdout=out_w, stderr=err_w)
    except BaseException:
        for fd in (out_r, err_r):
            os.close(fd)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    stdout, stderr = BoundedBuffer(OUTPUT_LIMIT), BoundedBuffer(OUTPUT_LIMIT)
    readers = [PipeReader(out_r, stdout), PipeReader(err_r, stderr)]
    timed_out = False
    try:
        try:
            code = await asyncio.wait_for(wait_exit(proc), time_limit)
        except TimeoutError:
            timed_out = True
            code = await _kill(proc, plan)
        await _drain(readers, stdout, stderr)
    except BaseException:
        # Cancelled (the caller went away): the command must not outlive its request.
        await asyncio.shield(_kill(proc, plan))
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


async def _kill(proc: subprocess.Popen[bytes], plan: LaunchPlan) -> int:
    """Kill the command's tree; a wrapper is given a moment to reap its child first.

    Both steps look at the tree again while they wait (a wrapper may fork its child late)
    and both are bounded: a process that survives SIGKILL is left behind, reported as -1.
    """
    for spare_root in (plan.wrapped, False):
        if await signal_until_exit(proc, signal.SIGKILL, spare_root=spare_root, within=KILL_WAIT):
            return exit_code(proc.returncode)
    return -1


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
