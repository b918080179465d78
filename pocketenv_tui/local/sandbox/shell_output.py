"""What one client of a shell has yet to take: the per-connection half of flow control.

A :class:`ShellSession` (``shells``) pushes every chunk it reads from the PTY to each
attached client's :class:`Attachment`, and stops reading while every client is full
(:attr:`Attachment.full`). A client's *pressure* is the bytes queued for it plus the bytes
handed to its socket and not yet taken: until the socket's write buffer drained, or, for a
client that acknowledges what it processed, until its ack.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

HIGH_WATER = 256 * 1024  # pressure at which a client takes nothing more until it catches up
LOW_WATER = 64 * 1024  # pressure at which it may take output again
SEND_LIMIT = 64 * 1024  # most output one WebSocket frame carries
ATTACHMENT_BACKLOG = 2 * 1024 * 1024  # a client this far behind is cut off


class Attachment:
    """One client's view of a shell: the replay at attach time, then live output.

    The consumer calls :meth:`take` for the next output (up to ``SEND_LIMIT`` bytes, what
    is queued joined into one piece) and then :meth:`sent` once its socket took it. A client
    that acknowledges processed bytes is switched over with :meth:`expect_acks`; its bytes
    then count until :meth:`acknowledge`, and :meth:`take` hands out nothing while
    ``HIGH_WATER`` bytes are unacknowledged. :meth:`next` is take-and-release in one, for
    consumers in this process.
    """

    def __init__(self, replay: bytes, on_room: Callable[[], None] | None = None) -> None:
        self.replay = replay
        self.acknowledging = False
        self.queued = 0
        self.in_flight = 0
        self.overflowed = False
        self._chunks: deque[bytes] = deque()
        self._ended = False
        self._changed = asyncio.Event()
        self._on_room = on_room

    @property
    def pressure(self) -> int:
        """Bytes this client has yet to take: queued here plus sent but not yet taken."""
        return self.queued + self.in_flight

    @property
    def full(self) -> bool:
        return self.pressure >= HIGH_WATER and not self.overflowed

    def push(self, chunk: bytes) -> None:
        if self.overflowed or self._ended:
            return
        if self.pressure + len(chunk) > ATTACHMENT_BACKLOG:
            # Far behind the other clients: cut off rather than buffered without bound.
            self.overflowed = True
            self._chunks.clear()
            self.queued = 0
            self._changed.set()
            return
        self._chunks.append(chunk)
        self.queued += len(chunk)
        self._changed.set()

    def end(self) -> None:
        self._ended = True
        self._changed.set()

    def expect_acks(self, already_sent: int) -> None:
        """From now on bytes count until acknowledged; ``already_sent`` (the replay) too."""
        self.acknowledging = True
        self.in_flight += already_sent

    async def take(self, limit: int = SEND_LIMIT) -> bytes | None:
        """The next output, or None when the shell ended or this client was cut off."""
        while True:
            if self.overflowed:
                return None
            if self._chunks and not (self.acknowledging and self.in_flight >= HIGH_WATER):
                return self._pop(limit)
            if self._ended and not self._chunks:
                return None
            self._changed.clear()
            await self._changed.wait()

    def _pop(self, limit: int) -> bytes:
        chunks = self._chunks
        first = chunks.popleft()
        if chunks and len(first) < limit:
            parts = [first]
            size = len(first)
            while chunks and size + len(chunks[0]) <= limit:
                part = chunks.popleft()
                parts.append(part)
                size += len(part)
            first = b"".join(parts)
        self.queued -= len(first)
        self.in_flight += len(first)
        return first

    def sent(self, count: int) -> None:
        """The socket took ``count`` bytes; without acks that is the client taking them."""
        if not self.acknowledging:
            self._release(count)

    def acknowledge(self, count: int) -> None:
        """The client says it processed ``count`` more bytes."""
        if self.acknowledging and count > 0:
            self._release(count)

    def _release(self, count: int) -> None:
        before = self.pressure
        self.in_flight = max(0, self.in_flight - count)
        self._changed.set()
        if self.pressure <= LOW_WATER < before and self._on_room is not None:
            self._on_room()

    async def next(self) -> bytes | None:
        """Take the next output and count it as delivered at once."""
        chunk = await self.take()
        if chunk is not None:
            self._release(len(chunk))
        return chunk
