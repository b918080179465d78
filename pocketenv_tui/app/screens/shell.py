"""`t`: a sandbox's shell in the terminal widget. ctrl+] leaves and returns to the dashboard.

The app remembers the session key it opened (``PocketenvApp.shell_keys``, kept in the state
directory across runs), so leaving and reopening the shell, or restarting the app, re-attaches
to the same shell on the server, which replays its recent output and screen. A shell that
exits is forgotten: the next ``t`` starts a new one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox
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
        token = None
        try:
            if context.kind == "api" and self.sandbox.provider == "cloudflare":
                # The hosted Cloudflare worker takes a terminal token, not the login token.
                token = await client.actor.get_terminal_token()
            url = client.terminal_url(
                self.sandbox.id,
                dialect=self.dialect,
                session=self.session_key,
                token=token,
                base_sandbox=self.sandbox.base_sandbox,
            )
        except PocketenvError as exc:
            problem = describe_error(exc, context, "Could not open the shell")
            self.query_one(TerminalView).write(
                f"\x1b[1m{problem.what}\x1b[0m\r\n{problem.why}\r\n{problem.fix}\r\n".encode()
            )
            return
        self.query_one(TerminalView).connect(url, self.dialect)  # type: ignore[arg-type]

    def on_terminal_view_status_changed(self, event: TerminalView.StatusChanged) -> None:
        if event.status.state is SessionState.EXITED:
            # The shell itself ended; its key would only start a fresh shell under an old name.
            self.pocketenv.forget_shells(self.sandbox.id, [self.session_key])

    def on_terminal_view_left(self, event: TerminalView.Left) -> None:
        event.stop()
        self.app.pop_screen()
