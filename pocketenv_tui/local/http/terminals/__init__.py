"""The terminal routes of the local backend: the four families of the hosted API, one shell registry.

The hosted API picks a family by ``sandbox.provider`` (reference/terminal.md); the local
backend runs every sandbox on this machine and serves all four, so a sandbox recorded with
any provider opens the way the official clients open it. All of them reach the same kind of
shell: ``bash -i`` on a PTY in the runtime's shell registry (``sandbox/shells.py``).

``/pty/{id}/ws`` and ``/tty/{id}/ws`` (text dialect; upstream pty for vercel, modal, e2b,
hopx, runloop, blaxel, and tty for sprites)
    Token: ``?token=`` or ``Authorization: Bearer``. Session key: ``?sessionId=``, default the
    sandbox id (so every client of a sandbox shares one shell, as upstream does). The two paths
    are one route: the same key reaches the same shell through either (upstream keeps two
    maps, but a sandbox is only ever opened through its provider's family). Client text
    frames that are JSON ``{"type":"resize","cols":C,"rows":R}`` resize the PTY; any other
    frame (text, or binary taken as raw bytes) is keyboard input. The server sends output as
    text frames, decoded as UTF-8 across frame boundaries (a character split between two
    reads is never mangled). No replay: re-attaching to a live shell gets a ``\\n`` typed
    into it so the prompt is drawn again. Shell exit closes with 1000 "exit"; failures close
    with 1011 and the reason; a bad token with 1008 "Invalid token".

``/v1/sandboxes/{id}/ws/terminal`` (binary dialect, like the Cloudflare sandbox worker)
    Token: ``?t=`` or ``Authorization: Bearer``. Session key: ``?session=``, default
    ``sandbox-<id>``. Optional ``?cols=&rows=`` for the size of a new shell. On open the
    server sends the replay (the last 256 KiB of output, one binary frame, only if there is
    any) and then ``{"type":"ready"}``. Output is binary frames of raw PTY bytes; keyboard
    input must be binary frames; text frames are JSON control messages (only resize), and
    anything else gets ``{"type":"error","message":...}``. When the shell ends the server sends
    ``{"type":"exit","code":n}`` and closes with 1000. Errors (bad token, unknown or stopped
    sandbox) are an ``error`` status followed by a close. The hosted service runs this route
    on per-template worker hosts; here the API serves it itself.

``POST /ssh/connect``, ``WS /ssh/{sessionId}/ws``, ``DELETE /ssh/disconnect/{sessionId}``
(ssh family; upstream daytona and deno)
    A session is made over HTTP (``X-Sandbox-Id``, Bearer, ``{cols, rows}`` →
    ``{"sessionId"}``), then attached over a WebSocket whose output frames are base64 and
    which replays the output so far; see ``ssh`` for the details.

Flow control (all): output is read from the PTY only as fast as the client takes it (see
``shells``): a frame carries at most 64 KiB, the next is sent once the socket's write buffer
drained, and above a high watermark of unsent or unprocessed bytes the PTY is no longer read,
so the program blocks as under a real terminal. A binary-dialect client may go further and
acknowledge what it has *processed*: it asks with ``?flow=ack``, the server confirms with
``"flow":"ack"`` in ``ready``, and the client then sends ``{"type":"ack","bytes":n}`` for every
n bytes of output (the replay included) it has dealt with. The server then keeps at most a
window of 256 KiB unacknowledged, which bounds what is still on its way after a ctrl+C no
matter how large the sockets' kernel buffers are. Clients that never ask (the official CLI,
the upstream worker's clients) are unaffected.

Re-attaching to a live shell whose program is on the alternate screen makes that program
redraw (see ``ShellSession.request_redraw``).

All: no answer of any kind without a valid token (the login token, or a terminal token from
``actor.getTerminalToken``), and a session key only ever reaches a shell of the sandbox named
in the URL (for ssh: the one its session was made for), which must belong to the token's owner.

Hostile frames never end a session. In the text dialects (pty, tty, ssh) only a small,
shallow JSON object is even tried as a resize (``MAX_CONTROL_BYTES``, ``MAX_CONTROL_DEPTH``);
anything else is typed. In the binary dialect every text frame that is not a valid resize
gets an ``error`` status naming what is wrong (too large, too deep, not JSON, not an object,
lone surrogate, unknown type, bad size) and the session goes on.

At most ``max_shells`` shells live per sandbox (``POCKETENV_MAX_SHELLS`` or ``serve
--max-shells``, default 8; the runtime's shell registry counts them, shells being started
included, ssh sessions too). Shells whose clients left count until their grace period ends.
Re-attaching to a live session key is always allowed; a new key over the cap is refused with
close code 1013 (try again later), after an ``error`` status in the binary dialect, and a new
ssh session with HTTP 503.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute

from pocketenv_tui.local.http.terminals.common import (
    MAX_CONTROL_BYTES,
    MAX_CONTROL_DEPTH,
    BadControl,
    SandboxResolver,
    TokenVerifier,
    parse_control,
)
from pocketenv_tui.local.http.terminals.dialects import BinaryTerminal, PtyTerminal
from pocketenv_tui.local.http.terminals.ssh import SshSessions, SshTerminal, ssh_routes
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime

__all__ = [
    "MAX_CONTROL_BYTES",
    "MAX_CONTROL_DEPTH",
    "BadControl",
    "BinaryTerminal",
    "PtyTerminal",
    "SshTerminal",
    "parse_control",
    "terminal_routes",
]


def terminal_routes(
    runtime: SandboxRuntime, verify_token: TokenVerifier, resolve_sandbox: SandboxResolver
) -> list[BaseRoute]:
    """Starlette routes for every terminal family (see the module docs).

    ``verify_token`` decides who may open a terminal (the app passes
    ``Identity.verify_terminal_token``, which also takes terminal tokens).
    """
    pty = PtyTerminal(runtime, verify_token, resolve_sandbox)
    binary = BinaryTerminal(runtime, verify_token, resolve_sandbox)
    ssh = SshTerminal(runtime, verify_token, resolve_sandbox, SshSessions(runtime.shells))
    return [
        WebSocketRoute("/pty/{id}/ws", pty.serve),
        WebSocketRoute("/tty/{id}/ws", pty.serve),
        WebSocketRoute("/v1/sandboxes/{id}/ws/terminal", binary.serve),
        *ssh_routes(ssh),
    ]
