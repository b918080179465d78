"""The main screen: a live table of sandboxes (or templates) with the lifecycle keys."""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.first_page import load_client_modules
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.formatting import format_duration
from pocketenv_tui.app.sandbox_rows import (
    CATALOG_COLUMNS,
    FULL_LAYOUT,
    SANDBOX_COLUMNS,
    RowLayout,
    catalog_cells,
    matches_filter,
    sandbox_cells,
)
from pocketenv_tui.app.screens.bulk_actions import (
    MARK_ACTIONS,
    MARK_COLUMN,
    MARK_COLUMN_WIDTH,
    BulkActions,
)
from pocketenv_tui.app.screens.lifecycle_actions import LifecycleActions
from pocketenv_tui.app.screens.list_commands import VIEWS, ListCommands, SandboxCommands
from pocketenv_tui.app.widgets.command_line import CommandLine
from pocketenv_tui.app.widgets.context_header import ContextHeader
from pocketenv_tui.app.widgets.key_footer import KeyFooter
from pocketenv_tui.app.widgets.live_table import LiveTable

if TYPE_CHECKING:
    from textual.widget import AwaitMount

    from pocketenv_tui.app.app import PocketenvApp

SANDBOX_ONLY_ACTIONS = {"start", "stop", "delete", "shell", "describe", "logs"}
# The one-line prompts under the table, by widget id: mounted just after the first frame (a
# hidden Input costs start-up time and nobody can type before the list is up).
PROMPTS = {
    "filter": "filter (enter keeps it, esc clears)",
    "command": ":command (tab completes, enter runs, esc closes)",
}
MAX_BACKOFF = 60.0


CLIENT_LOAD_DELAY = 0.5  # seconds after the first list before loading the full client


class SandboxesScreen(LifecycleActions, BulkActions, ListCommands, Screen[None]):
    """Sandboxes (mine or running) or the catalog, polled by one exclusive worker."""

    COMMANDS = {SandboxCommands}
    BINDINGS = [
        Binding("n", "create", "Create", id="sandboxes.create"),
        Binding("s", "start", "Start", id="sandboxes.start"),
        Binding("x", "stop", "Stop", id="sandboxes.stop"),
        Binding("d", "delete", "Delete", id="sandboxes.delete"),
        Binding("enter", "open", "Open", id="sandboxes.open"),
        Binding("t", "shell", "Shell", id="sandboxes.shell"),
        Binding("i", "describe", "Describe", id="sandboxes.describe"),
        Binding("l", "logs", "Logs", id="sandboxes.logs"),
        Binding("slash", "filter", "Filter", id="sandboxes.filter"),
        Binding("o", "sort", "Sort", id="sandboxes.sort", show=False),
        Binding("O", "sort_reverse", "Reverse sort", id="sandboxes.sort_reverse", show=False),
        Binding("r", "refresh", "Refresh", id="sandboxes.refresh"),
        Binding("colon", "command_line", "Command", id="sandboxes.command"),
        Binding("question_mark", "help", "Help", id="sandboxes.help"),
        Binding("1", "view('mine')", "Mine", id="sandboxes.view_mine", show=False),
        Binding("2", "view('running')", "Running", id="sandboxes.view_running", show=False),
        Binding("3", "view('catalog')", "Catalog", id="sandboxes.view_catalog", show=False),
        # Marks (screens/bulk_actions.py). `*` rather than ctrl+a (GNU screen's prefix, often
        # tmux's) or ctrl+space (NUL in many terminals, the input-source switch on macOS).
        Binding("space", "toggle_mark", "Mark", id="sandboxes.mark"),
        Binding("asterisk", "mark_all", "Mark all", id="sandboxes.mark_all"),
        # esc clears the marks first, the filter next (the first enabled binding of a key wins).
        Binding("escape", "clear_marks", "Clear marks", id="sandboxes.clear_marks"),
        Binding("escape", "back", "Clear filter", id="sandboxes.back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view = "mine"
        self.filter_text = ""
        self.items: dict[str, Sandbox] = {}
        self._warnings_seen: dict[str, set[str]] = {}  # sandbox id -> warnings announced
        self.pending: dict[str, str] = {}
        self.marks: set[str] = set()  # ids of the marked sandboxes (bulk_actions.py)
        self.last_success: datetime | None = None
        self.failures = 0
        self.problem_text: str | None = None
        self.poll_count = 0
        self._poll_generation = 0
        self._skip_next_fetch = False
        self.row_layout = FULL_LAYOUT

    @property
    def pocketenv(self) -> PocketenvApp:
        return self.app  # type: ignore[return-value]

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield ContextHeader(id="context-header")
        yield Static("", id="problem", classes="banner")
        with Vertical(id="table-area"):
            yield LiveTable(id="sandboxes")
            yield Static("", id="empty", classes="empty-state")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(LiveTable)
        table.set_columns(self._columns())
        header = self.query_one(ContextHeader)
        header.context_label = self.pocketenv.context.label
        self._update_view_label()
        self.query_one("#problem").display = False
        self._update_empty_state()
        self.call_after_refresh(self._mount_prompts)
        self.set_interval(1.0, self._tick_freshness)
        # The page fetched while Textual loaded goes into the very first frame, as a table
        # filled in on_mount would; polling then starts one interval later.
        prefetched = self.pocketenv.ready_first_page() if self.view == "mine" else None
        if prefetched is not None:
            self._apply(prefetched)
            self._skip_next_fetch = True
            self.set_timer(CLIENT_LOAD_DELAY, self._load_client_in_background)
        # AUTO_FOCUS gives the table the focus (the first focusable widget); focusing it here
        # as well would re-compose the footer once more during start-up.

    # Polling runs only while this screen is the visible one.
    def on_screen_resume(self) -> None:
        self.refresh_now()

    def on_screen_suspend(self) -> None:
        self.workers.cancel_group(self, "poll-sandboxes")

    # -- polling --------------------------------------------------------------------------
    def refresh_now(self) -> None:
        """Poll immediately; the exclusive group cancels any poll already under way."""
        self._poll_generation += 1
        self.run_worker(
            partial(self._poll_loop, self._poll_generation),
            group="poll-sandboxes",
            exclusive=True,
            exit_on_error=False,
            name="poll-sandboxes",
        )

    async def _poll_loop(self, generation: int) -> None:
        while generation == self._poll_generation:
            if self._skip_next_fetch:
                self._skip_next_fetch = False
                await asyncio.sleep(self._next_delay())
                continue
            view = self.view
            try:
                found = await self._fetch(view)
            except PocketenvError as exc:
                self.failures += 1
                self._show_problem(exc)
            else:
                if view == self.view and generation == self._poll_generation:
                    self.failures = 0
                    self._apply(found)
            await asyncio.sleep(self._next_delay())

    def _next_delay(self) -> float:
        interval = self.pocketenv.refresh_interval
        if not self.failures:
            return interval
        return min(MAX_BACKOFF, interval * 2 ** min(self.failures, 6))

    async def _fetch(self, view: str) -> list[Sandbox]:
        app = self.pocketenv
        if view == "mine" and not app.has_client and self.poll_count == 0:
            # First paint from one standard-library request (pocketenv_tui.api.first_page); the
            # real client's modules load in a thread once the list is on screen and the app has
            # settled (a thread importing competes with painting for the interpreter lock; the
            # next poll is seconds away).
            first = await app.first_page()
            if first is not None:
                self.set_timer(CLIENT_LOAD_DELAY, self._load_client_in_background)
                return first
        client = app.client
        if view == "catalog":
            return [template async for template in client.sandboxes.iter_catalog()]
        running = True if view == "running" else None
        from pocketenv_tui.app.usage import listed_with_usage  # one usage() call beside the list

        return await listed_with_usage(app, client.actor.iter_sandboxes(is_running=running))

    def _load_client_in_background(self) -> None:
        self.run_worker(asyncio.to_thread(load_client_modules), group="load-client", exit_on_error=False)

    def _apply(self, found: list[Sandbox]) -> None:
        self._announce_warnings(found)
        self.items = {sandbox.id: sandbox for sandbox in found}
        self.last_success = self.pocketenv.now()
        self.poll_count += 1
        if self.problem_text is not None:
            self.problem_text = None
            self.query_one("#problem").display = False
        self.render_rows()
        self._tick_freshness()
        from pocketenv_tui.app.usage import follow_list

        follow_list(self, found)  # the statuses seen (events fallback); "no usage here" once

    def _announce_warnings(self, found: list[Sandbox]) -> None:
        """A notification for each warning a sandbox did not have at the previous poll (those
        there at the first poll are only marked in the rows)."""
        first = self.last_success is None
        for sandbox in found:
            seen = self._warnings_seen.setdefault(sandbox.id, set())
            for warning in sandbox.warnings or []:
                if warning not in seen:
                    seen.add(warning)
                    if not first:
                        self.notify(escape(warning), title=f"{sandbox.name}: warning", severity="warning", timeout=10)

    def _show_problem(self, exc: PocketenvError) -> None:
        problem = describe_error(exc, self.pocketenv.context, "Could not load sandboxes")
        retry = format_duration(self._next_delay())
        self.problem_text = problem.one_line()
        banner = self.query_one("#problem", Static)
        banner.update(f"{problem.markup()}\n[dim]Retrying automatically (next try in {retry}).[/dim]")
        banner.display = True
        self._tick_freshness()
        self._update_empty_state()

    def render_rows(self) -> None:
        """Push the cached items through the filter into the table (diffed by row key)."""
        now = self.pocketenv.now()
        table = self.query_one(LiveTable)
        if self.view == "catalog":
            rows = {
                key: catalog_cells(item, now, self.row_layout)
                for key, item in self.items.items()
                if matches_filter(item, self.filter_text)
            }
        else:
            from pocketenv_tui.app.usage import latest_usage

            variables = self.app.theme_variables
            usage = latest_usage(self.app)
            rows = {
                key: sandbox_cells(item, now, variables, self.pending.get(key), self.row_layout, usage.get(key))
                for key, item in self.items.items()
                if matches_filter(item, self.filter_text)
            }
            rows = self.decorate_rows(rows)
        table.show_rows(rows)
        self._update_empty_state()
        self._update_view_label()  # "N marked, M hidden" follows the rows in view

    def _columns(self) -> list[tuple[str, str]]:
        return CATALOG_COLUMNS if self.view == "catalog" else [MARK_COLUMN, *SANDBOX_COLUMNS]

    def on_resize(self, event: events.Resize) -> None:
        layout = RowLayout.for_width(event.size.width - MARK_COLUMN_WIDTH)
        if layout != self.row_layout:
            self.row_layout = layout
            self.render_rows()
            self.query_one(LiveTable).refit()  # cells may have shrunk: measure the columns afresh

    def _update_empty_state(self) -> None:
        empty = self.query_one("#empty", Static)
        table = self.query_one(LiveTable)
        if table.row_count:
            empty.display = False
            return
        if self.last_success is None:
            text = "Loading…" if self.problem_text is None else "No data: the API could not be reached."
        elif self.filter_text:
            text = f"Nothing matches the filter “{escape(self.filter_text)}”. Press esc to clear it."
        elif self.view == "running":
            text = "No running sandboxes. Press 1 to see all of them, s to start one."
        elif self.view == "catalog":
            text = "The catalog is empty."
        else:
            text = "No sandboxes yet. Press n to create one."
        empty.update(text)
        empty.display = True

    def _tick_freshness(self) -> None:
        header = self.query_one(ContextHeader)
        interval = self.pocketenv.refresh_interval
        if self.last_success is None:
            header.freshness = "no data yet" if self.problem_text else "loading…"
            header.stale = self.problem_text is not None
            return
        age = (self.pocketenv.now() - self.last_success).total_seconds()
        if self.problem_text is not None or age > 3 * interval + 5:
            header.freshness = f"STALE · data from {format_duration(age)} ago"
            header.stale = True
        else:
            header.freshness = f"live · every {interval:g}s"
            header.stale = False

    def _update_view_label(self) -> None:
        header = self.query_one(ContextHeader)
        label = VIEWS[self.view]
        if self.filter_text:
            label += f" /{self.filter_text}"
        if self.pocketenv.read_only:
            label += " · read-only"
        if marked := self.marks_label():
            label += f" · {marked}"
        header.view_label = label

    # -- selection --------------------------------------------------------------------------
    def selected(self) -> Sandbox | None:
        key = self.query_one(LiveTable).highlighted_key
        return self.items.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.pocketenv
        if action in app.MUTATING_ACTIONS and app.read_only:
            return False
        if action in SANDBOX_ONLY_ACTIONS and self.view == "catalog":
            return False
        if action in MARK_ACTIONS:
            # Marks only serve the bulk lifecycle keys: none in the catalog or read-only.
            if self.view == "catalog" or app.read_only:
                return False
            return bool(self.marks) if action == "clear_marks" else True
        if action == "back":
            return bool(self.filter_text)
        return True

    def _refused(self, action: str) -> bool:
        if self.pocketenv.read_only and action in self.pocketenv.MUTATING_ACTIONS:
            self.notify("Read-only mode: this action is disabled.", severity="warning")
            return True
        return False

    def _need_selection(self) -> Sandbox | None:
        sandbox = self.selected()
        if sandbox is None:
            self.notify("No sandbox is highlighted.", severity="warning")
        return sandbox

    # -- open, shell ----------------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Mouse clicks and the table's own enter both land here.
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if self.view == "catalog":
            self.action_create()
            return
        sandbox = self._need_selection()
        if sandbox is not None:
            self.pocketenv.open_sandbox(sandbox)

    def action_shell(self) -> None:
        if self._refused("shell") or self.view == "catalog":
            return
        sandbox = self._need_selection()
        if sandbox is not None:
            self.pocketenv.open_shell(sandbox)

    # describe and logs live in screens/describe.py and screens/logs.py (loaded when used).
    def action_describe(self) -> None:
        sandbox = self._need_selection() if self.view != "catalog" else None
        if sandbox is not None:
            from pocketenv_tui.app.screens.describe import open_describe

            open_describe(self.pocketenv, sandbox)

    def action_logs(self) -> None:
        sandbox = self._need_selection() if self.view != "catalog" else None
        if sandbox is not None:
            from pocketenv_tui.app.screens.logs import open_logs

            open_logs(self.pocketenv, sandbox)

    # -- filter, sort, views ----------------------------------------------------------------------
    def _mount_prompts(self) -> AwaitMount | None:
        missing = [name for name in PROMPTS if self._prompt(name) is None]
        if not missing or not self.is_attached:  # detached: the app quit on its first frame
            return None
        fields = [
            CommandLine(self.command_arguments, placeholder=PROMPTS[name], id=name, classes="prompt-line")
            if name == "command"
            else Input(placeholder=PROMPTS[name], id=name, classes="prompt-line")
            for name in missing
        ]
        for field in fields:
            field.display = False
        return self.mount(*fields, before=self.query_one(KeyFooter))

    def _prompt(self, name: str) -> Input | None:
        try:
            return self.query_one(f"#{name}", Input)
        except NoMatches:
            return None

    def _hide_prompt(self, name: str) -> None:
        field = self._prompt(name)
        if field is not None:
            field.value = ""
            field.display = False

    async def _open_prompt(self, name: str) -> Input:
        """The prompt, mounted first if a key came before the first frame's follow-up did."""
        mounting = self._mount_prompts()
        if mounting is not None:
            await mounting
        field = self._prompt(name)
        assert field is not None
        return field

    async def action_filter(self) -> None:
        field = await self._open_prompt("filter")
        field.display = True
        field.value = self.filter_text
        # Focus now, not on the next loop turn: keys typed right after "/" belong to the filter.
        self.set_focus(field)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._update_view_label()
        self.render_rows()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        if not self.filter_text:
            self._hide_prompt("filter")
        self.set_focus(self.query_one(LiveTable))

    def action_back(self) -> None:
        self.clear_filter()

    def clear_filter(self) -> None:
        self.filter_text = ""
        self._hide_prompt("filter")
        self._update_view_label()
        self.render_rows()
        self.set_focus(self.query_one(LiveTable))

    def on_key(self, event) -> None:
        # esc inside the filter or command line closes it (Input has no escape binding).
        if event.key != "escape":
            return
        focused = self.focused
        if isinstance(focused, Input) and focused.id == "filter":
            event.stop()
            self.clear_filter()
        elif isinstance(focused, Input) and focused.id == "command":
            event.stop()
            self.close_command_line()

    def action_sort(self) -> None:
        table = self.query_one(LiveTable)
        columns = [key for key, _ in (CATALOG_COLUMNS if self.view == "catalog" else SANDBOX_COLUMNS)]
        if table.sort_column is None:
            column = columns[0]
        else:
            column = columns[(columns.index(table.sort_column) + 1) % len(columns)]
        table.sort_by(column, reverse=False)

    def action_sort_reverse(self) -> None:
        table = self.query_one(LiveTable)
        table.sort_by(table.sort_column or "name", reverse=not table.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.query_one(LiveTable).sort_by(str(event.column_key.value))

    def action_refresh(self) -> None:
        self.refresh_now()

    def action_view(self, view: str) -> None:
        self.set_view(view)

    def set_view(self, view: str) -> None:
        if view not in VIEWS:
            raise ValueError(view)
        if view == self.view:
            self.refresh_now()
            return
        self.view = view
        self.items = {}
        self.clear_marks_quietly()
        self.last_success = None
        table = self.query_one(LiveTable)
        table.set_columns(self._columns())
        table.show_rows({})
        self._update_view_label()
        self._update_empty_state()
        self.refresh_bindings()
        self.refresh_now()

    def reset_for_context(self) -> None:
        """After :ctx switched the API: forget every row and poll the new one."""
        self.items = {}
        self.pending = {}
        self.clear_marks_quietly()
        self.last_success = None
        self.problem_text = None
        self.failures = 0
        self.query_one("#problem").display = False
        self.query_one(ContextHeader).context_label = self.pocketenv.context.label
        self.query_one(LiveTable).show_rows({})
        self._update_empty_state()
        self.refresh_now()

    @on(Input.Submitted, "#command")
    def _command_submitted(self, event: Input.Submitted) -> None:
        text = event.value
        self.close_command_line()
        self.run_command(text)
