"""One interactive shell session over a WebSocket, in either Pocketenv dialect.

Dialects (see reference/terminal.md):

* ``"pty"`` — ``/pty/{id}/ws``: everything travels in text frames. Output is text; input is
  text; a frame that is the JSON object ``{"type":"resize","cols":c,"rows":r}`` is a resize.
  The server has no status messages: close 1000 "exit" means the shell ended, 1008 a bad token,
  1011 a session error.
* ``"cf"`` — ``/v1/sandboxes/{id}/ws/terminal``: output and input are binary frames; text
  frames are JSON status (``ready``, ``error``, ``exit`` with ``code``) from the server and JSON
  control (``resize``) from us. On open the server sends a replay of recent output, then
  ``ready``; the size is sent after ``ready``.

The session knows nothing of sandboxes: the caller hands it a URL that already carries the
token and the session key, so reconnecting re-attaches to the same remote shell.

Why the extra machinery compared with the upstream CLI:

* Typed input is kept in a buffer until a WebSocket send of it succeeded, so keys pressed while
  the link is down are flushed after reconnecting instead of being lost.
* After a reconnect in the cf dialect the server replays up to 256 KiB of output we have mostly
  already shown; the overlap with what we received before is cut off so the screen does not
  show it twice.
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
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

Dialect = Literal["pty", "cf"]

# Close codes after which reconnecting cannot help: a clean close, a protocol or policy
# violation (1008 is how the servers reject a token), a server-side session error (the same
# request would fail the same way), and the application range 4000-4999.
_FINAL_CLOSE_CODES = {1000, 1002, 1003, 1007, 1008, 1009, 1010, 1011}
# HTTP statuses on the upgrade that a retry might get past.
_RETRYABLE_HTTP = {408, 425, 429, 500, 502, 503, 504}

_SEND_SLICE = 64 * 1024  # one frame carries at most this much typed/pasted input
_REPLAY_KEEP = 256 * 1024  # tail of received output kept to de-duplicate a cf replay
_EXIT_REASON = re.compile(r"^exit(?:\D+(-?\d+))?", re.IGNORECASE)


class SessionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"  # socket open (cf: and the server said ready)
    RECONNECTING = "reconnecting"  # waiting out the backoff before the next attempt
    ERROR = "error"  # the server reported an error but the socket is still open
    EXITED = "exited"  # the remote shell ended; final
    CLOSED = "closed"  # closed by us or cleanly by the server; final
    FAILED = "failed"  # cannot (re)connect; final

    @property
    def final(self) -> bool:
        return self in (SessionState.EXITED, SessionState.CLOSED, SessionState.FAILED)


@dataclass(frozen=True)
class SessionStatus:
    state: SessionState
    message: str = ""
    exit_code: int | None = None
    close_code: int | None = None
    attempt: int = 0  # reconnect attempt number (0 on the first connection)

    @property
    def final(self) -> bool:
        return self.state.final


class _Outcome(Exception):
    """Raised inside one connection to end it with a known status."""

    def __init__(self, status: SessionStatus) -> None:
        super().__init__(status.message)
        self.status = status


def _utf8_boundary(data: bytes | bytearray, limit: int) -> int:
    """Largest cut <= limit that does not split a UTF-8 sequence (text frames must be valid)."""
    if len(data) <= limit:
        return len(data)
    cut = limit
    # Step back over continuation bytes (10xxxxxx) to the start of the character.
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut or limit


def _looks_like_resize(text: str) -> bool:
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return False
    try:
        value = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("type") == "resize"


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` added to (or replacing those in) its query string."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def replay_overlap(already: bytes, replay: bytes) -> int:
    """Length of the longest prefix of ``replay`` that ``already`` ends with.

    The cf server replays the tail of everything the shell printed; the part we received
    before the drop is a suffix of ``already`` and a prefix of ``replay``.
    """
    if not already or not replay:
        return 0
    seen, fresh = memoryview(already), memoryview(replay)
    probe_len = min(64, len(replay))
    probe = replay[:probe_len]
    # Overlaps of at least probe_len bytes contain the whole probe: let find() jump between
    # candidates, earliest first (the earliest start is the longest overlap).
    start = max(0, len(already) - len(replay))
    while (i := already.find(probe, start)) >= 0:
        k = len(already) - i
        if k <= len(replay) and seen[i:] == fresh[:k]:
            return k
        start = i + 1
    for k in range(min(probe_len - 1, len(already)), 0, -1):
        if seen[len(already) - k :] == fresh[:k]:
            return k
    return 0


class TerminalSession:
    """A shell over WebSocket with resize, keepalive pings and reconnect with backoff.

    ``on_output`` receives raw terminal bytes; ``on_status`` receives every
    :class:`SessionStatus` change. Both are called on the event loop and must not block.
    """

    def __init__(
        self,
        url: str,
        dialect: Dialect,
        *,
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
        if dialect not in ("pty", "cf"):
            raise ValueError(f"unknown terminal dialect {dialect!r} (expected 'pty' or 'cf')")
        self._ask_acks = acknowledge and dialect == "cf"
        self.url = with_query(url, flow="ack") if self._ask_acks else url
        self.dialect: Dialect = dialect
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
        self._size_dirty = True
        self._wake = asyncio.Event()  # something to send
        self._stop = asyncio.Event()  # close() was called
        self._reading = asyncio.Event()  # cleared by pause_output()
        self._reading.set()
        self._ws: ClientConnection | None = None
        self._can_send = False  # pty: once open; cf: once ready
        self._tail = bytearray()  # last output bytes, for cf replay de-duplication
        self._task: asyncio.Task[SessionStatus] | None = None
        self._last_error = ""  # cf "error" status text, to explain a close that follows it
        self._connection = 0  # numbers the sockets, so acks only count this socket's bytes
        self.acknowledging = False  # the server confirmed acknowledged flow control
        self._unprocessed: deque[list[int]] = deque()  # [connection, bytes] emitted, in order
        self._ack_due = 0  # processed bytes of this socket not yet acknowledged
        self.status = SessionStatus(SessionState.CONNECTING, "Connecting…")
        self.connections = 0  # successful opens so far (1 + reconnects)

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
        while True:
            if self._stop.is_set():
                return self._set(SessionStatus(SessionState.CLOSED, "Closed"))
            if attempt == 0:
                self._set(SessionStatus(SessionState.CONNECTING, "Connecting…"))
            try:
                async with connect(
                    self.url,
                    additional_headers=self._headers or None,
                    # Compressing a flood costs the server about as much CPU as reading it;
                    # worth it across a network, pure loss to a backend on this machine.
                    compression=None if _is_loopback(self.url) else "deflate",
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
                    attempt = 0
                    status = await self._serve(ws)
            except _Outcome as outcome:
                status = outcome.status
            except InvalidStatus as exc:
                code = exc.response.status_code
                message = self._http_message(code, exc)
                if code not in _RETRYABLE_HTTP:
                    return self._set(SessionStatus(SessionState.FAILED, message))
                status = SessionStatus(SessionState.RECONNECTING, message)
            except InvalidURI as exc:
                return self._set(SessionStatus(SessionState.FAILED, f"Bad terminal URL: {exc}"))
            except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
                status = SessionStatus(SessionState.RECONNECTING, self._network_message(exc))
            finally:
                self._ws = None
                self._can_send = False

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

    # ------------------------------------------------------------------ one connection
    async def _serve(self, ws: ClientConnection) -> SessionStatus:
        self._size_dirty = True  # a new socket (maybe a new PTY) must learn our size
        self._connection += 1
        self.acknowledging = False
        self._ack_due = 0
        if self.dialect == "pty":
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
                if self.dialect == "pty":
                    # Text frames are output; a binary frame from a /pty server is output too.
                    data = message.encode("utf-8") if isinstance(message, str) else message
                    self._emit_output(data)
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
        try:
            control = json.loads(text)
        except ValueError:
            return None  # unknown chatter from a newer server; ignore it
        if not isinstance(control, dict):
            return None
        kind = control.get("type")
        if kind == "ready":
            self.acknowledging = self._ask_acks and control.get("flow") == "ack"
            self._set(SessionStatus(SessionState.CONNECTED, "Connected"))
            return "ready"
        if kind == "error":
            message = str(control.get("message") or "Terminal error")
            self._last_error = message
            self._set(SessionStatus(SessionState.ERROR, message))
            return None
        if kind == "exit":
            code = control.get("code")
            code = code if isinstance(code, int) else None
            signal = control.get("signal")
            if code is not None:
                message = f"Process exited with code {code}"
            elif signal:
                message = f"Process killed by signal {signal}"
            else:
                message = "Process exited"
            return SessionStatus(SessionState.EXITED, message, exit_code=code)
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
                await ws.send(json.dumps({"type": "resize", "cols": cols, "rows": rows}))
            # Keys first: typed input goes out before the acks that let more output in.
            while self._pending and self._can_send:
                await self._send_pending_slice(ws)
            if self._ack_due and self.acknowledging:
                due, self._ack_due = self._ack_due, 0
                await ws.send(json.dumps({"type": "ack", "bytes": due}))

    async def _send_pending_slice(self, ws: ClientConnection) -> None:
        if self.dialect == "cf":
            chunk = bytes(self._pending[:_SEND_SLICE])
            await ws.send(chunk)
            del self._pending[: len(chunk)]
            return
        cut = _utf8_boundary(self._pending, _SEND_SLICE)
        chunk = bytes(self._pending[:cut])
        text = chunk.decode("utf-8", errors="replace")
        if _looks_like_resize(text):
            # A paste that happens to be a resize object would be eaten by the server.
            await ws.send(text[:1])
            await ws.send(text[1:])
        else:
            await ws.send(text)
        del self._pending[:cut]  # only now: a failed send keeps the input for the next socket

    # ------------------------------------------------------------------ helpers
    def _emit_output(self, data: bytes) -> None:
        if not data:
            return
        if self.acknowledging:
            queue = self._unprocessed
            if queue and queue[-1][0] == self._connection:
                queue[-1][1] += len(data)
            else:
                queue.append([self._connection, len(data)])
        if self.dialect == "cf":
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
        if code is None:
            return SessionStatus(SessionState.RECONNECTING, "Connection lost", close_code=1006)
        if not reason and self._last_error:
            reason = self._last_error
        if code == 1000:
            match = _EXIT_REASON.match(reason or "")
            if match:
                exit_code = int(match.group(1)) if match.group(1) else None
                message = (
                    f"Process exited with code {exit_code}"
                    if exit_code is not None
                    else "Process exited"
                )
                return SessionStatus(
                    SessionState.EXITED, message, exit_code=exit_code, close_code=code
                )
            return SessionStatus(
                SessionState.CLOSED,
                f"Closed by server: {reason}" if reason else "Closed by server",
                close_code=code,
            )
        if code in _FINAL_CLOSE_CODES or 4000 <= code <= 4999:
            what = "Access denied" if code == 1008 else "Session ended"
            detail = f": {reason}" if reason else ""
            return SessionStatus(
                SessionState.FAILED, f"{what} (code {code}){detail}", close_code=code
            )
        detail = f": {reason}" if reason else ""
        return SessionStatus(
            SessionState.RECONNECTING, f"Connection lost (code {code}){detail}", close_code=code
        )

    @staticmethod
    def _http_message(code: int, exc: InvalidStatus) -> str:
        body = exc.response.body or b""
        detail = body.decode("utf-8", errors="replace").strip()
        with contextlib.suppress(ValueError, AttributeError):
            parsed = json.loads(detail)
            detail = str(parsed.get("message") or parsed.get("error") or detail)
        names = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 400: "Bad request"}
        head = f"Server refused the terminal (HTTP {code} {names.get(code, '')})".replace(" )", ")")
        return f"{head}: {detail[:200]}" if detail else head

    @staticmethod
    def _network_message(exc: BaseException) -> str:
        if isinstance(exc, ConnectionRefusedError):
            return "Connection refused"
        if isinstance(exc, TimeoutError):
            return "Timed out connecting"
        if isinstance(exc, ConnectionClosed):
            return "Connection lost"
        text = str(exc) or type(exc).__name__
        return f"Cannot connect: {text}"

    def _set(self, status: SessionStatus) -> SessionStatus:
        self.status = status
        if self._on_status is not None:
            self._on_status(status)
        return status
