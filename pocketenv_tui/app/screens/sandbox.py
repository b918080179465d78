"""One sandbox: its fields, its usage (CPU, memory, disk with short graphs), a live Ports
table, exec, VS Code, the shell, and the tabs of what it carries (secrets, variables, files,
volumes, services, keys, backups, copy) and of its events."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Label, Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.resource_models import Port
from pocketenv_tui.app.clipboard import copy_with_notice
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.resources import ResourceTabs
from pocketenv_tui.app.sandbox_fields import field_rows, fields_grid, summary_line
from pocketenv_tui.app.sandbox_rows import Cell
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.expose import ExposeRequest, ExposeScreen
from pocketenv_tui.app.screens.help import HelpScreen, describe_bindings
from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.app.usage import follow_sandbox, monitor_of
from pocketenv_tui.app.widgets.context_header import ContextHeader
from pocketenv_tui.app.widgets.exec_panel import ExecPanel
from pocketenv_tui.app.widgets.key_footer import KeyFooter
from pocketenv_tui.app.widgets.live_table import LiveTable
from pocketenv_tui.app.widgets.usage_strip import UsageStrip

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp

COMPACT_WIDTH = 110
COMPACT_HEIGHT = 34
PORT_COLUMNS = [("port", "PORT"), ("description", "DESCRIPTION"), ("url", "PREVIEW URL")]
EXEC_OPEN = "-exec-open"  # the exec view takes the screen's body (styles/sandbox.tcss)


class PortsTable(LiveTable):
    """The ports, with the keys that act on the highlighted port (active while it has focus)."""

    BINDINGS = [
        Binding("p", "screen.expose", "Expose", id="sandbox.expose"),
        Binding("u", "screen.unexpose", "Unexpose", id="sandbox.unexpose"),
        Binding("c", "screen.copy_url", "Copy URL", id="sandbox.copy_url"),
        Binding("o", "screen.open_url", "Open URL", id="sandbox.open_url"),
    ]


# Narrow: the URL before the description, so it is the description that gets cut.
COMPACT_PORT_COLUMNS = [("port", "PORT"), ("url", "PREVIEW URL"), ("description", "DESCRIPTION")]


def port_cells(port: Port, compact: bool = False) -> tuple[object, ...]:
    number = Cell(str(port.port), port.port, justify="right")
    if compact:
        return (number, port.preview_url or "-", port.description or "-")
    return (number, port.description or "-", port.preview_url or "-")


class SandboxScreen(Screen[None]):
    CSS_PATH = stylesheets("sandbox", "usage", "resources", "events", "dialogs")
    BINDINGS = [
        Binding("escape", "back", "Back", id="sandbox.back"),
        Binding("e", "exec", "Exec", id="sandbox.exec"),
        Binding("t", "shell", "Shell", id="sandbox.shell"),
        Binding("i", "describe", "Describe", id="sandbox.describe"),
        # In the Services tab its own `l` (one service's log) is nearer the focus and wins.
        Binding("l", "logs", "Logs", id="sandbox.logs"),
        Binding("v", "vscode", "VS Code", id="sandbox.vscode"),
        Binding("s", "start", "Start", id="sandbox.start", show=False),
        Binding("x", "stop", "Stop", id="sandbox.stop", show=False),
        Binding("r", "refresh", "Refresh", id="sandbox.refresh"),
        Binding("f", "toggle_fields", "Fields", id="sandbox.fields"),
        Binding("right_square_bracket", "resource_tab(1)", "Tabs", id="sandbox.next_tab", key_display="]"),
        Binding("left_square_bracket", "resource_tab(-1)", "Previous tab", id="sandbox.previous_tab", key_display="[", show=False),
        Binding("question_mark", "help", "Help", id="sandbox.help"),
    ]

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.ports: dict[str, Port] = {}
        self.ports_loaded = False
        self._focus_before_exec: Widget | None = None
        self.vscode_url: str | None = None
        self.busy: str | None = None
        self.field_values: dict[str, str] = {}

    @property
    def pocketenv(self) -> PocketenvApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ContextHeader(id="context-header")
        yield Static("", id="problem", classes="banner")
        yield Static("", id="summary")
        yield UsageStrip(id="usage")
        with Horizontal(id="sandbox-body"):
            with Vertical(id="fields-pane"):
                yield Label("Sandbox", classes="pane-title")
                yield Static("", id="fields")
                yield Static("", id="vscode", classes="note")
            with Vertical(id="ports-pane"):
                yield Label("Ports", classes="pane-title")
                yield PortsTable(id="ports")
                yield Static("No exposed ports. Tab here, then p exposes one.", id="ports-empty", classes="empty-state")
        yield ResourceTabs(self.pocketenv.client, self.sandbox, read_only=self.pocketenv.read_only)
        yield ExecPanel(self.sandbox.id, id="exec-panel")
        yield KeyFooter()

    def on_mount(self) -> None:
        header = self.query_one(ContextHeader)
        header.context_label = self.pocketenv.context.label
        header.view_label = f"sandbox {self.sandbox.name}"
        self.query_one("#problem").display = False
        self.query_one("#vscode").display = False
        self.query_one("#ports", LiveTable).set_columns(
            COMPACT_PORT_COLUMNS if self.has_class("-compact") else PORT_COLUMNS
        )
        self.show_fields()
        self.show_usage()  # what the list's polls gathered, at once
        # The keyboard starts in the visible tab, so the keys its hints name work at once; the
        # port keys belong to the ports table (tab to it), so no key means two things.
        self.call_after_refresh(self._focus_visible_tab)

    def _focus_visible_tab(self) -> None:
        pane = self.query_one(ResourceTabs).active_pane
        if pane is not None:
            pane.focus_main()
        else:
            self.query_one("#ports", LiveTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_now()

    # -- layout -----------------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        # Below this the fields panel would leave the tabs no rows: a summary line replaces it
        # (f shows the fields), the ports take the full width and the tab titles get short.
        compact = event.size.width < COMPACT_WIDTH or event.size.height < COMPACT_HEIGHT
        if compact != self.has_class("-compact"):
            self.set_class(compact, "-compact")
            self.query_one(ResourceTabs).use_short_titles(compact)
            self.query_one("#ports", LiveTable).set_columns(COMPACT_PORT_COLUMNS if compact else PORT_COLUMNS)
            if self.ports_loaded:
                self.show_ports(list(self.ports.values()))
            self.show_usage()
            self.refresh_bindings()

    def action_toggle_fields(self) -> None:
        self.toggle_class("-show-fields")
        if not self.has_class("-show-fields"):
            self.call_after_refresh(self._focus_visible_tab)  # the tabs are back

    def on_screen_suspend(self) -> None:
        self.workers.cancel_group(self, "poll-sandbox")

    # -- polling ---------------------------------------------------------------------------
    def refresh_now(self) -> None:
        self.run_worker(self._poll, group="poll-sandbox", exclusive=True, exit_on_error=False)

    async def _poll(self) -> None:
        client = self.pocketenv.client
        failures = 0
        while True:
            try:
                fresh = await client.sandboxes.get(self.sandbox.id)
                ports = await client.sandboxes.get_exposed_ports(self.sandbox.id)
                await follow_sandbox(client, monitor_of(self.app), self.sandbox.id, fresh, self.pocketenv.now())
            except PocketenvError as exc:
                failures += 1
                problem = describe_error(exc, self.pocketenv.context, f"Could not refresh {self.sandbox.name}")
                banner = self.query_one("#problem", Static)
                banner.update(problem.markup())
                banner.display = True
                self.query_one(ContextHeader).freshness = "STALE"
                self.query_one(ContextHeader).stale = True
            else:
                failures = 0
                self.query_one("#problem").display = False
                self.query_one(ContextHeader).stale = False
                self.query_one(ContextHeader).freshness = f"live · every {self.pocketenv.refresh_interval:g}s"
                if fresh is None:
                    self.notify(f"{escape(self.sandbox.name)} no longer exists.", severity="warning")
                    self.app.pop_screen()
                    return
                self.sandbox = fresh
                self.show_fields()
                self.show_usage()
                self.show_ports(ports)
            interval = self.pocketenv.refresh_interval
            await asyncio.sleep(min(60.0, interval * 2**failures) if failures else interval)

    def show_fields(self) -> None:
        variables = self.app.theme_variables
        now = self.pocketenv.now()
        rows = field_rows(self.sandbox, now, variables, self.busy)
        self.field_values = {label: str(value) for label, value in rows}
        self.query_one("#fields", Static).update(fields_grid(rows))
        self.query_one("#summary", Static).update(summary_line(self.sandbox, now, variables, self.busy))

    def show_usage(self) -> None:
        self.query_one(UsageStrip).show_from(monitor_of(self.app), self.sandbox, compact=self.has_class("-compact"))

    def show_ports(self, ports: list[Port]) -> None:
        had_ports = bool(self.ports)
        self.ports = {str(port.port): port for port in ports}
        self.ports_loaded = True
        table = self.query_one("#ports", LiveTable)
        compact = self.has_class("-compact")
        table.show_rows({key: port_cells(port, compact) for key, port in self.ports.items()})
        self.query_one("#ports-empty").display = not self.ports
        if had_ports != bool(self.ports):
            # Only then do the port keys change state; a footer refresh re-styles every key.
            self.refresh_bindings()

    def selected_port(self) -> Port | None:
        key = self.query_one("#ports", LiveTable).highlighted_key
        return self.ports.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.has_class(EXEC_OPEN):
            return False  # the exec view has the keyboard (its keys are its own)
        if action in self.pocketenv.MUTATING_ACTIONS and self.pocketenv.read_only:
            return False
        if action in ("unexpose", "copy_url", "open_url"):
            return True if self.ports else None
        if action == "toggle_fields":
            return self.has_class("-compact")  # the wide layout always shows them
        return True

    def _report(self, exc: PocketenvError, doing: str) -> None:
        problem = describe_error(exc, self.pocketenv.context, doing)
        self.notify(f"{escape(problem.why)}\n{escape(problem.fix)}", title=problem.what, severity="error")

    def _refused(self, action: str) -> bool:
        if self.pocketenv.read_only and action in self.pocketenv.MUTATING_ACTIONS:
            self.notify("Read-only mode: this action is disabled.", severity="warning")
            return True
        return False

    # -- ports ----------------------------------------------------------------------------------
    def action_expose(self) -> None:
        if self._refused("expose"):
            return
        sandbox_id = self.sandbox.id

        def submitted(request: ExposeRequest | None) -> None:
            if request is not None:
                self.run_worker(partial(self._expose, sandbox_id, request), group="ports-action", exit_on_error=False)

        self.app.push_screen(ExposeScreen(self.sandbox.name), submitted)

    async def _expose(self, sandbox_id: str, request: ExposeRequest) -> None:
        try:
            url = await self.pocketenv.client.sandboxes.expose_port(
                sandbox_id, request.port, request.description
            )
        except PocketenvError as exc:
            self._report(exc, f"Could not expose port {request.port}")
            return
        self.notify(escape(f"Port {request.port} exposed" + (f": {url}" if url else ".")), title="Ports")
        await self._reload_ports()

    async def _reload_ports(self) -> None:
        try:
            ports = await self.pocketenv.client.sandboxes.get_exposed_ports(self.sandbox.id)
        except PocketenvError as exc:
            self._report(exc, "Could not list the ports")
            return
        self.show_ports(ports)

    def action_unexpose(self) -> None:
        if self._refused("unexpose"):
            return
        port = self.selected_port()
        if port is None:
            self.notify("No port is highlighted.", severity="warning")
            return
        sandbox_id = self.sandbox.id

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(partial(self._unexpose, sandbox_id, port.port), group="ports-action", exit_on_error=False)

        self.app.push_screen(
            ConfirmScreen(f"Unexpose port {port.port} of {self.sandbox.name}? Its preview URL stops working.", yes_label="Unexpose"),
            answered,
        )

    async def _unexpose(self, sandbox_id: str, port: int) -> None:
        try:
            await self.pocketenv.client.sandboxes.unexpose_port(sandbox_id, port)
        except PocketenvError as exc:
            self._report(exc, f"Could not unexpose port {port}")
            return
        self.notify(f"Port {port} unexposed.", title="Ports")
        await self._reload_ports()

    def action_copy_url(self) -> None:
        port = self.selected_port()
        if port is None or not port.preview_url:
            self.notify("No preview URL to copy.", severity="warning")
            return
        copy_with_notice(self.app, port.preview_url, f"Copied {port.preview_url}", title="Ports")

    def action_open_url(self) -> None:
        port = self.selected_port()
        if port is None or not port.preview_url:
            self.notify("No preview URL to open.", severity="warning")
            return
        self.app.open_url(port.preview_url)
        self.notify(escape(f"Opening {port.preview_url}"), title="Ports")

    # -- exec -------------------------------------------------------------------------------------
    # The exec view is its own widget (widgets/exec_panel.py); the screen only shows it in
    # place of its body and gives the focus back when it closes.
    def action_exec(self) -> None:
        if self._refused("exec"):
            return
        if not self.has_class(EXEC_OPEN):
            self._focus_before_exec = self.focused
            self.add_class(EXEC_OPEN)
            self.refresh_bindings()
        self.query_one(ExecPanel).open()  # keys typed right after "e" belong to the command

    @on(ExecPanel.Closed)
    def _exec_closed(self) -> None:
        self.remove_class(EXEC_OPEN)
        self.refresh_bindings()
        before, self._focus_before_exec = self._focus_before_exec, None
        if before is not None and before.is_attached and before.focusable:
            before.focus()
        else:
            self.query_one("#ports", LiveTable).focus()

    # -- VS Code, shell, lifecycle ------------------------------------------------------------------
    def action_vscode(self) -> None:
        if self._refused("vscode"):
            return
        self.run_worker(partial(self._vscode, self.sandbox.id), group="vscode", exclusive=True, exit_on_error=False)

    async def _vscode(self, sandbox_id: str) -> None:
        note = self.query_one("#vscode", Static)
        note.display = True
        note.update("Starting VS Code…")
        try:
            url = await self.pocketenv.client.sandboxes.expose_vscode(sandbox_id)
        except PocketenvError as exc:
            problem = describe_error(exc, self.pocketenv.context, "VS Code is not available")
            note.update(Text(f"{problem.one_line()}"))
            self._report(exc, "VS Code is not available")
            return
        self.vscode_url = url
        note.update(Text.assemble(("VS Code: ", "bold"), url))
        self.notify(escape(f"VS Code at {url}"), title="VS Code")

    def action_shell(self) -> None:
        self.pocketenv.open_shell(self.sandbox)

    def action_describe(self) -> None:
        from pocketenv_tui.app.screens.describe import open_describe

        open_describe(self.pocketenv, self.sandbox)

    def action_logs(self) -> None:
        from pocketenv_tui.app.screens.logs import open_logs

        open_logs(self.pocketenv, self.sandbox)

    def action_start(self) -> None:
        self._lifecycle("start")

    def action_stop(self) -> None:
        self._lifecycle("stop")

    def _lifecycle(self, action: str) -> None:
        if self._refused(action):
            return
        self.busy = "STARTING…" if action == "start" else "STOPPING…"
        self.show_fields()
        self.run_worker(partial(self._run_lifecycle, action, self.sandbox.id), group="lifecycle", exclusive=True, exit_on_error=False)

    async def _run_lifecycle(self, action: str, sandbox_id: str) -> None:
        client = self.pocketenv.client
        try:
            if action == "start":
                await client.sandboxes.start(sandbox_id)
                self.sandbox = await client.sandboxes.wait_until_running(sandbox_id, timeout=120.0, interval=1.0)
            else:
                await client.sandboxes.stop(sandbox_id)
                self.pocketenv.forget_shells(sandbox_id)  # stopping a sandbox ends its shells
                self.sandbox = await client.sandboxes.get(sandbox_id) or self.sandbox
        except PocketenvError as exc:
            self._report(exc, f"Could not {action} {self.sandbox.name}")
        else:
            self.notify(f"{escape(self.sandbox.name)} {'is running' if action == 'start' else 'stopped'}.")
        finally:
            self.busy = None
            self.show_fields()

    def action_refresh(self) -> None:
        self.refresh_now()

    def action_resource_tab(self, offset: int) -> None:
        """From the ports table, `[`/`]` step into the resource tabs (inside them, the tabs'
        own bindings take over)."""
        tabs = self.query_one(ResourceTabs)
        if offset > 0:
            tabs.action_next_tab()
        else:
            tabs.action_previous_tab()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(f"sandbox {self.sandbox.name}", describe_bindings(self), []))
