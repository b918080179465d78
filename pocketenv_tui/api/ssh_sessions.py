"""The ssh terminal family's HTTP half (daytona and deno sandboxes; reference/terminal.md §2.2).

A WebSocket of this family names a session that ``POST {api}/ssh/connect`` made (headers
``X-Sandbox-Id`` and the Bearer login token, body ``{cols, rows}``, answer
``{"sessionId": …}`` once the remote shell is open); ``DELETE {api}/ssh/disconnect/{id}``
ends it. :class:`SshOpener` is what a :class:`~pocketenv_tui.terminal.session.TerminalSession`
calls before each connection: it makes a session the first time, hands out the same URL on
reconnects (so they re-attach and the server replays), and makes a new one when asked to
renew (the server said the old one is gone).

The dashboard remembers an ssh shell under the key ``ssh-<sessionId>`` (:func:`session_key`),
the very key the local backend files the shell under, so the Shells tab, the remembered keys
and the server all name it the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from pocketenv_tui.api.errors import (
    PocketenvConnectionError,
    PocketenvError,
    PocketenvTimeoutError,
    error_from_response,
)
from pocketenv_tui.api.terminal_url import ssh_websocket_url

SSH_KEY_PREFIX = "ssh-"
MAX_SESSION_ID = 200  # a UUID is 36 characters; anything far longer is not a session id

# Told the session id when one is made: (session id, True if it replaces one the server lost).
SessionCallback = Callable[[str, bool], None]


def session_key(session_id: str) -> str:
    """The shell key the app remembers for an ssh session."""
    return SSH_KEY_PREFIX + session_id


def session_id_from_key(key: str | None) -> str | None:
    """The ssh session id a remembered key names, or None for a key that names none (a key
    made up for a new shell, or one of another family)."""
    if not key or not key.startswith(SSH_KEY_PREFIX):
        return None
    rest = key.removeprefix(SSH_KEY_PREFIX)
    try:
        uuid.UUID(rest)
    except ValueError:
        return None
    return rest


class SshSessions:
    """``POST /ssh/connect`` and ``DELETE /ssh/disconnect/{id}`` on one API.

    ``http`` carries the Bearer token already (the client's own httpx client); ``token`` is
    what goes into the WebSocket URL's ``?token=``.
    """

    def __init__(self, http: httpx.AsyncClient, api_url: str, token: str | None) -> None:
        self._http = http
        self.api_url = api_url.rstrip("/")
        self._token = token

    async def _request(self, method: str, path: str, **options: object) -> httpx.Response:
        url = f"{self.api_url}{path}"
        try:
            response = await self._http.request(method, url, **options)  # type: ignore[arg-type]
        except httpx.TimeoutException:
            raise PocketenvTimeoutError(f"{method} {path} timed out") from None
        except httpx.HTTPError as exc:
            raise PocketenvConnectionError(f"cannot reach {self.api_url}: {exc}") from None
        return response

    async def connect(self, sandbox_id: str, cols: int = 80, rows: int = 24) -> str:
        """Open a shell in the sandbox; its session id (the answer waits for the shell)."""
        response = await self._request(
            "POST",
            "/ssh/connect",
            json={"cols": cols, "rows": rows},
            headers={"X-Sandbox-Id": sandbox_id},
        )
        if response.status_code != 200:
            raise error_from_response(response)
        try:
            session_id = response.json().get("sessionId")
        except (ValueError, AttributeError):
            session_id = None
        if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_SESSION_ID:
            raise PocketenvError(502, "InvalidResponse", "POST /ssh/connect answered without a sessionId")
        return session_id

    async def disconnect(self, session_id: str) -> bool:
        """End the session's shell; False when the server no longer knew it (ended already)."""
        response = await self._request("DELETE", f"/ssh/disconnect/{session_id}")
        if response.status_code == 404:
            return False
        if not 200 <= response.status_code < 300:
            raise error_from_response(response)
        return True

    def websocket_url(self, session_id: str) -> str:
        return ssh_websocket_url(self.api_url, session_id, self._token)


class SshOpener:
    """A terminal session's opener for one sandbox's ssh shell (see the module docs).

    ``session_id`` is a session to re-attach to first (a remembered one); without it the first
    call makes one. ``on_session`` hears of every session made.
    """

    def __init__(
        self,
        sessions: SshSessions,
        sandbox_id: str,
        *,
        session_id: str | None = None,
        on_session: SessionCallback | None = None,
    ) -> None:
        self.sessions = sessions
        self.sandbox_id = sandbox_id
        self.session_id = session_id
        self._on_session = on_session

    async def __call__(self, *, renew: bool, size: tuple[int, int]) -> str:
        if renew or self.session_id is None:
            replaces = self.session_id is not None
            cols, rows = size
            # Only on success: a failed call leaves the old id, and the next call tries again.
            self.session_id = await self.sessions.connect(self.sandbox_id, cols, rows)
            if self._on_session is not None:
                self._on_session(self.session_id, replaces)
        return self.sessions.websocket_url(self.session_id)
