"""The main screen's commands: the `:` line (run, Tab-completed), `?` help and the ctrl+p
palette. A mixin of SandboxesScreen, which owns the views, the table and the prompts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.markup import escape
from textual.command import DiscoveryHit, Hit, Hits, Provider

from pocketenv_tui.app.commands import DESCRIPTIONS, CommandError, parse_command
from pocketenv_tui.app.sandbox_rows import CATALOG_COLUMNS, SANDBOX_COLUMNS
from pocketenv_tui.app.widgets.live_table import LiveTable

if TYPE_CHECKING:
    from pocketenv_tui.app.screens.sandboxes import SandboxesScreen

    _Base = SandboxesScreen
else:
    _Base = object

# The list's views: key -> what the header calls it.
VIEWS: dict[str, str] = {
    "mine": "my sandboxes",
    "running": "running sandboxes",
    "catalog": "template catalog",
}

class SandboxCommands(Provider):
    """ctrl+p: commands for the highlighted sandbox, and the views."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        screen = self.screen
        if not isinstance(screen, ListCommands):
            return []
        return screen.palette_commands()

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


class ListCommands(_Base):
    async def action_command_line(self) -> None:
        field = await self._open_prompt("command")
        field.value = ""
        field.display = True
        self.set_focus(field)

    def close_command_line(self) -> None:
        self._hide_prompt("command")
        self.set_focus(self.query_one(LiveTable))

    def run_command(self, text: str) -> None:
        try:
            command = parse_command(text)
        except CommandError as exc:
            self.notify(escape(str(exc)), severity="warning", title="Command")
            return
        name, args = command.name, command.args
        if name == "sandboxes":
            self.set_view("mine")
        elif name == "running":
            self.set_view("running")
        elif name == "catalog":
            self.set_view("catalog")
        elif name == "quit":
            self.app.exit(0)
        elif name == "help":
            self.action_help()
        elif name == "refresh":
            self.refresh_now()
        elif name == "ctx":
            self.pocketenv.choose_context(args[0] if args else None)
        elif name == "theme":
            self._set_theme(args)
        elif name == "sort":
            self._sort_command(args)
        elif name == "events":
            from pocketenv_tui.app.screens.events import EventsScreen

            self.app.push_screen(EventsScreen(" ".join(args)))

    def command_arguments(self) -> dict[str, list[str]]:
        """What Tab completes after each command's name."""
        columns = [key for key, _ in (CATALOG_COLUMNS if self.view == "catalog" else SANDBOX_COLUMNS)]
        return {
            "ctx": self.pocketenv.contexts.names(),
            "sort": columns + ["desc"],
            "theme": sorted(self.app.available_themes),
        }

    def _set_theme(self, args: tuple[str, ...]) -> None:
        if not args:
            self.app.action_change_theme()
            return
        if args[0] not in self.app.available_themes:
            names = ", ".join(sorted(self.app.available_themes))
            self.notify(f"Unknown theme {escape(args[0])}. Themes: {names}", severity="warning")
            return
        self.app.theme = args[0]

    def _sort_command(self, args: tuple[str, ...]) -> None:
        columns = dict(CATALOG_COLUMNS if self.view == "catalog" else SANDBOX_COLUMNS)
        by_label = {label.casefold(): key for key, label in columns.items()}
        if not args:
            self.notify("Usage: :sort COLUMN \\[desc], e.g. :sort created desc", severity="warning")
            return
        wanted = args[0].casefold()
        column = wanted if wanted in columns else by_label.get(wanted)
        if column is None:
            self.notify(f"No column {escape(args[0])}. Columns: {', '.join(columns)}", severity="warning")
            return
        reverse = len(args) > 1 and args[1].casefold() in {"desc", "reverse", "-"}
        self.query_one(LiveTable).sort_by(column, reverse=reverse)

    def action_help(self) -> None:
        from pocketenv_tui.app.screens.help import HelpScreen, describe_bindings

        self.app.push_screen(HelpScreen(f"{VIEWS[self.view]}", describe_bindings(self), DESCRIPTIONS))

    # -- palette --------------------------------------------------------------------------------------
    def palette_commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        commands: list[tuple[str, str, Callable[[], object]]] = []
        sandbox = self.selected() if self.view != "catalog" else None
        read_only = self.pocketenv.read_only
        if sandbox is not None:
            name = sandbox.name
            commands.append((f"Open {name}", "Fields, ports and exec", self.action_open))
            if not read_only:
                commands += [
                    (f"Shell in {name}", "Open a terminal in the sandbox", self.action_shell),
                    (f"Start {name}", "Start the highlighted sandbox", self.action_start),
                    (f"Stop {name}", "Stop the highlighted sandbox", self.action_stop),
                    (f"Delete {name}", "Delete the highlighted sandbox (asks first)", self.action_delete),
                ]
        if not read_only:
            commands.append(("Create sandbox", "Open the create form", self.action_create))
        commands += [
            ("View: my sandboxes", ":sandboxes", lambda: self.set_view("mine")),
            ("View: running sandboxes", ":running", lambda: self.set_view("running")),
            ("View: template catalog", ":catalog", lambda: self.set_view("catalog")),
            ("View: events", ":events", lambda: self.run_command("events")),
            ("Switch context", ":ctx", lambda: self.pocketenv.choose_context(None)),
            ("Refresh", "Poll the API now", self.refresh_now),
        ]
        return commands
