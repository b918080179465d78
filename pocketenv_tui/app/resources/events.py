"""Events: what happened to this sandbox (started, a service exited, a command timed out…),
newest first, reloaded with the tab; enter shows an event's data.

A server that keeps no event log (the hosted API) answers None: the tab then lists the status
changes this app saw on its polls, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from pocketenv_tui.api.monitoring import SandboxEvent
from pocketenv_tui.app.event_rows import EVENT_COLUMNS, event_cells, message_width, newest_first
from pocketenv_tui.app.resources.pane import TablePane
from pocketenv_tui.app.usage import monitor_of

EVENTS_SHOWN = 100  # the newest; the `:events` view has every sandbox's
DERIVED_NOTE = "This server keeps no event log; showing status changes this app saw."


class EventsPane(TablePane[SandboxEvent]):
    COLUMNS = EVENT_COLUMNS
    EMPTY = "No events yet."
    BINDINGS = [Binding("enter", "details", "Details", id="events.details")]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.derived = False  # listing what this app saw, not the server's log
        self.message_room: int | None = None

    def compose_extra(self) -> ComposeResult:
        yield Static(DERIVED_NOTE, id="events-note", classes="pane-note")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#events-note").display = False

    async def fetch(self) -> Mapping[str, SandboxEvent]:
        monitor = monitor_of(self.app)
        page = None
        if monitor.events_supported is not False:
            page = await self.client.monitoring.events(self.sandbox_id, limit=EVENTS_SHOWN)
            monitor.events_supported = page is not None
        self.derived = page is None
        events = monitor.seen.events(self.sandbox_id) if page is None else page.events
        return {event.id: event for event in newest_first(events)}

    def show(self, items: Mapping[str, SandboxEvent]) -> None:
        self.message_room = message_width(self.size.width or self.app.size.width, list(items.values()))
        super().show(items)
        self.query_one("#events-note").display = self.derived
        if self.derived:
            self.query_one(".pane-empty", Static).update("No status changes seen yet.")

    def on_resize(self) -> None:
        if self.loaded:
            self.show(self.items)
            self.table.refit()

    def cells(self, item: SandboxEvent) -> tuple[object, ...]:
        return event_cells(item, self.now(), self.app.theme_variables, width=self.message_room)

    def action_details(self) -> None:
        item = self.selected_or_warn("event")
        if item is not None:
            from pocketenv_tui.app.screens.events import EventDetailScreen

            self.app.push_screen(EventDetailScreen(item))
