"""Flow control end to end: a real local backend, a real bash, a session that acknowledges.

The consumer here is the test itself: it decides how fast output is "processed" (what it
reports with ``TerminalSession.consumed``), which is how the widget behaves under a flood.
No timings are asserted; only byte counts and the order of events.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from pocketenv_tui.local.sandbox.shell_output import HIGH_WATER, SEND_LIMIT
from pocketenv_tui.terminal.session import SessionState, TerminalSession
from tests.terminal.conftest import terminal_url

pytestmark = pytest.mark.timeout(180)

PROMPT = b"FLOW-PROMPT$ "
SET_PROMPT = b"PS1='FLOW''-PROMPT$ '\n"


class Consumer:
    """Output as it arrives, and how much of it has been processed so far."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.processed = 0
        self.arrived = asyncio.Event()

    def on_output(self, chunk: bytes) -> None:
        self.data += chunk
        self.arrived.set()

    async def until(self, predicate, what: str, within: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(within):
            while not predicate():
                self.arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.arrived.wait(), 0.2)
        assert predicate(), what


@contextlib.asynccontextmanager
async def flow_session(backend, sandbox_id: str) -> AsyncIterator[tuple[TerminalSession, Consumer]]:
    consumer = Consumer()
    url = terminal_url(backend, sandbox_id, "cf", f"flow-{uuid.uuid4().hex[:8]}")
    session = TerminalSession(url, "cf", on_output=consumer.on_output, acknowledge=True)
    task = session.start()
    try:
        await consumer.until(lambda: session.status.state is SessionState.CONNECTED, "connected")
        assert session.acknowledging, "the local backend confirms acknowledged flow control"
        yield session, consumer
    finally:
        await session.close()
        with contextlib.suppress(Exception):
            await task


async def process_steadily(session: TerminalSession, consumer: Consumer, step: int = 32 * 1024) -> None:
    """A slow reader: processes at most ``step`` bytes per loop turn, with a pause between."""
    while True:
        waiting = len(consumer.data) - consumer.processed
        if waiting:
            count = min(step, waiting)
            consumer.processed += count
            session.consumed(count)
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def reading_steadily(session: TerminalSession, consumer: Consumer, step: int = 32 * 1024) -> AsyncIterator[None]:
    """:func:`process_steadily` running for the length of the block."""
    drain = asyncio.create_task(process_steadily(session, consumer, step))
    try:
        yield
    finally:
        drain.cancel()


async def ready_prompt(session: TerminalSession, consumer: Consumer) -> None:
    session.send_input(SET_PROMPT)
    await consumer.until(lambda: PROMPT in consumer.data, "the marked prompt")


async def test_a_client_that_processes_nothing_gets_at_most_the_window(local_backend, sandbox) -> None:
    async with flow_session(local_backend, sandbox) as (session, consumer):
        await ready_prompt(session, consumer)
        session.consumed(len(consumer.data) - consumer.processed)
        consumer.processed = len(consumer.data)
        start = len(consumer.data)
        session.send_input(b"yes 'an endless line of output'\n")
        # Output arrives until the window is used up, then stops: wait for it to stand still.
        await consumer.until(lambda: len(consumer.data) - start > HIGH_WATER // 2, "the flood")
        last = -1
        while last != len(consumer.data):
            last = len(consumer.data)
            await asyncio.sleep(0.5)
        unprocessed = len(consumer.data) - start
        assert unprocessed < HIGH_WATER + SEND_LIMIT, unprocessed
        # Processing some lets exactly that much more in: the window slides, never grows.
        session.consumed(unprocessed)
        consumer.processed += unprocessed
        await consumer.until(lambda: len(consumer.data) - start > unprocessed + HIGH_WATER // 2, "more")
        interrupted_at = len(consumer.data)
        session.send_input(b"\x03")
        async with reading_steadily(session, consumer, step=1 << 20):
            await consumer.until(lambda: PROMPT in consumer.data[interrupted_at:], "the prompt after ctrl+C")


async def test_ctrl_c_mid_flood_bounds_what_comes_before_the_prompt(local_backend, sandbox) -> None:
    async with flow_session(local_backend, sandbox) as (session, consumer):
        await ready_prompt(session, consumer)
        async with reading_steadily(session, consumer):
            start = len(consumer.data)
            session.send_input(b"yes pocketenv | head -c 50000000 | cat -n\n")
            await consumer.until(lambda: len(consumer.data) - start > 1_000_000, "1 MB of flood")
            interrupted_at = consumer.processed  # everything after this is processed after ctrl+C
            session.send_input(b"\x03")
            await consumer.until(
                lambda: PROMPT in consumer.data[interrupted_at:] and consumer.processed >= consumer.data.rindex(PROMPT),
                "the prompt after ctrl+C",
            )
            prompt_at = consumer.data.rindex(PROMPT)
            before_prompt = prompt_at - interrupted_at
            assert before_prompt < 600_000, f"{before_prompt} bytes were processed before the prompt came back"
            assert len(consumer.data) < 10_000_000, "the flood was cut short, not printed in full"


async def test_a_key_sent_mid_flood_reaches_the_pty_before_the_flood_ends(local_backend, sandbox) -> None:
    async with flow_session(local_backend, sandbox) as (session, consumer):
        await ready_prompt(session, consumer)
        async with reading_steadily(session, consumer):
            # The flood runs in the background; the foreground `read` waits for our key.
            session.send_input(
                b"stty -echo; (yes flood | head -c 100000000) & read -r line; "
                b"stty echo; echo \"GOT:${line}:END\"\n"
            )
            start = len(consumer.data)
            await consumer.until(lambda: consumer.data.count(b"flood\r\n", start) > 20_000, "the flood")
            session.send_input(b"hello\r")
            await consumer.until(lambda: b"GOT:hello:END" in consumer.data, "the key's effect")
            assert len(consumer.data) < 50_000_000, "the key was read while the flood was still going"
            session.send_input(b"kill %1; wait; echo 'flood-''gone'\n")
            await consumer.until(lambda: b"flood-gone" in consumer.data, "the flood stopped")
