"""Services: long-running commands in the sandbox, with start/stop/restart and their log."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.resource_models import Service
from pocketenv_tui.app.formatting import status_text
from pocketenv_tui.app.resources.form import Field, Values
from pocketenv_tui.app.resources.pane import TablePane
from pocketenv_tui.app.resources.rules import parse_ports, ports_error, required_error
from pocketenv_tui.app.sandbox_rows import Cell

MAX_LOG_CHARS = 50_000  # the tail kept on screen


def log_text(log: str) -> Text:
    if not log:
        return Text("(no output yet)", style="dim")
    if len(log) > MAX_LOG_CHARS:
        return Text("… (earlier output cut)\n", style="dim") + Text(log[-MAX_LOG_CHARS:])
    return Text(log)


class ServicesPane(TablePane[Service]):
    COLUMNS = [("name", "NAME"), ("command", "COMMAND"), ("status", "STATUS"), ("ports", "PORTS")]
    EMPTY = "No services. Press a to add one: a command kept running in the sandbox."
    MUTATING = frozenset({"add", "edit", "delete", "start", "stop", "restart"})
    BINDINGS = [
        Binding("a", "add", "Add service", id="services.add"),
        Binding("enter", "edit", "Edit", id="services.edit"),
        Binding("s", "start", "Start", id="services.start"),
        Binding("x", "stop", "Stop", id="services.stop"),
        Binding("R", "restart", "Restart", id="services.restart"),
        Binding("l", "log", "Log", id="services.log"),
        Binding("d,delete", "delete", "Delete", id="services.delete"),
    ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.log_service_id: str | None = None
        self.log_shown = ""

    def compose_extra(self) -> ComposeResult:
        yield Label("", id="services-log-title", classes="pane-title")
        with VerticalScroll(id="services-log-pane"):
            yield Static("", id="services-log")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#services-log-title").display = False
        self.query_one("#services-log-pane").display = False

    async def fetch(self) -> Mapping[str, Service]:
        return {item.id: item for item in await self.client.services.list(self.sandbox_id)}

    def cells(self, item: Service) -> tuple[object, ...]:
        status = (item.status or "UNKNOWN").upper()
        coloured = status_text(status, self.app.theme_variables)
        if item.exit_code is not None and status != "RUNNING":
            coloured.append(f" (exit {item.exit_code})")
        ports = ", ".join(str(port) for port in item.ports or []) or "-"
        return (
            Cell(item.name, item.name),
            Text(item.command),
            Cell(coloured.plain, status, style=str(coloured.style)),
            Text(ports),
        )

    async def load(self) -> None:
        self.show(await self.fetch())
        if self.log_service_id is not None:
            await self._load_log()

    # -- log ------------------------------------------------------------------------------------
    def action_log(self) -> None:
        """Show the highlighted service's log below the table; again hides it."""
        item = self.selected()
        if self.log_service_id is not None and (item is None or item.id == self.log_service_id):
            self.log_service_id = None
            self.query_one("#services-log-title").display = False
            self.query_one("#services-log-pane").display = False
            return
        if item is None:
            self.notify("No service is highlighted.", severity="warning")
            return
        self.log_service_id = item.id
        self.query_one("#services-log-title", Label).update(f"Log — {item.name}")
        self.query_one("#services-log-title").display = True
        self.query_one("#services-log-pane").display = True
        self.run_worker(self._load_log, group="services-log", exclusive=True, exit_on_error=False)

    async def _load_log(self) -> None:
        service_id = self.log_service_id
        if service_id is None:
            return
        try:
            log = await self.client.services.logs(service_id)
        except PocketenvError as exc:
            text = Text(self.problem_text(exc, "The log is not available"), style="italic")
            self.log_shown = ""
        else:
            self.log_shown = log
            text = log_text(log)
        if self.log_service_id == service_id:
            self.query_one("#services-log", Static).update(text)
            self.query_one("#services-log-pane", VerticalScroll).scroll_end(animate=False)

    # -- add / edit ----------------------------------------------------------------------------
    def action_add(self) -> None:
        if not self.refused("add"):
            self._open(None)

    def action_edit(self) -> None:
        if self.refused("edit"):
            return
        item = self.selected_or_warn("service")
        if item is not None:
            self._open(item)

    def _open(self, editing: Service | None) -> None:
        fields = [
            Field("name", "Service name", value=editing.name if editing else "", placeholder="web",
                  check=lambda value: required_error(value, "A service name")),
            Field("command", "Command", value=editing.command if editing else "", placeholder="npx serve -l 3001",
                  check=lambda value: required_error(value, "A command")),
            Field("ports", "Ports (comma-separated, each 1025–65535)",
                  value=", ".join(map(str, editing.ports or [])) if editing else "", placeholder="3001",
                  check=ports_error),
            Field("description", "Description (optional)", value=(editing.description or "") if editing else ""),
        ]
        self.open_form(
            f"Edit service {editing.name}" if editing else f"Add a service to {self.sandbox.name}",
            fields,
            lambda values, form: self._save(values, editing),
            submit_label="Save Changes" if editing else "Add Service",
            form_id="services-form",
        )

    async def _save(self, values: Values, editing: Service | None) -> str | None:
        name, command = values["name"].strip(), values["command"].strip()
        ports = parse_ports(values["ports"])
        description = values["description"].strip() or None
        if editing is not None:
            await self.client.services.update(editing.id, name=name, command=command, description=description, ports=ports)
            return f"Service {name} updated (restart it to apply)."
        await self.client.services.add(self.sandbox_id, name, command, description=description, ports=ports or None)
        return f"Service {name} added."

    # -- lifecycle ------------------------------------------------------------------------------
    def _lifecycle(self, action: str) -> None:
        if self.refused(action):
            return
        item = self.selected_or_warn("service")
        if item is None:
            return
        call = getattr(self.client.services, action)
        past = {"start": "started", "stop": "stopped", "restart": "restarted"}[action]
        self.run_call(lambda: call(item.id), f"Could not {action} {item.name}", f"Service {item.name} {past}.")

    def action_start(self) -> None:
        self._lifecycle("start")

    def action_stop(self) -> None:
        self._lifecycle("stop")

    def action_restart(self) -> None:
        self._lifecycle("restart")

    def action_delete(self) -> None:
        if self.refused("delete"):
            return
        item = self.selected_or_warn("service")
        if item is not None:
            self.confirm_then(
                f"Delete service {item.name}? Its command is stopped.\n{item.command}",
                "Delete Service",
                lambda: self.client.services.delete(item.id),
                f"Could not delete {item.name}",
                f"Service {item.name} deleted.",
            )
