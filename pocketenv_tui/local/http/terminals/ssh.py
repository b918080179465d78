"""The ssh family (Daytona and Deno upstream): a session made over HTTP, then a WebSocket.

``POST /ssh/connect``
    Headers ``X-Sandbox-Id`` (the sandbox's id or name, resolved like the other routes, so
    only the owner's sandboxes are found) and ``Authorization: Bearer`` (the login token or a
    terminal token); JSON body ``{cols, rows}``, both optional (80x24). The sandbox must be
    running. A shell is started under the registry key ``ssh-<sessionId>`` (so it counts
    against the per-sandbox cap and follows the grace rules of every shell: nobody attached
    for the grace period, it ends), and once it runs the answer is ``{"sessionId": "<uuid>"}``,
    a random UUID. Failures are ``{"error", "message"}``: 401 bad token, 400 bad request, 404
    unknown sandbox, 409 not running, 413 body too large, 503 shell cap reached, 500 the shell
    could not start.

``WS /ssh/{sessionId}/ws``
    Token ``?token=`` or Bearer (1008 "Invalid token" otherwise). A sessionId reaches only the
    shell it was made for, and only for the DID that made it: anyone else, like an id that
    never existed or whose shell ended, gets close 1011 "Session not found". On attach the
    server replays the shell's output so far as base64 text frames, then sends each output
    chunk as one base64 text frame. Client text frames are a JSON resize (small and shallow,
    as in the pty dialect) or keystrokes; binary frames are keystrokes. When the shell ends
    the server closes with 1000 "closed". Hostile frames never end a session: anything that
    is not a small resize object is typed into the shell.

``DELETE /ssh/disconnect/{sessionId}``
    Bearer token; ends the shell (SIGHUP, then SIGKILL) and answers 200 ``{}``; an unknown id
    (or another DID's) is 404 ``{"error": "Session not found"}``.

Replay is the shell's own ring buffer, the last 256 KiB of output. Upstream keeps every
base64 chunk since connect in a list that only its SSE route ever clears, so a WebSocket
session's memory grows without bound; here it is bounded whatever the shell prints.

The shell is an ordinary registry shell, so the same owner also sees it in the Shells tab
(``sandbox.getShells``) under its key ``ssh-<sessionId>`` and may end it there; a dashboard
that remembers that key re-attaches through this family.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from pocketenv_tui.local.http.terminals.common import (
    CLOSE_ERROR,
    CLOSE_NORMAL,
    CLOSE_TRY_AGAIN,
    MAX_CONTROL_BYTES,
    BadControl,
    Refused,
    SandboxResolver,
    Terminal,
    TextInput,
    TokenVerifier,
    bearer,
    close,
    parse_control,
)
from pocketenv_tui.local.http.terminals.dialects import attach_shell
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime
from pocketenv_tui.local.sandbox.shell_output import SEND_LIMIT, Attachment
from pocketenv_tui.local.sandbox.shells import ShellRegistry, ShellSession, valid_size

SSH_KEY_PREFIX = "ssh-"
SESSION_NOT_FOUND = "Session not found"
# Replay frames carry what a live frame carries at most, before base64.
REPLAY_SLICE = SEND_LIMIT


@dataclass(frozen=True, slots=True)
class SshSession:
    session_id: str
    did: str
    sandbox_id: str

    @property
    def key(self) -> str:
        return SSH_KEY_PREFIX + self.session_id


class SshSessions:
    """sessionId → who made it and which shell it reaches.

    An entry lives as long as its shell: entries of shells that ended are dropped on the next
    lookup or creation, so the map never holds more than the live shells plus those that
    ended since the last call.
    """

    def __init__(self, registry: ShellRegistry) -> None:
        self.registry = registry
        self._sessions: dict[str, SshSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def add(self, session: SshSession) -> None:
        self._prune()
        self._sessions[session.session_id] = session

    def find(self, session_id: str, did: str) -> tuple[SshSession, ShellSession] | None:
        """The session and its live shell, if ``did`` made it; None otherwise (no hint why)."""
        self._prune()
        session = self._sessions.get(session_id)
        if session is None or session.did != did:
            return None
        shell = self.registry.get(session.sandbox_id, session.key)
        return (session, shell) if shell is not None else None

    def remove(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _prune(self) -> None:
        gone = [
            sid for sid, s in self._sessions.items() if self.registry.get(s.sandbox_id, s.key) is None
        ]
        for sid in gone:
            del self._sessions[sid]


class SshTerminal(TextInput, Terminal):
    """``WS /ssh/{sessionId}/ws``: attach to the shell a ``POST /ssh/connect`` started."""

    def __init__(
        self, runtime: SandboxRuntime, verify_token: TokenVerifier, resolve: SandboxResolver, sessions: SshSessions
    ) -> None:
        super().__init__(runtime, verify_token, resolve)
        self.sessions = sessions

    async def open_shell(self, ws: WebSocket, did: str) -> tuple[ShellSession, Attachment, bool]:
        found = self.sessions.find(ws.path_params["session_id"], did)
        if found is None:
            raise Refused(SESSION_NOT_FOUND, CLOSE_ERROR)
        # Never through registry.attach: that would start a shell for a key nobody made.
        shell = found[1]
        return shell, shell.attach(), False

    async def on_attached(self, ws: WebSocket, session: ShellSession, attachment: Attachment, created: bool) -> None:
        replay = attachment.replay
        for start in range(0, len(replay), REPLAY_SLICE):
            await self.send_output(ws, replay[start : start + REPLAY_SLICE])

    async def send_output(self, ws: WebSocket, chunk: bytes) -> None:
        await ws.send_text(base64.b64encode(chunk).decode("ascii"))

    async def on_exit(self, ws: WebSocket, code: int) -> None:
        await close(ws, CLOSE_NORMAL, "closed")


def _error(status: int, error: str, message: str | None = None, **headers: str) -> JSONResponse:
    body = {"error": error} if message is None else {"error": error, "message": message}
    return JSONResponse(body, status_code=status, headers=headers or None)


class _TooLarge(Exception):
    pass


async def _small_body(request: Request, limit: int) -> bytes:
    """The request body, refusing one over ``limit`` bytes before reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def _size(body: bytes) -> tuple[int, int]:
    """(cols, rows) from a connect body; BadControl saying what is wrong with it."""
    if not body.strip():
        return 80, 24
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadControl("the body must be UTF-8 JSON") from None
    message = parse_control(text)
    cols = message.get("cols")
    rows = message.get("rows")
    cols = 80 if cols is None else cols
    rows = 24 if rows is None else rows
    if not valid_size(cols, rows):
        raise BadControl("cols and rows must be whole numbers from 1 to 1000")
    return cols, rows  # type: ignore[return-value]


class SshRoutes:
    """The HTTP half of the family: making and ending sessions."""

    def __init__(self, terminal: SshTerminal) -> None:
        self.terminal = terminal
        self.sessions = terminal.sessions

    def _did(self, request: Request) -> str | None:
        token = bearer(request.headers)
        return self.terminal.verify_token(token) if token else None

    async def connect(self, request: Request) -> Response:
        did = self._did(request)
        if did is None:
            return _error(401, "Unauthorized", "Invalid token")
        ref = request.headers.get("x-sandbox-id", "").strip()
        if not ref:
            return _error(400, "InvalidRequest", "the X-Sandbox-Id header is required")
        try:
            cols, rows = _size(await _small_body(request, MAX_CONTROL_BYTES))
        except _TooLarge:
            return _error(413, "PayloadTooLarge", f"the body may be at most {MAX_CONTROL_BYTES} bytes")
        except BadControl as exc:
            return _error(400, "InvalidRequest", str(exc).removeprefix("Invalid control message: "))
        sandbox_id = await self.terminal.resolve(ref, did)
        if sandbox_id is None:
            return _error(404, "SandboxNotFound", "Sandbox not found")
        if not self.terminal.runtime.is_running(sandbox_id):
            return _error(409, "SandboxNotRunning", "Sandbox is not running")
        session = SshSession(str(uuid.uuid4()), did, sandbox_id)
        try:
            shell, attachment, _ = await attach_shell(self.terminal, sandbox_id, session.key, cols, rows)
        except Refused as refused:
            if refused.code == CLOSE_TRY_AGAIN:
                return _error(503, "TooManyShells", str(refused), **{"Retry-After": "5"})
            return _error(500, "Failed to open shell", str(refused))
        # Nobody is attached until the WebSocket comes: the shell's grace period starts now,
        # and its output meanwhile goes to the replay buffer.
        shell.detach(attachment)
        self.sessions.add(session)
        return JSONResponse({"sessionId": session.session_id})

    async def disconnect(self, request: Request) -> Response:
        did = self._did(request)
        if did is None:
            return _error(401, "Unauthorized", "Invalid token")
        session_id = request.path_params["session_id"]
        found = self.sessions.find(session_id, did)
        if found is None:
            return _error(404, SESSION_NOT_FOUND)
        self.sessions.remove(session_id)
        await found[1].terminate()
        return JSONResponse({})


def ssh_routes(terminal: SshTerminal) -> list[BaseRoute]:
    routes = SshRoutes(terminal)
    return [
        Route("/ssh/connect", routes.connect, methods=["POST"]),
        Route("/ssh/disconnect/{session_id}", routes.disconnect, methods=["DELETE"]),
        WebSocketRoute("/ssh/{session_id}/ws", terminal.serve),
    ]
