"""One interactive shell session over a WebSocket, in any Pocketenv dialect.

Dialects (``pty``, ``tty``, ``ssh``, ``cf``) differ only in framing, which lives in
:mod:`.dialects`; this module connects, pumps data both ways and reconnects.

The session knows nothing of sandboxes. The caller hands it either a URL that already carries
the token and the session key, or an *opener*: an async callable that returns the URL to
connect to, called before every connection attempt. The ssh family needs one, because its
WebSocket URL names a session that an HTTP call makes first (``api/ssh_sessions.py``): the
opener makes it the first time and hands out the same URL afterwards, so reconnecting
re-attaches to the same remote shell. When the server says that session is gone (close 1011
"Session not found", or HTTP 404 on the upgrade) the session calls the opener once with
``renew=True`` for a new one, says so in a non-final status, and carries on; a second "gone"
before a connection succeeded ends it. An opener reports failure by raising: an exception
whose ``status`` attribute is 0 (unreachable) or a retryable HTTP status, or an
``OSError``/``TimeoutError``, is retried with the usual backoff; anything else ends the
session with its message.

Why the extra machinery compared with the upstream CLI:

* Typed input is kept in a buffer until a WebSocket send of it succeeded, so keys pressed while
  the link is down are flushed after reconnecting instead of being lost. The size is sent
  again on every new socket. Every dialect reconnects the same way (backoff, same key).
* After a reconnect the cf and ssh servers replay output we have mostly already shown; the
  overlap with what we received before is cut off so the screen does not show it twice (cf
  marks the replay's end with ``ready``; ssh does not, see ``dialects.ReplayTrimmer``).
* ``pause_output``/``resume_output`` let a slow consumer stop reading from the socket, which
  pushes back on the server instead of growing a buffer without bound during a flood.
* With ``acknowledge=True`` (cf dialect) the session asks the server for acknowledged flow
  control (``?flow=ack``). If the ``ready`` status confirms it (``"flow":"ack"``), the consumer
  reports what it has *processed* with :meth:`consumed` and the session sends
  ``{"type":"ack","bytes":n}``; the server then keeps at most its window (256 KiB on the local
  backend) unprocessed, so after ctrl+C in a flood only that much output is still to come. A
  server that does not confirm gets no acks and the session relies on pausing reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from .dialects import (
    Dialect,
    ReplayTrimmer,
    check_dialect,
    decode_output,
    input_frames,
    parse_cf_control,
    replay_overlap,
    resize_frame,
    session_gone,
    waits_for_ready,
)
from .status import (
    RETRYABLE_HTTP,
    SessionState,
    SessionStatus,
    closed_status,
    network_message,
    opener_retryable,
    refusal_message,
)

__all__ = [
    "Dialect",
    "Opener",
    "SessionState",
    "SessionStatus",
    "TerminalSession",
    "replay_overlap",
    "with_query",
]


_SEND_SLICE = 64 * 1024  # one frame carries at most this much typed/pasted input
_REPLAY_KEEP = 256 * 1024  # tail of received output kept to de-duplicate a replay
_REPLAYING = ("cf", "ssh")  # dialects whose servers replay output on re-attach


class Opener(Protocol):
    """Returns the URL for the next connection attempt (see the module docs)."""

    async def __call__(self, *, renew: bool, size: tuple[int, int]) -> str: ...


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to (or replacing those in) its query string."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class TerminalSession:
    """A shell over WebSocket with resize, keepalive pings and reconnect with backoff.

    ``url`` is where to connect, or None when ``opener`` says it (see the module docs).
    ``on_output`` receives raw terminal bytes; ``on_status`` receives every
    :class:`SessionStatus` change. Both are called on the event loop and must not block.
    """

    def __init__(
        self,
        url: str | None,
        dialect: Dialect,
        *,
        opener: Opener | None = None,
        headers: Mapping[str, str] | None = None,
        on_output: Callable[[bytes], None],
        on_status: Callable[[SessionStatus], None] | None = None,
        size: tuple[int, int] = (80, 24),
        max_attempts: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 10.0,
        ping_interval: float | None = 20.0,
        open_timeout: float = 30.0,
        acknowledge: bool = False,
    ) -> None:
        self.dialect: Dialect = check_dialect(dialect)
        if (url is None) == (opener is None):
            raise ValueError("give a terminal session either a url or an opener")
        self._ask_acks = acknowledge and dialect == "cf"
        self._opener = opener
        self.url = self._prepared(url) if url is not None else ""
        self._headers = dict(headers or {})
        self._on_output = on_output
        self._on_status = on_status
        self._size = size
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._ping_interval = ping_interval
        self._open_timeout = open_timeout

        self._pending = bytearray()  # typed input not yet handed to a live socket
        # Input sent on this socket before the server said anything. If the server then closes
        # with "Session not found", no shell ever read it, so it goes to the renewed session.
        self._unheard = bytearray()
        self._heard = False
        self._size_dirty = True
        self._wake = asyncio.Event()  # something to send
        self._stop = asyncio.Event()  # close() was called
        self._reading = asyncio.Event()  # cleared by pause_output()
        self._reading.set()
        self._ws: ClientConnection | None = None
        self._can_send = False  # once open; cf: once ready
        self._tail = bytearray()  # last output bytes, for replay de-duplication
        self._trimmer: ReplayTrimmer | None = None  # ssh: trimming a reconnect's replay
        self._task: asyncio.Task[SessionStatus] | None = None
        self._last_error = ""  # cf "error" status text, to explain a close that follows it
        self._gone = False  # the last attempt was told its session does not exist
        self._connection = 0  # numbers the sockets, so acks only count this socket's bytes
        self.acknowledging = False  # the server confirmed acknowledged flow control
        self._unprocessed: deque[list[int]] = deque()  # [connection, bytes] emitted, in order
        self._ack_due = 0  # processed bytes of this socket not yet acknowledged
        self.status = SessionStatus(SessionState.CONNECTING, "Connecting…")
        self.connections = 0  # successful opens so far (1 + reconnects)
        self.renewals = 0  # new sessions the opener made because the server lost ours

    # ------------------------------------------------------------------ public API
    @property
    def size(self) -> tuple[int, int]:
        return self._size

    @property
    def pending_input(self) -> int:
        """Bytes typed but not yet sent (e.g. while reconnecting)."""
        return len(self._pending)

    def start(self) -> asyncio.Task[SessionStatus]:
        """Run the session in a task on the current loop (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.run())
        return self._task

    def send_input(self, data: bytes) -> None:
        """Queue keyboard/paste bytes; they are sent in order, surviving reconnects."""
        if not data or self.status.final:
            return
        self._pending += data
        self._wake.set()

    def resize(self, cols: int, rows: int) -> None:
        """Remember the size and send it now (or as soon as the socket can take it)."""
        cols, rows = max(1, int(cols)), max(1, int(rows))
        if (cols, rows) == self._size and not self._size_dirty:
            return
        self._size = (cols, rows)
        self._size_dirty = True
        self._wake.set()

    def consumed(self, count: int) -> None:
        """The consumer has processed ``count`` more bytes of output (in emission order)."""
        queue = self._unprocessed
        due = 0
        while count > 0 and queue:
            entry = queue[0]
            step = min(count, entry[1])
            if entry[0] == self._connection:
                due += step
            entry[1] -= step
            count -= step
            if entry[1] == 0:
                queue.popleft()
        if due and self.acknowledging:
            self._ack_due += due
            self._wake.set()

    def pause_output(self) -> None:
        """Stop reading from the socket until :meth:`resume_output` (flow control)."""
        self._reading.clear()

    def resume_output(self) -> None:
        self._reading.set()

    async def close(self) -> None:
        """End the session from our side; the remote shell is left to the server's policy."""
        self._stop.set()
        self._reading.set()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(Exception):
                await ws.close(1000, "client disconnect")
        if self._task is not None and self._task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run(self) -> SessionStatus:
        """Connect, pump data both ways, reconnect on drops; return the final status."""
        attempt = 0
        renew = False  # the next opener call must make a new session
        renewed = False  # a new session was made since the last successful open
        while True:
            if self._stop.is_set():
                return self._set(SessionStatus(SessionState.CLOSED, "Closed"))
            if attempt == 0 and not renewed:
                self._set(SessionStatus(SessionState.CONNECTING, "Connecting…"))
            self._gone = False
            try:
                url = await self._next_url(renew)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # an opener's failure, whatever its library raises
                message = f"Could not open the terminal: {exc}"
                if not opener_retryable(exc):
                    return self._set(SessionStatus(SessionState.FAILED, message))
                status = SessionStatus(SessionState.RECONNECTING, message)
            else:
                if renew:
                    renew = False
                    self.renewals += 1
                    # A new shell: what the old one printed says nothing about its replay.
                    self._tail.clear()
                status, opened = await self._attempt(url)
                if opened:
                    attempt, renewed = 0, False

            if self._gone and self._opener is not None and not renewed and not self._stop.is_set():
                # Once: a session made a moment ago that is gone already will not come back.
                renew = renewed = True
                self._pending[:0] = self._unheard
                self._unheard.clear()
                self._set(
                    SessionStatus(
                        SessionState.CONNECTING,
                        "The server no longer knew this terminal's session; opening a new one…",
                    )
                )
                continue
            if status.final:
                return self._set(status)
            if self._stop.is_set():
                return self._set(SessionStatus(SessionState.CLOSED, "Closed"))
            attempt += 1
            if attempt > self._max_attempts:
                return self._set(
                    SessionStatus(
                        SessionState.FAILED,
                        f"Gave up after {self._max_attempts} reconnect attempts: {status.message}",
                        close_code=status.close_code,
                        attempt=attempt - 1,
                    )
                )
            delay = min(self._backoff_cap, self._backoff_base * (2 ** (attempt - 1)))
            self._set(
                SessionStatus(
                    SessionState.RECONNECTING,
                    f"{status.message}; reconnecting in {delay:.1f} s "
                    f"(attempt {attempt}/{self._max_attempts})",
                    close_code=status.close_code,
                    attempt=attempt,
                )
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=delay)

    async def _next_url(self, renew: bool) -> str:
        if self._opener is not None:
            self.url = self._prepared(await self._opener(renew=renew, size=self._size))
        return self.url

    def _prepared(self, url: str) -> str:
        return with_query(url, flow="ack") if self._ask_acks else url

    async def _attempt(self, url: str) -> tuple[SessionStatus, bool]:
        """One connection: how it ended, and whether it opened at all."""
        opened = False
        try:
            async with connect(
                url,
                additional_headers=self._headers or None,
                # Compressing a flood costs the server about as much CPU as reading it;
                # worth it across a network, pure loss to a backend on this machine.
                compression=None if _is_loopback(url) else "deflate",
                ping_interval=self._ping_interval,
                ping_timeout=self._ping_interval,
                open_timeout=self._open_timeout,
                # Bound what websockets buffers for us (at most 16 frames of at most 4 MiB;
                # servers send PTY chunks and one 256 KiB replay); pausing reads then
                # stalls the server instead of growing memory.
                max_size=4 * 1024 * 1024,
                max_queue=16,
            ) as ws:
                self._ws = ws
                self.connections += 1
                self._last_error = ""
                opened = True
                return await self._serve(ws), opened
        except InvalidStatus as exc:
            code = exc.response.status_code
            self._gone = code == 404
            state = SessionState.RECONNECTING if code in RETRYABLE_HTTP else SessionState.FAILED
            return SessionStatus(state, refusal_message(code, exc.response.body)), opened
        except InvalidURI as exc:
            return SessionStatus(SessionState.FAILED, f"Bad terminal URL: {exc}"), opened
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            return SessionStatus(SessionState.RECONNECTING, network_message(exc)), opened
        finally:
            self._ws = None
            self._can_send = False
            self._end_trimming()

    # ------------------------------------------------------------------ one connection
    async def _serve(self, ws: ClientConnection) -> SessionStatus:
        self._size_dirty = True  # a new socket (maybe a new PTY) must learn our size
        self._heard = False
        self._unheard.clear()
        self._connection += 1
        self.acknowledging = False
        self._ack_due = 0
        if self.dialect == "ssh" and self._tail:
            # The server replays everything first; what we showed before is cut off.
            self._trimmer = ReplayTrimmer(bytes(self._tail[-_REPLAY_KEEP:]))
        if not waits_for_ready(self.dialect):
            self._can_send = True
            self._set(SessionStatus(SessionState.CONNECTED, "Connected", attempt=0))
            self._wake.set()
        reader = asyncio.create_task(self._read_loop(ws))
        writer = asyncio.create_task(self._write_loop(ws))
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait(
                {reader, writer, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            if stopper in done:
                with contextlib.suppress(Exception):
                    await ws.close(1000, "client disconnect")
                return SessionStatus(SessionState.CLOSED, "Closed")
            # The writer only ends by failing; the reader holds the close details either way.
            if writer in done and not reader.done():
                exc = writer.exception()
                if exc is not None and not isinstance(exc, ConnectionClosed):
                    raise exc
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), timeout=5)
            if reader.done():
                return reader.result()
            return self._closed_status(ws.close_code, ws.close_reason or "")
        finally:
            for task in (reader, writer, stopper):
                task.cancel()
            for task in (reader, writer, stopper):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _read_loop(self, ws: ClientConnection) -> SessionStatus:
        replay: list[bytes] | None = [] if self.dialect == "cf" else None
        try:
            while True:
                await self._reading.wait()
                message = await ws.recv()
                if not self._heard:
                    self._heard = True
                    self._unheard.clear()
                if self.dialect != "cf":
                    self._emit_text_dialect(decode_output(self.dialect, message))
                    continue
                if isinstance(message, bytes):
                    if replay is not None:
                        replay.append(message)  # everything before "ready" is the replay
                    else:
                        self._emit_output(message)
                    continue
                status = self._cf_control(message)
                if status == "ready":
                    if replay is not None:
                        self._emit_replay(b"".join(replay))
                        replay = None
                    self._can_send = True
                    self._wake.set()
                elif isinstance(status, SessionStatus) and status.final:
                    with contextlib.suppress(Exception):
                        await ws.close(1000, "client disconnect")
                    return status
        except ConnectionClosed as exc:
            if replay:
                self._emit_replay(b"".join(replay))
            rcvd = exc.rcvd
            if rcvd is None:
                return SessionStatus(SessionState.RECONNECTING, "Connection lost", close_code=1006)
            return self._closed_status(rcvd.code, rcvd.reason)

    def _cf_control(self, text: str) -> str | SessionStatus | None:
        control = parse_cf_control(text)
        if control is None:
            return None  # unknown chatter from a newer server; ignore it
        if control.kind == "ready":
            self.acknowledging = self._ask_acks and control.flow == "ack"
            self._set(SessionStatus(SessionState.CONNECTED, "Connected"))
            return "ready"
        if control.kind == "error":
            message = control.message or "Terminal error"
            self._last_error = message
            self._set(SessionStatus(SessionState.ERROR, message))
            return None
        if control.kind == "exit":
            if control.code is not None:
                message = f"Process exited with code {control.code}"
            elif control.signal:
                message = f"Process killed by signal {control.signal}"
            else:
                message = "Process exited"
            return SessionStatus(SessionState.EXITED, message, exit_code=control.code)
        return None

    async def _write_loop(self, ws: ClientConnection) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._can_send:
                continue
            if self._size_dirty:
                cols, rows = self._size
                self._size_dirty = False
                await ws.send(resize_frame(cols, rows))
            # Keys first: typed input goes out before the acks that let more output in.
            while self._pending and self._can_send:
                frames, used = input_frames(self.dialect, self._pending, _SEND_SLICE)
                for frame in frames:
                    await ws.send(frame)
                if not self._heard:
                    self._unheard += self._pending[:used]
                del self._pending[:used]  # only now: a failed send keeps the input for the next socket
            if self._ack_due and self.acknowledging:
                due, self._ack_due = self._ack_due, 0
                await ws.send(json.dumps({"type": "ack", "bytes": due}))

    # ------------------------------------------------------------------ helpers
    def _emit_text_dialect(self, data: bytes) -> None:
        trimmer = self._trimmer
        if trimmer is not None:
            data = trimmer.feed(data)
            if trimmer.done:
                self._trimmer = None
        self._emit_output(data)

    def _end_trimming(self) -> None:
        trimmer, self._trimmer = self._trimmer, None
        if trimmer is not None:
            self._emit_output(trimmer.flush())

    def _emit_output(self, data: bytes) -> None:
        if not data:
            return
        if self.acknowledging:
            queue = self._unprocessed
            if queue and queue[-1][0] == self._connection:
                queue[-1][1] += len(data)
            else:
                queue.append([self._connection, len(data)])
        if self.dialect in _REPLAYING:
            self._tail += data
            if len(self._tail) > 2 * _REPLAY_KEEP:
                del self._tail[: len(self._tail) - _REPLAY_KEEP]
        self._on_output(data)

    def _emit_replay(self, replay: bytes) -> None:
        skip = replay_overlap(bytes(self._tail[-_REPLAY_KEEP:]), replay)
        if skip and self.acknowledging:
            self._ack_due += skip  # shown before the drop: processed already
            self._wake.set()
        self._emit_output(replay[skip:])

    def _closed_status(self, code: int | None, reason: str) -> SessionStatus:
        if not reason and self._last_error:
            reason = self._last_error
        self._gone = session_gone(code, reason)
        return closed_status(self.dialect, code, reason)

    def _set(self, status: SessionStatus) -> SessionStatus:
        self.status = status
        if self._on_status is not None:
            self._on_status(status)
        return status
