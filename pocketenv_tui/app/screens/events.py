"""``:events``: what happened across every sandbox, newest first, polled live; ``/`` filters,
enter shows an event's data, ``m`` loads the page before the oldest shown, esc goes back.

The poll re-reads only the newest page; older pages, once loaded, stay (at most
``EVENTS_KEPT`` events in all) until the view is closed.

A server that keeps no event log (the hosted API) answers None. The view then polls the
sandbox list itself and lists the status changes it and the list saw (seen_events.py), and
says that this is all it can show.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label, Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.monitoring import SandboxEvent
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.event_rows import (
    ALL_EVENT_COLUMNS,
    event_cells,
    event_details,
    event_matches,
    message_width,
    newest_first,
)
from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.app.usage import monitor_of
from pocketenv_tui.app.widgets.context_header import ContextHeader
from pocketenv_tui.app.widgets.key_footer import KeyFooter
from pocketenv_tui.app.widgets.live_table import LiveTable

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp

EVENTS_SHOWN = 200  # the newest page the server gives at most
EVENTS_KEPT = 2000  # with older pages loaded: enough to look back a long way, bounded
DERIVED_NOTE = (
    "This server keeps no event log; showing status changes this app saw "
    "(while it was polling: what happened before or in between is not here)."
)


class EventDetailScreen(ModalScreen[None]):
    """One event: its message whole and its data."""

    CSS_PATH = stylesheets("dialogs", "events")
    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="event.close")]

    def __init__(self, event: SandboxEvent) -> None:
        super().__init__()
        self.event = event

    def compose(self) -> ComposeResult:
        with Vertical(id="event-dialog", classes="dialog"):
            title = f"{self.event.kind or 'event'} · {self.event.sandbox_name or self.event.sandbox_id or '-'}"
            yield Label(title, classes="dialog-title", markup=False)
            with VerticalScroll(id="event-scroll"):
                yield Static(Text(event_details(self.event)), id="event-details")
            yield Label("esc closes", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#event-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)


class EventsScreen(Screen[None]):
    CSS_PATH = stylesheets("events")
    BINDINGS = [
        Binding("enter", "details", "Details", id="events_view.details"),
        Binding("slash", "filter", "Filter", id="events_view.filter"),
        Binding("m", "older", "Older", id="events_view.older"),
        Binding("r", "refresh", "Refresh", id="events_view.refresh"),
        Binding("escape", "back", "Back", id="events_view.back"),
        Binding("question_mark", "help", "Help", id="events_view.help"),
    ]

    def __init__(self, filter_text: str = "") -> None:
        super().__init__()
        self.filter_text = filter_text.strip()
        self.events: dict[str, SandboxEvent] = {}
        self.older: dict[str, SandboxEvent] = {}  # pages loaded with m, kept across polls
        self.older_cursor: str | None = None  # where the page before the oldest shown starts
        self.derived = False
        self.loaded = False
        self.load_count = 0

    @property
    def pocketenv(self) -> PocketenvApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ContextHeader(id="context-header")
        yield Static("", id="problem", classes="banner")
        yield Static(DERIVED_NOTE, id="events-note", classes="note")
        with Vertical(id="events-area"):
            yield LiveTable(id="events")
            yield Static("Loading…", id="events-empty", classes="empty-state")
        yield Input(value=self.filter_text, placeholder="filter (enter keeps it, esc clears)", id="events-filter",
                    classes="prompt-line")
        yield KeyFooter()

    def on_mount(self) -> None:
        header = self.query_one(ContextHeader)
        header.context_label = self.pocketenv.context.label
        self._update_view_label()
        self.query_one("#problem").display = False
        self.query_one("#events-note").display = False
        self.query_one("#events-filter").display = bool(self.filter_text)
        self.query_one(LiveTable).set_columns(ALL_EVENT_COLUMNS)
        self.query_one(LiveTable).focus()

    def on_resize(self) -> None:
        if self.loaded:
            self.render_rows()  # the messages get the width there is
            self.query_one(LiveTable).refit()

    def on_screen_resume(self) -> None:
        self.refresh_now()

    def on_screen_suspend(self) -> None:
        self.workers.cancel_group(self, "poll-events")

    # -- polling ---------------------------------------------------------------------------------
    def refresh_now(self) -> None:
        self.run_worker(self._poll, group="poll-events", exclusive=True, exit_on_error=False, name="poll-events")

    async def _poll(self) -> None:
        failures = 0
        while True:
            failures = 0 if await self._load() else failures + 1
            interval = self.pocketenv.refresh_interval
            await asyncio.sleep(min(60.0, interval * 2**failures) if failures else interval)

    async def _load(self) -> bool:
        app = self.pocketenv
        client = app.client
        monitor = monitor_of(app)
        header = self.query_one(ContextHeader)
        try:
            page = None
            if monitor.events_supported is not False:
                page = await client.monitoring.events(limit=EVENTS_SHOWN)
                monitor.events_supported = page is not None
            if page is None:
                # The list is not polled while this view is up: read it here, so that status
                # changes keep being seen.
                found = [sandbox async for sandbox in client.actor.iter_sandboxes()]
                monitor.seen.observe(found, app.now(), complete=True)
        except PocketenvError as exc:
            problem = describe_error(exc, app.context, "Could not load the events")
            banner = self.query_one("#problem", Static)
            banner.update(problem.markup())
            banner.display = True
            header.freshness, header.stale = "STALE", True
            return False
        self.query_one("#problem").display = False
        header.freshness, header.stale = f"live · every {app.refresh_interval:g}s", False
        self.derived = page is None
        if page is None:
            shown = monitor.seen.events()
        elif self.older:
            # Older pages shown: what leaves the newest page stays, so nothing falls between.
            self._keep(page.events)
            shown = list(self.older.values())
        else:
            self.older_cursor = page.cursor
            shown = page.events
        self.events = {event.id: event for event in newest_first(shown)}
        self.loaded = True
        self.load_count += 1
        self._update_view_label()
        self.render_rows()
        self.refresh_bindings()
        return True

    def _keep(self, events: list[SandboxEvent]) -> None:
        """Add ``events`` to what stays across polls; past EVENTS_KEPT the oldest go, and with
        them the way further back."""
        self.older.update((event.id, event) for event in events)
        if len(self.older) > EVENTS_KEPT:
            self.older = {event.id: event for event in newest_first(list(self.older.values()))[:EVENTS_KEPT]}
            self.older_cursor = None

    def load_older(self) -> None:
        self.run_worker(self._load_older, group="older-events", exclusive=True, exit_on_error=False)

    async def _load_older(self) -> None:
        if self.older_cursor is None:
            return
        app = self.pocketenv
        try:
            page = await app.client.monitoring.events(limit=EVENTS_SHOWN, before=self.older_cursor)
        except PocketenvError as exc:
            problem = describe_error(exc, app.context, "Could not load older events")
            self.notify(f"{escape(problem.why)}\n{escape(problem.fix)}", title=problem.what, severity="error")
            return
        if page is None:
            return
        self.older_cursor = page.cursor
        self._keep([*self.events.values(), *page.events])
        self.events = {event.id: event for event in newest_first(list(self.older.values()))}
        if len(self.older) >= EVENTS_KEPT:
            self.notify(f"Showing the newest {EVENTS_KEPT} events; older ones stay on the server.",
                        title="Events", severity="warning")
        elif self.older_cursor is None:
            self.notify("These are all the events the server keeps.", title="Events")
        self._update_view_label()
        self.render_rows()
        self.refresh_bindings()

    def render_rows(self) -> None:
        now = self.pocketenv.now()
        variables = self.app.theme_variables
        table = self.query_one(LiveTable)
        shown = [event for event in self.events.values() if event_matches(event, self.filter_text)]
        width = message_width(self.size.width, shown, with_sandbox=True)
        table.show_rows({
            event.id: event_cells(event, now, variables, with_sandbox=True, width=width) for event in shown
        })
        self.query_one("#events-note").display = self.derived
        empty = self.query_one("#events-empty", Static)
        if table.row_count:
            empty.display = False
            return
        if not self.loaded:
            text = "Loading…"
        elif self.filter_text:
            text = f"No event matches “{escape(self.filter_text)}”. Press esc to clear the filter."
        elif self.derived:
            text = "No status changes seen yet."
        else:
            text = "No events yet."
        empty.update(text)
        empty.display = True

    def _update_view_label(self) -> None:
        label = "events" + (f" /{self.filter_text}" if self.filter_text else "")
        if self.older:
            label += f" · {len(self.events)} loaded"
        self.query_one(ContextHeader).view_label = label

    # -- keys ------------------------------------------------------------------------------------
    def selected(self) -> SandboxEvent | None:
        key = self.query_one(LiveTable).highlighted_key
        return self.events.get(key) if key else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    def action_details(self) -> None:
        item = self.selected()
        if item is None:
            self.notify("No event is highlighted.", severity="warning")
            return
        self.app.push_screen(EventDetailScreen(item))

    def action_filter(self) -> None:
        field = self.query_one("#events-filter", Input)
        field.display = True
        field.value = self.filter_text
        self.set_focus(field)

    @on(Input.Changed, "#events-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._update_view_label()
        self.render_rows()

    @on(Input.Submitted, "#events-filter")
    def _filter_submitted(self) -> None:
        if not self.filter_text:
            self.query_one("#events-filter").display = False
        self.set_focus(self.query_one(LiveTable))

    def clear_filter(self) -> None:
        field = self.query_one("#events-filter", Input)
        field.value = ""
        field.display = False
        self.filter_text = ""
        self._update_view_label()
        self.render_rows()
        self.set_focus(self.query_one(LiveTable))

    def on_key(self, event) -> None:
        # esc inside the filter clears and closes it (Input has no escape binding).
        if event.key == "escape" and isinstance(self.focused, Input):
            event.stop()
            self.clear_filter()

    def action_back(self) -> None:
        """esc: first the filter goes, then the view."""
        if self.filter_text:
            self.clear_filter()
        else:
            self.app.pop_screen()

    def action_refresh(self) -> None:
        self.refresh_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "older":
            if self.derived:
                return False  # status changes seen here have no older pages
            return True if self.older_cursor is not None else None  # None: shown, dimmed
        return True

    def action_older(self) -> None:
        self.load_older()

    def action_help(self) -> None:
        from pocketenv_tui.app.screens.help import HelpScreen, describe_bindings

        self.app.push_screen(HelpScreen("events", describe_bindings(self), []))
