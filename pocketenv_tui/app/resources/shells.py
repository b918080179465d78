"""Shells: the sandbox's open shells, to re-attach to (Enter), end (d) or add to (n).

The local backend lists the shells it keeps alive by session key, with what runs in their
foreground and how many terminals are attached. A server that cannot list shells (the hosted
API) gets the keys this app remembers instead, marked as such, with one line saying so and no
error: the list is then only as good as the app's memory.

The app's side (which keys it remembers, opening the shell screen) is reached through
``self.app`` (``PocketenvApp.shell_keys``, ``open_shell``, ``forget_shells``); an app without
it (a bare harness mounting the tabs) lists the server's shells and cannot open one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.namespaces.shells import shell_listing_unsupported
from pocketenv_tui.api.ssh_sessions import session_id_from_key
from pocketenv_tui.app.resources.pane import TablePane
from pocketenv_tui.app.sandbox_rows import Cell

REMEMBERED = "remembered by this app"
UNLISTED_NOTE = (
    "This server cannot list its shells: these are the keys this app remembers "
    "(Enter re-attaches; a key whose shell ended opens a new one)."
)
SHORT_KEY = 10  # characters of a long key shown in the table


def short_key(key: str) -> str:
    return key if len(key) <= SHORT_KEY + 2 else key[:SHORT_KEY] + "…"


@dataclass(frozen=True, slots=True)
class ShellRow:
    key: str
    started_at: datetime | None  # for a remembered key: when this app opened it
    command: str | None = None
    clients: int | None = None
    remembered_only: bool = False  # the server did not list it; only this app knows the key


class ShellsPane(TablePane[ShellRow]):
    COLUMNS = [("key", "KEY"), ("started", "STARTED"), ("command", "RUNNING"), ("clients", "CLIENTS")]
    EMPTY = "No open shells. Press n to open one (t on the sandbox opens the one used last)."
    # Attaching counts too: a shell runs whatever is typed into it.
    MUTATING = frozenset({"attach", "new", "end"})
    BINDINGS = [
        Binding("enter", "attach", "Attach", id="shells.attach"),
        Binding("n", "new", "New shell", id="shells.new"),
        Binding("d,delete", "end", "End shell", id="shells.end"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.listing_supported: bool | None = None  # unknown until the first load
        self.last_key: str | None = None  # the key `t` opens, marked in the table

    def compose_extra(self) -> ComposeResult:
        yield Static(UNLISTED_NOTE, id="shells-note", classes="pane-note")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#shells-note").display = False

    # -- the app's memory -------------------------------------------------------------------
    @property
    def scope(self) -> str | None:
        context = getattr(self.app, "context", None)
        return context.state_key if context is not None else None

    @property
    def current_sandbox(self) -> Sandbox:
        """The sandbox as the screen last fetched it (its status may have changed)."""
        fresh = getattr(self.screen, "sandbox", None)
        return fresh if isinstance(fresh, Sandbox) and fresh.id == self.sandbox_id else self.sandbox

    def _remembered_rows(self) -> dict[str, ShellRow]:
        keys = getattr(self.app, "shell_keys", None)
        if keys is None or self.scope is None:
            return {}
        return {
            s.key: ShellRow(s.key, s.opened_at, remembered_only=True)
            for s in keys.remembered(self.scope, self.sandbox_id)
        }

    # -- loading ------------------------------------------------------------------------------
    async def load(self) -> None:
        items = await self.fetch()
        last = getattr(self.app, "last_shell_key", None)
        self.last_key = last(self.sandbox_id) if last is not None else None
        self.show(items)

    async def fetch(self) -> Mapping[str, ShellRow]:
        try:
            shells = await self.client.shells.list(self.sandbox_id)
        except PocketenvError as exc:
            if not shell_listing_unsupported(exc):
                raise
            self._set_supported(False)
            return self._remembered_rows()
        self._set_supported(True)
        keys = getattr(self.app, "shell_keys", None)
        # Only while this screen is in front: a shell screen just opened may not have reached
        # the server yet, and its key must not be forgotten as "ended".
        if keys is not None and self.scope is not None and self.screen is self.app.screen:
            on_screen = getattr(self.app, "shell_keys_on_screen", None)
            busy = on_screen(self.sandbox_id) if on_screen is not None else set()
            keys.reconcile(self.scope, self.sandbox_id, {s.key for s in shells}, busy)
        return {s.key: ShellRow(s.key, s.started_at, s.command, s.clients) for s in shells}

    def _set_supported(self, supported: bool) -> None:
        if self.listing_supported is not supported:
            self.listing_supported = supported
            self.query_one("#shells-note").display = not supported

    def cells(self, item: ShellRow) -> tuple[object, ...]:
        marker = " (t)" if item.key == self.last_key else ""
        if item.remembered_only:
            command = Text(REMEMBERED, style="dim italic")
            clients = Cell("-", -1, justify="right")
        else:
            command = Text(item.command or "-")
            clients = Cell("-" if item.clients is None else str(item.clients), item.clients or 0, justify="right")
        return (
            Cell(short_key(item.key) + marker, item.key),
            self.created_cell(item.started_at),
            command,
            clients,
        )

    # -- actions --------------------------------------------------------------------------------
    def _open(self, key: str | None) -> None:
        open_shell = getattr(self.app, "open_shell", None)
        if open_shell is None:
            self.notify("Shells open from the sandbox screen.", severity="warning")
            return
        if key is None:
            open_shell(self.current_sandbox, new=True)
        else:
            open_shell(self.current_sandbox, key)

    def action_attach(self) -> None:
        if self.refused("attach"):
            return
        item = self.selected_or_warn("shell")
        if item is not None:
            self._open(item.key)

    def action_new(self) -> None:
        if not self.refused("new"):
            self._open(None)

    def action_end(self) -> None:
        if self.refused("end"):
            return
        item = self.selected_or_warn("shell")
        if item is None:
            return
        short = short_key(item.key)
        ssh_session = session_id_from_key(item.key)
        if item.remembered_only and ssh_session is not None:
            # A hosted daytona/deno shell is an SSH session the API can end by its id.
            self.confirm_then(
                f"End SSH session {short} of {self.sandbox.name}? Its shell and everything started from it stop.",
                "End Shell",
                lambda: self._end_ssh(item.key, ssh_session),
                f"Could not end shell {short}",
                f"Shell {short} ended.",
            )
            return
        if item.remembered_only:
            # Nothing to end from here; the server ends an idle shell by itself.
            self.confirm_then(
                f"Forget shell {short}? This server cannot end shells from the dashboard, so the app "
                "only stops offering its key (exit it from inside to end it now).",
                "Forget",
                lambda: self._forget(item.key),
                f"Could not forget {short}",
                f"Shell {short} forgotten.",
            )
            return
        running = f" {item.command} and everything started from it stop." if item.command else ""
        self.confirm_then(
            f"End shell {short} of {self.sandbox.name}?{running}",
            "End Shell",
            lambda: self._end(item.key),
            f"Could not end shell {short}",
            f"Shell {short} ended.",
        )

    async def _forget(self, key: str) -> None:
        forget = getattr(self.app, "forget_shells", None)
        if forget is not None:
            forget(self.sandbox_id, [key])

    async def _end_ssh(self, key: str, session_id: str) -> None:
        await self.client.ssh_sessions().disconnect(session_id)  # False: it had ended already
        await self._forget(key)

    async def _end(self, key: str) -> None:
        try:
            await self.client.shells.end(self.sandbox_id, key)
        except PocketenvError as exc:
            if exc.error != "ShellNotFound":  # already over: what was asked for is done
                raise
        await self._forget(key)
