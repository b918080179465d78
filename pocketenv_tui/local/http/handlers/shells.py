"""XRPC handlers for a sandbox's live shells (local-backend extension, no hosted lexicon).

``io.pocketenv.sandbox.getShells`` lists the shells the terminal WebSockets keep alive for a
sandbox (by session key, see ``local/sandbox/shells.py``), so a client that forgot its keys, or
a second client, can find them again; ``io.pocketenv.sandbox.endShell`` ends one.

Both look the sandbox up as the caller's own first and then the key *within that sandbox*
only: a key of another sandbox, or another owner's sandbox, is never reachable, and the answer
for such a key is the same "no such shell" as for a key that never existed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pocketenv_tui.local.backend import Backend
from pocketenv_tui.local.http import validate as v
from pocketenv_tui.local.http.xrpc import NO_CONTENT, Call, Method, Param
from pocketenv_tui.local.sandbox.shells import ShellSession
from pocketenv_tui.local.state.ids import iso

NS = "io.pocketenv.sandbox."
MAX_KEY_LEN = 2048  # what a query param may carry, so every key a terminal URL made fits


def shell_view(session: ShellSession) -> dict[str, Any]:
    """One shell as the API shows it: never its output, only what identifies and describes it."""
    return {
        "key": session.key,
        "startedAt": iso(datetime.fromtimestamp(session.started_at, UTC)),
        "command": session.foreground_command(),
        "clients": len(session.attachments),
    }


def shell_not_found() -> v.XrpcError:
    # Its own error name: the generic 404 name (XRPCNotSupported) means "no such method" to
    # clients, which must not mistake a finished shell for a server without shell listing.
    return v.XrpcError(404, "ShellNotFound", "No shell with that key in this sandbox (it may have ended)")


def methods(b: Backend) -> list[Method]:
    async def get_shells(c: Call) -> Any:
        sandbox = await b.own_sandbox(c.params["id"], c.did)
        sessions = sorted(b.runtime.shells.of_sandbox(sandbox["id"]), key=lambda s: s.started_at)
        return {"shells": [shell_view(s) for s in sessions if s.exit_code is None]}

    async def end_shell(c: Call) -> Any:
        ref = v.string(c.input, "id", min_len=1, max_len=MAX_KEY_LEN)
        key = v.string(c.input, "key", min_len=1, max_len=MAX_KEY_LEN)
        sandbox = await b.own_sandbox(ref, c.did)
        session = b.runtime.shells.get(sandbox["id"], key)
        if session is None or session.exit_code is not None:
            raise shell_not_found()
        await session.terminate()
        return NO_CONTENT

    return [
        Method(NS + "getShells", "GET", get_shells, (Param("id", required=True),)),
        Method(NS + "endShell", "POST", end_shell, has_input=True),
    ]
