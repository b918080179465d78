"""PTY shells driven directly through the runtime's shell registry."""

from __future__ import annotations

import asyncio
import re

from pocketenv_tui.local.sandbox.runtime import SandboxRuntime, shell_program
from pocketenv_tui.local.sandbox.shells import REPLAY_LIMIT
from tests.local.test_runtime_helpers import eventually, read_until, sandbox_pids, spec
from tests.local.test_runtime_helpers import runtime as runtime  # noqa: F401 (fixture)

SHELL = [shell_program(), "-i"]


async def test_shell_has_a_real_terminal_and_the_sandbox_env(runtime: SandboxRuntime) -> None:
    await runtime.start(spec(env={"TOKEN_FOR_APP": "abc"}))
    session, attachment, created = await runtime.shells.attach("sbx1", "k", SHELL, cols=100, rows=30)
    assert created
    await session.write(b'echo "[$TERM/$TOKEN_FOR_APP]"; stty size; tty\n')
    out = await read_until(attachment, b"/dev/pts/")
    assert b"[xterm-256color/abc]" in out
    assert b"30 100" in out


async def test_resize_reaches_the_shell(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    session, attachment, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    session.resize(132, 43)
    await session.write(b"stty size\n")
    await read_until(attachment, b"43 132")


async def test_reattach_by_key_gets_the_same_shell_and_replay(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    session, first, _ = await runtime.shells.attach("sbx1", "shared", SHELL)
    await session.write(b'MARK=remembered; echo "p""id=$$."\n')
    out = await read_until(first, b".\r\n")
    pid = re.search(rb"pid=(\d+)\.", out).group(1)
    session.detach(first)

    again, second, created = await runtime.shells.attach("sbx1", "shared", SHELL)
    assert again is session and not created
    assert b"pid=" + pid in second.replay
    await again.write(b"echo $MARK-$$\n")
    await read_until(second, b"remembered-" + pid)

    other, third, created = await runtime.shells.attach("sbx1", "another", SHELL)
    assert created and other is not session
    assert runtime.shells.get("sbx2", "shared") is None


async def test_exit_code_is_reported_and_key_is_freed(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    session, attachment, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    await session.write(b"exit 7\n")
    await asyncio.wait_for(session.ended.wait(), 10)
    assert session.exit_code == 7
    while (chunk := await attachment.next()) is not None:
        assert isinstance(chunk, bytes)
    assert runtime.shells.get("sbx1", "k") is None


async def test_detached_shell_is_reaped_after_grace(runtime: SandboxRuntime) -> None:
    runtime.shells.grace = 0.3
    await runtime.start(spec())
    session, attachment, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    await session.write(b"echo ready\n")
    await read_until(attachment, b"ready")
    session.detach(attachment)
    await asyncio.wait_for(session.ended.wait(), 10)
    assert runtime.shells.get("sbx1", "k") is None
    assert runtime.is_running("sbx1")


async def test_reattach_within_grace_keeps_the_shell(runtime: SandboxRuntime) -> None:
    runtime.shells.grace = 0.5
    await runtime.start(spec())
    session, attachment, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    session.detach(attachment)
    _, attachment, created = await runtime.shells.attach("sbx1", "k", SHELL)
    assert not created
    await asyncio.sleep(0.8)
    assert session.exit_code is None
    await session.write(b"echo still-here\n")
    await read_until(attachment, b"still-here")


async def test_stop_ends_shells_and_their_jobs(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    session, attachment, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    await session.write(b"sleep 1005 &\n")
    await eventually(lambda: len(sandbox_pids("sbx1")) >= 2)
    await runtime.stop("sbx1")
    assert session.exit_code is not None
    assert sandbox_pids("sbx1") == []
    # The attachment is told the shell ended (after whatever output was still queued).
    while (chunk := await asyncio.wait_for(attachment.next(), 5)) is not None:
        assert isinstance(chunk, bytes)


async def test_replay_buffer_is_bounded(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    session, attachment, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    await session.write(b"head -c 600000 /dev/zero | tr '\\0' y; echo; echo 'done''-writing'\n")
    await read_until(attachment, b"done-writing\r\n", within=30)
    assert len(session.ring.snapshot()) == REPLAY_LIMIT


async def test_slow_attachment_is_cut_off_not_buffered_forever(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    session, reader, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    _, stalled, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    await session.write(b"head -c 3000000 /dev/zero | tr '\\0' z; echo; echo 'flood''-over'\n")
    await read_until(reader, b"flood-over\r\n", within=60)
    assert stalled.overflowed
    assert stalled.pressure <= 2 * 1024 * 1024
