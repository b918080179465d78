"""What a terminal session reports: its state, and how a close or a refusal reads to a person."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from enum import StrEnum

from websockets.exceptions import ConnectionClosed

from .dialects import Dialect, exit_close

# Close codes after which reconnecting cannot help: a clean close, a protocol or policy
# violation (1008 is how the servers reject a token), a server-side session error (the same
# request would fail the same way), and the application range 4000-4999.
FINAL_CLOSE_CODES = {1000, 1002, 1003, 1007, 1008, 1009, 1010, 1011}
# HTTP statuses on the upgrade (or of an opener's call) that a retry might get past.
RETRYABLE_HTTP = {408, 425, 429, 500, 502, 503, 504}


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


def closed_status(dialect: Dialect, code: int | None, reason: str) -> SessionStatus:
    """The status a close from the server leaves the session in."""
    if code is None:
        return SessionStatus(SessionState.RECONNECTING, "Connection lost", close_code=1006)
    if code == 1000:
        exited, exit_code = exit_close(dialect, code, reason)
        if exited:
            message = f"Process exited with code {exit_code}" if exit_code is not None else "Process exited"
            return SessionStatus(SessionState.EXITED, message, exit_code=exit_code, close_code=code)
        return SessionStatus(
            SessionState.CLOSED,
            f"Closed by server: {reason}" if reason else "Closed by server",
            close_code=code,
        )
    detail = f": {reason}" if reason else ""
    if code in FINAL_CLOSE_CODES or 4000 <= code <= 4999:
        what = "Access denied" if code == 1008 else "Session ended"
        return SessionStatus(SessionState.FAILED, f"{what} (code {code}){detail}", close_code=code)
    return SessionStatus(SessionState.RECONNECTING, f"Connection lost (code {code}){detail}", close_code=code)


def refusal_message(code: int, body: bytes | None) -> str:
    """What an HTTP answer to the upgrade says, for a person."""
    detail = (body or b"").decode("utf-8", errors="replace").strip()
    with contextlib.suppress(ValueError, AttributeError):
        parsed = json.loads(detail)
        detail = str(parsed.get("message") or parsed.get("error") or detail)
    names = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 400: "Bad request"}
    head = f"Server refused the terminal (HTTP {code} {names.get(code, '')})".replace(" )", ")")
    return f"{head}: {detail[:200]}" if detail else head


def network_message(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(exc, TimeoutError):
        return "Timed out connecting"
    if isinstance(exc, ConnectionClosed):
        return "Connection lost"
    text = str(exc) or type(exc).__name__
    return f"Cannot connect: {text}"


def opener_retryable(exc: BaseException) -> bool:
    """Whether an opener's failure may pass on retrying: the network, or a retryable status
    (``status`` 0 is how the API client says the server could not be reached)."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    status = getattr(exc, "status", None)
    return isinstance(status, int) and (status == 0 or status in RETRYABLE_HTTP)
