"""The shell registry's flow control and re-attach redraw, driven in-process on real PTYs."""

from __future__ import annotations

import asyncio

from pocketenv_tui.local.sandbox.runtime import SandboxRuntime, shell_program
from pocketenv_tui.local.sandbox.shell_output import HIGH_WATER, LOW_WATER, Attachment
from pocketenv_tui.local.sandbox.shells import READ_SIZE
from tests.local.test_runtime_helpers import eventually, read_until, spec
from tests.local.test_runtime_helpers import runtime as runtime  # noqa: F401 (fixture)

SHELL = [shell_program(), "-i"]


async def test_pty_is_not_read_while_the_only_client_is_full(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    session, attachment, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    await session.write(b"yes 'flow control holds this'\n")
    await eventually(lambda: session.reading_paused, within=20)
    # Paused right after the read that filled the client: never more than one read beyond.
    assert HIGH_WATER <= attachment.pressure < HIGH_WATER + READ_SIZE
    held = attachment.pressure
    await asyncio.sleep(0.3)
    assert attachment.pressure == held, "nothing is read while the client is full"

    # Taking output makes room; below the low watermark the PTY is read again, and over a
    # long flood the pressure never passes the high watermark by more than one read.
    highest = 0
    for _ in range(40):
        chunk = await asyncio.wait_for(attachment.next(), 10)
        assert chunk
        highest = max(highest, attachment.pressure)
    assert highest < HIGH_WATER + READ_SIZE
    await session.write(b"\x03")
    await session.write(b"echo 'after''-the-flood'\n")
    await read_until(attachment, b"after-the-flood", within=30)


async def test_an_acknowledging_client_holds_at_most_the_window() -> None:
    room: list[int] = []
    attachment = Attachment(b"replayed", on_room=lambda: room.append(attachment.pressure))
    attachment.expect_acks(len(b"replayed"))
    for _ in range(HIGH_WATER // 4096 * 2):
        attachment.push(b"x" * 4096)
    sent = 0
    while attachment.in_flight < HIGH_WATER:
        chunk = await asyncio.wait_for(attachment.take(), 1)
        assert chunk is not None and len(chunk) <= 64 * 1024
        attachment.sent(len(chunk))  # the socket took it; the client has not processed it
        sent += len(chunk)
    assert attachment.in_flight < HIGH_WATER + 64 * 1024
    blocked = asyncio.ensure_future(attachment.take())
    await asyncio.sleep(0.05)
    assert not blocked.done(), "nothing more is handed out until the client acknowledges"
    attachment.acknowledge(attachment.in_flight - LOW_WATER)
    chunk = await asyncio.wait_for(blocked, 1)
    assert chunk
    attachment.acknowledge(10**9)  # more than was sent: clamped, never negative
    assert attachment.in_flight == 0


async def test_pressure_past_the_backlog_cuts_a_client_off() -> None:
    attachment = Attachment(b"")
    for _ in range(3 * 1024):
        attachment.push(b"y" * 1024)
    assert attachment.overflowed
    assert await attachment.take() is None


async def test_reattach_to_a_full_screen_program_replays_its_screen_and_redraws(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    session, first, _ = await runtime.shells.attach("sbx1", "k", SHELL)
    # A stand-in for htop: switches to the alternate screen and redraws on SIGWINCH.
    # (A child shell: the foreground job's process group gets the SIGWINCH, not our bash.)
    await session.write(
        rb"""bash -c 'trap "printf \"\\033[H\\033[2Jredrawn\\n\"" WINCH; """
        rb"""printf "\\033[?1049h\\033[Hfull-""screen\\n"; while :; do sleep 0.05; done'""" + b"\n"
    )
    await read_until(first, b"full-screen")
    await eventually(lambda: session.alternate_screen)
    session.detach(first)
    # Much later output pushes the switch itself out of the replay buffer.
    session.ring.data[:] = b"only recent output"

    again, second, created = await runtime.shells.attach("sbx1", "k", SHELL)
    assert again is session and not created
    assert second.replay.startswith(b"\x1b[?1049h"), "the replay starts on the alternate screen"
    session.request_redraw()
    await read_until(second, b"redrawn", within=10)
    await session.write(b"\x03")
