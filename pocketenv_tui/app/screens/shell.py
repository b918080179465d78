"""`t`: a sandbox's shell in the terminal widget. ctrl+] leaves and returns to the dashboard.

The terminal family comes from the sandbox's provider (``terminal_family``: cf, pty, tty or
ssh), the way the official clients choose it. The hosted Cloudflare worker takes a terminal
token (``actor.getTerminalToken``); every other route takes the login token.

The app remembers the session key it opened (``PocketenvApp.shell_keys``, kept in the state
directory across runs), so leaving and reopening the shell, or restarting the app, re-attaches
to the same shell on the server (cf and ssh replay its recent output and screen; pty and tty
get a fresh prompt). A shell that exits is forgotten: the next ``t`` starts a new one.

ssh sessions are made by the server (``POST /ssh/connect``), so for ssh the remembered key is
``ssh-<sessionId>`` (the key the local backend files that shell under too): a key that names
no session (a new shell) makes one, and the screen then remembers that one's key instead.
A remembered session the server no longer knows is replaced by a new one, with a note.
Lifetime: leaving with ctrl+] keeps the session, like every other family, so ``t`` re-attaches
and gets the replay; the app never ends it on leaving or quitting. It is ended with
``DELETE /ssh/disconnect/{id}`` when its shell exits (the server has usually dropped it by
then; the call makes sure and a 404 is fine). Otherwise the server's rules apply: the local
backend ends a shell nobody attached to within its grace period, and "End shell" in the
Shells tab ends it at once; the hosted API keeps it until the remote shell exits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.ssh_sessions import session_id_from_key, session_key
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.terminal.session import SessionState
from pocketenv_tui.terminal.widget import LEAVE_HINT, TerminalView

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp


class ShellScreen(Screen[None]):
    CSS_PATH = stylesheets("shell", "terminal")
    # Every key goes to the shell; the only way out is the widget's leave key (ctrl+]).
    AUTO_FOCUS = "TerminalView"

    def __init__(self, sandbox: Sandbox, session_key: str, dialect: str) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.session_key = session_key
        self.dialect = dialect

    @property
    def pocketenv(self) -> PocketenvApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(
            f"[b]{escape(self.sandbox.name)}[/b] · shell · {escape(LEAVE_HINT)} (back to the dashboard)",
            id="shell-title",
        )
        yield TerminalView(id="terminal")

    def on_mount(self) -> None:
        self.run_worker(self._connect, group="shell-connect", exclusive=True, exit_on_error=False)

    async def _connect(self) -> None:
        client = self.pocketenv.client
        context = self.pocketenv.context
        view = self.query_one(TerminalView)
        if self.dialect == "ssh":
            # The opener's HTTP calls run inside the session, which reports their failures.
            opener = client.ssh_opener(
                self.sandbox.id,
                session_id=session_id_from_key(self.session_key),
                on_session=self._ssh_session_made,
            )
            view.connect(opener, "ssh")
            return
        token = None
        try:
            if context.kind == "api" and self.dialect == "cf":
                # The hosted Cloudflare worker takes a terminal token, not the login token.
                token = await client.actor.get_terminal_token()
            url = client.terminal_url(
                self.sandbox.id,
                dialect=self.dialect,  # type: ignore[arg-type]
                session=self.session_key,
                token=token,
                base_sandbox=self.sandbox.base_sandbox,
            )
        except PocketenvError as exc:
            problem = describe_error(exc, context, "Could not open the shell")
            view.write(f"\x1b[1m{problem.what}\x1b[0m\r\n{problem.why}\r\n{problem.fix}\r\n".encode())
            return
        view.connect(url, self.dialect)  # type: ignore[arg-type]

    def _ssh_session_made(self, session_id: str, replaces: bool) -> None:
        """The server made an ssh session for this screen: remember its key from now on."""
        old, self.session_key = self.session_key, session_key(session_id)
        if old == self.session_key:
            return
        self.pocketenv.remember_shell(self.sandbox.id, self.session_key)
        self.pocketenv.forget_shells(self.sandbox.id, [old])
        if replaces:
            self.notify(
                "The server no longer had the previous shell; this is a new one.",
                title="Shell",
                severity="information",
            )

    def on_terminal_view_status_changed(self, event: TerminalView.StatusChanged) -> None:
        if event.status.state is SessionState.EXITED:
            # The shell itself ended; its key would only start a fresh shell under an old name.
            self.pocketenv.forget_shells(self.sandbox.id, [self.session_key])
            session_id = session_id_from_key(self.session_key) if self.dialect == "ssh" else None
            if session_id is not None:
                # On the app, not this screen: leaving right away must not cancel it.
                self.app.run_worker(
                    self._end_ssh_session(session_id), group="ssh-disconnect", exit_on_error=False
                )

    async def _end_ssh_session(self, session_id: str) -> None:
        try:
            await self.pocketenv.client.ssh_sessions().disconnect(session_id)
        except PocketenvError:
            pass  # tidying only: the shell is over either way

    def on_terminal_view_left(self, event: TerminalView.Left) -> None:
        event.stop()
        self.app.pop_screen()
