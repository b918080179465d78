"""The streaming exec: ``io.pocketenv.sandbox.execStream``, a local-backend extension.

The answer is a chunked stream of JSON lines (output as it comes, heartbeats while the command
is quiet, then its exit; see ``local/http/handlers/exec_stream.py``), read here into
:data:`ExecEvent` values. A server without the extension (the hosted API) answers 501;
:class:`ExecStreamUnsupported` says so, and callers fall back to ``sandbox.exec``.

Cancelling is closing: stop iterating (or cancel the task doing it) and the connection is
closed, which makes the server kill the command.

The read timeout is not the command's: the server sends a heartbeat every few seconds, so
``IDLE_LIMIT`` without a single line means the server is gone, however long the command runs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from pocketenv_tui.api.endpoints import endpoint
from pocketenv_tui.api.errors import (
    PocketenvConnectionError,
    PocketenvError,
    PocketenvTimeoutError,
    error_from_response,
)
from pocketenv_tui.api.xrpc import XrpcTransport

NSID = "sandbox.execStream"
IDLE_LIMIT = 30.0  # seconds without a line (the server's heartbeat is every 5 s)
MAX_EVENT_BYTES = 1024 * 1024  # one line; the server's are at most a few hundred KiB
# Error names a server gives a method it does not serve (reference/api.md §1.5).
_UNSERVED_ERRORS = frozenset({"MethodNotImplemented", "XRPCNotSupported", "MethodNotSupported"})


@dataclass(frozen=True, slots=True)
class ExecOutput:
    stream: Literal["stdout", "stderr"]
    data: str


@dataclass(frozen=True, slots=True)
class ExecHeartbeat:
    elapsed: float  # seconds since the command started, by the server's clock


@dataclass(frozen=True, slots=True)
class ExecFinished:
    exit_code: int
    timed_out: bool = False
    time_limit: float | None = None  # seconds the command was allowed


ExecEvent = ExecOutput | ExecHeartbeat | ExecFinished


class ExecStreamUnsupported(PocketenvError):
    """The server has no streaming exec; use ``sandboxes.exec`` instead."""

    def __init__(self, message: str = "this server does not offer streaming exec") -> None:
        super().__init__(501, "MethodNotImplemented", message, nsid="io.pocketenv." + NSID)


def method_unserved(exc: PocketenvError) -> bool:
    """Whether ``exc`` says the server has no such method (rather than that the call failed)."""
    return exc.status == 501 or (exc.status in (400, 404) and exc.error in _UNSERVED_ERRORS)


def parse_event(data: Any) -> ExecEvent | None:
    """One decoded line as an event; None for what this client does not know (newer servers)."""
    if not isinstance(data, dict):
        return None
    stream = data.get("stream")
    if stream in ("stdout", "stderr") and isinstance(data.get("data"), str):
        return ExecOutput(stream, data["data"])
    code = data.get("exitCode")
    if isinstance(code, int) and not isinstance(code, bool):
        limit = data.get("timeLimit")
        return ExecFinished(
            code,
            timed_out=data.get("timedOut") is True,
            time_limit=float(limit) if isinstance(limit, int | float) and not isinstance(limit, bool) else None,
        )
    beat = data.get("heartbeat")
    if isinstance(beat, int | float) and not isinstance(beat, bool):
        return ExecHeartbeat(float(beat))
    if isinstance(data.get("error"), str):
        message = data.get("message")
        raise PocketenvError(502, data["error"], str(message) if message else "the command failed on the server")
    return None


async def stream_exec(
    transport: XrpcTransport,
    sandbox_id: str,
    body: Mapping[str, Any],
    *,
    idle_limit: float = IDLE_LIMIT,
) -> AsyncIterator[ExecEvent]:
    """POST ``body`` (``{command, timeout?}``) to execStream and yield its events, the
    :class:`ExecFinished` last. Every failure is a :class:`PocketenvError`."""
    spec = endpoint(NSID)
    url = transport.api_url + spec.path
    if transport.plain_http_only and url.startswith("https://"):
        raise PocketenvConnectionError(f"{NSID}: {url} needs TLS, but this client was made for plain http only")
    limit = transport.timeout
    request = transport.http.build_request(
        "POST",
        url,
        params={"id": sandbox_id},
        json=dict(body),
        headers={"Accept": "application/x-ndjson"},
        timeout=httpx.Timeout(limit, read=idle_limit),
    )
    try:
        response = await transport.http.send(request, stream=True)
    except httpx.TimeoutException:
        raise PocketenvTimeoutError(f"{NSID}: no answer from {transport.api_url} within {limit:g} s", nsid=spec.nsid) from None
    except (httpx.HTTPError, httpx.InvalidURL, RuntimeError) as exc:
        raise PocketenvConnectionError(f"cannot reach {transport.api_url}: {_reason(exc)}", nsid=spec.nsid) from None
    try:
        if not response.is_success:
            await response.aread()
            error = error_from_response(response, spec.nsid)
            if method_unserved(error):
                raise ExecStreamUnsupported() from None
            raise error
        async for line in _lines(response):
            try:
                decoded = json.loads(line)
            except ValueError:
                raise PocketenvError(502, "InvalidResponse", f"{NSID}: the server sent a line that is not JSON") from None
            event = parse_event(decoded)
            if event is not None:
                yield event
                if isinstance(event, ExecFinished):
                    return
        raise PocketenvConnectionError(
            f"{NSID}: the server ended the output before the command finished", nsid=spec.nsid
        )
    except httpx.TimeoutException:
        raise PocketenvTimeoutError(
            f"{NSID}: no word from {transport.api_url} for {idle_limit:g} s while the command ran", nsid=spec.nsid
        ) from None
    except httpx.HTTPError as exc:
        raise PocketenvConnectionError(f"{NSID}: the output stream broke: {_reason(exc)}", nsid=spec.nsid) from None
    finally:
        # Closing an answer that is not fully read closes the connection: the server then
        # kills the command.
        await response.aclose()


async def _lines(response: httpx.Response) -> AsyncIterator[bytes]:
    pending = bytearray()
    async for chunk in response.aiter_bytes():
        pending += chunk
        while (end := pending.find(b"\n")) >= 0:
            line = bytes(pending[:end])
            del pending[: end + 1]
            if line.strip():
                yield line
        if len(pending) > MAX_EVENT_BYTES:
            raise PocketenvError(502, "InvalidResponse", f"{NSID}: the server sent a line over {MAX_EVENT_BYTES} bytes")
    if pending.strip():
        yield bytes(pending)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if not text and exc.__context__ is not None:
        text = str(exc.__context__).strip()
    return text or type(exc).__name__
