"""PocketenvApp: the dashboard. Holds the context (which API), its client, and app-wide state."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.theme import Theme

from pocketenv_tui.api.config import ConfigError as ClientConfigError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.terminal_url import terminal_family
from pocketenv_tui.app import safe_output
from pocketenv_tui.app.config import AppConfig, clamp_refresh, save_config
from pocketenv_tui.app.contexts.catalog import ContextCatalog
from pocketenv_tui.app.contexts.health import HealthProbe, measure_health
from pocketenv_tui.app.contexts.resolve import AppContext, ContextError
from pocketenv_tui.app.key_replay import ReplaysKeysAcrossScreens
from pocketenv_tui.app.read_only import refused_binding
from pocketenv_tui.app.screens.sandboxes import SandboxesScreen
from pocketenv_tui.app.shell_keys import ShellKeys, ShellKeysError, new_session_key
from pocketenv_tui.app.stylesheets import stylesheets

if TYPE_CHECKING:
    from pocketenv_tui.api import PocketenvClient

Clock = Callable[[], datetime]
ContextResolver = Callable[[str, AppContext], AppContext]


def terminal_dialect(sandbox: Sandbox) -> str:
    """The terminal family the sandbox's provider speaks (cf, pty, tty or ssh), as the official
    clients choose it; the local backend serves all four (api/terminal_url.py)."""
    return terminal_family(sandbox.provider)


class PocketenvApp(ReplaysKeysAcrossScreens, App[int]):
    TITLE = "pocketenv-tui"
    CSS_PATH = stylesheets("app", "sandboxes")  # the main screen is always shown
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]
    # Everything that changes something; hidden and refused in read-only mode. The shell and
    # exec count: both run arbitrary commands in the sandbox.
    MUTATING_ACTIONS = frozenset(
        {"create", "start", "stop", "delete", "shell", "expose", "unexpose", "exec", "vscode"}
    )

    def __init__(
        self,
        context: AppContext,
        *,
        config: AppConfig | None = None,
        read_only: bool | None = None,
        refresh: float | None = None,
        now: Clock | None = None,
        context_resolver: ContextResolver | None = None,
        client: PocketenvClient | None = None,
        first_page: Future[list[Sandbox] | None] | None = None,
        shell_keys: ShellKeys | None = None,
        contexts: ContextCatalog | None = None,
        health_probe: HealthProbe | None = None,
    ) -> None:
        safe_output.install()  # before anything renders: no control character reaches the terminal
        super().__init__()
        self.context = context
        self.config = config if config is not None else AppConfig()
        self.read_only = bool(self.config.read_only if read_only is None else read_only)
        self.refresh_interval = clamp_refresh(self.config.refresh if refresh is None else refresh)
        self._clock: Clock = now or (lambda: datetime.now(UTC))
        # Every context :ctx knows by name (built-ins and contexts.json); a resolver passed in
        # (tests) replaces the catalog's for switching. The probe measures the picker's health.
        self.contexts = contexts if contexts is not None else ContextCatalog.load()
        self.contexts.remember_start(context)
        self._context_resolver = context_resolver
        self.health_probe: HealthProbe = health_probe or partial(measure_health, self.contexts)
        # A client may be injected (tests, embedding); otherwise the context builds one on first
        # use, which the main screen puts after its first paint (see SandboxesScreen._fetch).
        self._client: PocketenvClient | None = client
        self._first_page = first_page
        # The session keys of the shells this app opened, per context and sandbox, kept in the
        # state directory so that a reopened shell (this run or the next) re-attaches to it.
        self.shell_keys = shell_keys if shell_keys is not None else ShellKeys.load()
        self._shell_keys_warned = False
        self.keymap_problems: list[str] = []
        if self.config.theme and self.config.theme in self.available_themes:
            self.theme = self.config.theme

    @property
    def client(self) -> PocketenvClient:
        if self._client is None:
            self._client = self.context.make_client()
        return self._client

    @property
    def has_client(self) -> bool:
        return self._client is not None

    def ready_first_page(self) -> list[Sandbox] | None:
        """The page fetched while the app started, if it has arrived (taken once)."""
        pending = self._first_page
        if pending is None or not pending.done() or pending.exception() is not None:
            return None
        self._first_page = None
        return pending.result()

    async def first_page(self) -> list[Sandbox] | None:
        """The sandboxes for the first paint without loading the client: the page fetched
        while the app started (once), or a fresh standard-library fetch; None if that failed."""
        from pocketenv_tui.api.first_page import start_first_page

        pending, self._first_page = self._first_page, None
        if pending is None:
            pending = start_first_page(self.context.api_url, self.context.token)
        return await asyncio.wrap_future(pending)

    def now(self) -> datetime:
        return self._clock()

    def get_default_screen(self) -> Screen:
        return SandboxesScreen()

    def on_mount(self) -> None:
        if self.config.keymap:
            self._apply_keymap()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        # Follows the local backend of the data dir if it moves or dies (app/backend_watch.py).
        from pocketenv_tui.app.backend_watch import BackendWatcher

        self.backend_watcher = BackendWatcher(self)
        self.backend_watcher.start()
        if self.shell_keys.notice:
            # Only a convenience was lost (the server still has its shells): say it calmly.
            self.notify(escape(self.shell_keys.notice), title="Shells", severity="information")
            self.shell_keys.notice = None
        self._warn_about_contexts_file()

    def _apply_keymap(self) -> None:
        # Only the remaps that leave every other key reachable; the rest are named, not dropped
        # silently (an unknown id, or a key another binding of that view already has).
        from pocketenv_tui.app.keymap import check_keymap

        checked = check_keymap(self.config.keymap)
        self.keymap_problems = checked.problems
        self.set_keymap(checked.applied)
        if checked.problems:
            where = f" in {self.config.path}" if self.config.path else ""
            self.notify(
                "\n".join(escape(problem) for problem in checked.problems),
                title=f"Keymap{where}",
                severity="warning",
                timeout=15,
            )

    async def on_unmount(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _theme_changed(self, theme: Theme) -> None:
        # Status colours come from theme variables: rebuild the cells in the new colours.
        main = self.main_screen
        if main is not None and main.is_mounted:
            main.query_one("#sandboxes").show_rows({})
            main.render_rows()
        if self.config.theme != theme.name:
            self.config.theme = theme.name
            self._save_config()

    def _save_config(self) -> None:
        if self.config.path is None:
            return  # an in-memory config (tests, or none loaded): nothing to remember it in
        try:
            save_config(self.config)
        except OSError as exc:
            self.notify(f"Could not save {self.config.path}: {escape(str(exc))}", severity="warning")

    @property
    def main_screen(self) -> SandboxesScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, SandboxesScreen):
                return screen
        return None

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Switch context", "Pick a context, with its health (:ctx)", lambda: self.choose_context(None))

    # -- navigation ---------------------------------------------------------------------------
    def on_key(self, event: events.Key) -> None:
        # A key no binding took: in read-only mode, say so if it was a change that was refused.
        if self.read_only:
            binding = refused_binding(self, event.key, self.MUTATING_ACTIONS)
            if binding is not None:
                what = binding.description or binding.action
                self.notify(
                    f"Read-only mode (--read-only or the config's read_only): {escape(what)} is turned off.",
                    severity="warning",
                )

    def open_sandbox(self, sandbox: Sandbox) -> None:
        from pocketenv_tui.app.screens.sandbox import SandboxScreen

        self.push_screen(SandboxScreen(sandbox))

    def open_shell(self, sandbox: Sandbox, session_key: str | None = None, *, new: bool = False) -> None:
        """Open a shell of ``sandbox``: the one under ``session_key``, else a new one if
        ``new``, else the one used last (this run or an earlier one), else a new one."""
        if self.read_only:
            self.notify("Read-only mode: the shell is disabled.", severity="warning")
            return
        if sandbox.status != "RUNNING":
            self.notify(
                f"{escape(sandbox.name)} is {escape(sandbox.status or 'not running')}: start it first (s).",
                severity="warning",
            )
            return
        from pocketenv_tui.app.screens.shell import ShellScreen

        if session_key is None and not new:
            session_key = self.shell_keys.last(self.context.state_key, sandbox.id)
        # For ssh a made-up key only says "a new shell": the screen swaps in the key of the
        # session the server makes (see screens/shell.py).
        session_key = session_key or new_session_key()
        self.remember_shell(sandbox.id, session_key)
        self.push_screen(ShellScreen(sandbox, session_key, terminal_dialect(sandbox)))

    def remember_shell(self, sandbox_id: str, key: str) -> None:
        """Remember ``key`` as the sandbox's shell used last (``t`` reopens it)."""
        self._keep_shell_keys(lambda keys: keys.remember(self.context.state_key, sandbox_id, key, self.now()))

    def last_shell_key(self, sandbox_id: str) -> str | None:
        return self.shell_keys.last(self.context.state_key, sandbox_id)

    def forget_shells(self, sandbox_id: str, keys: Iterable[str] | None = None) -> None:
        """Forget ``keys`` of the sandbox (all of them when None): their shells are gone."""
        scope = self.context.state_key
        if keys is None:
            self._keep_shell_keys(lambda store: store.forget_sandbox(scope, sandbox_id))
        else:
            doomed = set(keys)
            self._keep_shell_keys(lambda store: store.forget(scope, sandbox_id, doomed))

    def shell_keys_on_screen(self, sandbox_id: str) -> set[str]:
        """Keys of this sandbox's shells open in a shell screen now (so not to be forgotten)."""
        from pocketenv_tui.app.screens.shell import ShellScreen

        return {
            screen.session_key
            for screen in self.screen_stack
            if isinstance(screen, ShellScreen) and screen.sandbox.id == sandbox_id
        }

    def _keep_shell_keys(self, change: Callable[[ShellKeys], None]) -> None:
        try:
            change(self.shell_keys)
        except ShellKeysError as exc:
            if not self._shell_keys_warned:  # once: it keeps working in memory meanwhile
                self._shell_keys_warned = True
                self.notify(
                    f"{escape(str(exc))}\nShells still re-attach until the app quits.",
                    title="Shells", severity="warning",
                )

    # -- contexts ---------------------------------------------------------------------------------
    def choose_context(self, name: str | None) -> None:
        """``:ctx NAME`` switches; ``:ctx`` opens the picker (every context, with its health)."""
        self.contexts.reload()  # a small file, maybe edited since: read it as it is now
        if name is not None:
            self.switch_context(name)
            return

        def picked(choice: str | None) -> None:
            if choice is not None:
                self.switch_context(choice)

        from pocketenv_tui.app.contexts.file import display_path
        from pocketenv_tui.app.screens.contexts import ContextChoice, ContextsScreen

        catalog = self.contexts
        choices = [ContextChoice(name, catalog.describe(name)) for name in catalog.names()]
        hint = display_path(catalog.file.path) if catalog.file.path else ""
        screen = ContextsScreen(
            choices, self.context.name, self.health_probe, problems=catalog.problems, file_hint=hint
        )
        self.push_screen(screen, picked)

    def switch_context(self, name: str) -> None:
        if self._context_resolver is None and name not in self.contexts.names():
            self.notify(escape(str(self.contexts.unknown(name))), title="Context", severity="warning", timeout=10)
            return
        self.notify(f"Switching to {escape(name)}…", title="Context")
        self.run_worker(partial(self._switch_context, name), group="context", exclusive=True, exit_on_error=False)

    async def _switch_context(self, name: str) -> None:
        try:
            # Starting the local backend blocks while it boots: keep it off the event loop.
            context = await asyncio.to_thread(self._resolve_context, name)
        except (ContextError, ClientConfigError) as exc:
            self.notify(escape(str(exc)), title="Cannot switch context", severity="error", timeout=10)
            return
        await self.use_context(context)
        self.notify(escape(context.label), title="Context")

    def _resolve_context(self, name: str) -> AppContext:
        if self._context_resolver is not None:
            return self._context_resolver(name, self.context)
        return self.contexts.resolve(name)

    def _warn_about_contexts_file(self) -> None:
        from pocketenv_tui.app.contexts.file import display_path

        problems = self.contexts.problems
        if problems:
            self.notify(
                "\n".join(escape(problem) for problem in problems),
                title=f"Contexts in {display_path(self.contexts.file.path)}",
                severity="warning",
                timeout=15,
            )

    async def use_context(self, context: AppContext) -> None:
        """Talk to ``context`` from now on: a client of its own, back to the list, polled afresh.
        Used by :ctx and by the backend watch (the local backend moved or was restarted)."""
        if (
            context.context_name is None
            and context.kind == "local"
            and context.data_dir is not None
            and context.data_dir == self.context.data_dir
        ):
            # The backend watch's new context for the same data dir is the same named context.
            context = dataclasses.replace(context, context_name=self.context.context_name)
        old_client = self._client
        self.context = context
        self._client = None
        while len(self.screen_stack) > 1 and not isinstance(self.screen, SandboxesScreen):
            self.pop_screen()
        main = self.main_screen
        if main is not None:
            main.reset_for_context()
        if old_client is not None:
            await old_client.aclose()
