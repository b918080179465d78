"""One sandbox: its fields, a live Ports table, exec, VS Code, the shell, and the tabs of
what it carries (secrets, variables, files, volumes, services, keys, backups, copy)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Label, Static

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.resource_models import Port
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.formatting import (
    format_sandbox_resources,
    format_timestamp,
    format_uptime,
    protections_text,
    status_text,
    theme_colour,
)
from pocketenv_tui.app.resources import ResourceTabs
from pocketenv_tui.app.sandbox_rows import Cell, base_name
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.expose import ExposeRequest, ExposeScreen
from pocketenv_tui.app.screens.help import HelpScreen, describe_bindings
from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.app.widgets.context_header import ContextHeader
from pocketenv_tui.app.widgets.key_footer import KeyFooter
from pocketenv_tui.app.widgets.live_table import LiveTable

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp

PORT_COLUMNS = [("port", "PORT"), ("description", "DESCRIPTION"), ("url", "PREVIEW URL")]
MAX_EXEC_OUTPUT = 200_000  # characters kept on screen; the rest is cut with a note


def port_cells(port: Port) -> tuple[object, ...]:
    return (
        Cell(str(port.port), port.port, justify="right"),
        port.description or "-",
        port.preview_url or "-",
    )


def exec_transcript(command: str, stdout: str, stderr: str, exit_code: int) -> Text:
    """What the exec panel shows: the command, its output (stderr marked) and the exit code."""
    text = Text()
    text.append(f"$ {command}\n", style="bold")
    if stdout:
        text.append(stdout if stdout.endswith("\n") else stdout + "\n")
    if stderr:
        text.append(stderr if stderr.endswith("\n") else stderr + "\n", style="italic")
    if len(text.plain) > MAX_EXEC_OUTPUT:
        text = text[-MAX_EXEC_OUTPUT:]
        text = Text("… (earlier output cut)\n", style="dim") + text
    text.append(f"exit code {exit_code}", style="bold" if exit_code == 0 else "bold reverse")
    return text


class SandboxScreen(Screen[None]):
    CSS_PATH = stylesheets("sandbox", "resources", "dialogs")
    BINDINGS = [
        Binding("escape", "back", "Back", id="sandbox.back"),
        Binding("p", "expose", "Expose", id="sandbox.expose"),
        Binding("u", "unexpose", "Unexpose", id="sandbox.unexpose"),
        Binding("c", "copy_url", "Copy", id="sandbox.copy_url"),
        Binding("o", "open_url", "Open", id="sandbox.open_url"),
        Binding("e", "exec", "Exec", id="sandbox.exec"),
        Binding("t", "shell", "Shell", id="sandbox.shell"),
        Binding("v", "vscode", "VS Code", id="sandbox.vscode"),
        Binding("s", "start", "Start", id="sandbox.start", show=False),
        Binding("x", "stop", "Stop", id="sandbox.stop", show=False),
        Binding("r", "refresh", "Refresh", id="sandbox.refresh"),
        Binding("right_square_bracket", "resource_tab(1)", "Tabs", id="sandbox.next_tab", key_display="]"),
        Binding("left_square_bracket", "resource_tab(-1)", "Previous tab", id="sandbox.previous_tab", key_display="[", show=False),
        Binding("question_mark", "help", "Help", id="sandbox.help"),
    ]

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.ports: dict[str, Port] = {}
        self.ports_loaded = False
        self.exec_count = 0
        self.last_exec: tuple[str, int] | None = None
        self.vscode_url: str | None = None
        self.busy: str | None = None
        self.field_values: dict[str, str] = {}

    @property
    def pocketenv(self) -> PocketenvApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ContextHeader(id="context-header")
        yield Static("", id="problem", classes="banner")
        with Horizontal(id="sandbox-body"):
            with Vertical(id="fields-pane"):
                yield Label("Sandbox", classes="pane-title")
                yield Static("", id="fields")
                yield Static("", id="vscode", classes="note")
            with Vertical(id="ports-pane"):
                yield Label("Ports", classes="pane-title")
                yield LiveTable(id="ports")
                yield Static("No exposed ports. Press p to expose one.", id="ports-empty", classes="empty-state")
        yield ResourceTabs(self.pocketenv.client, self.sandbox, read_only=self.pocketenv.read_only)
        with VerticalScroll(id="exec-pane"):
            yield Static("", id="exec-output")
        yield Input(placeholder="command to run in the sandbox (enter runs, esc closes)", id="exec-input", classes="prompt-line")
        yield KeyFooter()

    def on_mount(self) -> None:
        header = self.query_one(ContextHeader)
        header.context_label = self.pocketenv.context.label
        header.view_label = f"sandbox {self.sandbox.name}"
        self.query_one("#problem").display = False
        self.query_one("#exec-pane").display = False
        self.query_one("#exec-input").display = False
        self.query_one("#vscode").display = False
        self.query_one("#ports", LiveTable).set_columns(PORT_COLUMNS)
        self.show_fields()
        self.query_one("#ports", LiveTable).focus()

    def on_screen_resume(self) -> None:
        self.refresh_now()

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
                self.show_ports(ports)
            interval = self.pocketenv.refresh_interval
            await asyncio.sleep(min(60.0, interval * 2**failures) if failures else interval)

    def show_fields(self) -> None:
        sandbox = self.sandbox
        now = self.pocketenv.now()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        status = self.busy or sandbox.status or "UNKNOWN"
        protections = protections_text(sandbox, self.app.theme_variables)
        resources = format_sandbox_resources(sandbox)
        rows: list[tuple[str, Text | str]] = [
            ("Name", sandbox.name),
            ("ID", sandbox.id),
            ("Status", status_text(status, self.app.theme_variables)),
            ("Up", format_uptime(sandbox.status or "", sandbox.started_at, now)),
            ("Isolation", sandbox.isolation or "-"),
        ]
        if protections is not None:
            rows.append(("Protections", protections[0]))
        rows += [
            ("Resources", resources),
            ("Base", base_name(sandbox) or "-"),
            ("Provider", sandbox.provider or "-"),
            ("Created", format_timestamp(sandbox.created_at)),
            ("Started", format_timestamp(sandbox.started_at)),
            ("Repo", sandbox.repo or "-"),
        ]
        if protections is not None and protections[1] is not None:
            rows.append(("Off", protections[1]))
        if sandbox.limits is not None and sandbox.limits.pids is not None:
            rows.append(("Processes", f"at most {sandbox.limits.pids}"))
        if sandbox.warnings:
            colour = theme_colour("warning", self.app.theme_variables)
            rows.append(("Warnings", Text("\n".join(sandbox.warnings), style=colour or "")))
        if sandbox.description:
            rows.append(("About", sandbox.description))
        self.field_values = {label: str(value) for label, value in rows}
        for label, value in rows:
            grid.add_row(label, value if isinstance(value, Text) else Text(value))
        self.query_one("#fields", Static).update(grid)

    def show_ports(self, ports: list[Port]) -> None:
        had_ports = bool(self.ports)
        self.ports = {str(port.port): port for port in ports}
        self.ports_loaded = True
        table = self.query_one("#ports", LiveTable)
        table.show_rows({key: port_cells(port) for key, port in self.ports.items()})
        self.query_one("#ports-empty").display = not self.ports
        if had_ports != bool(self.ports):
            # Only then do the port keys change state; a footer refresh re-styles every key.
            self.refresh_bindings()

    def selected_port(self) -> Port | None:
        key = self.query_one("#ports", LiveTable).highlighted_key
        return self.ports.get(key) if key else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.pocketenv.MUTATING_ACTIONS and self.pocketenv.read_only:
            return False
        if action in ("unexpose", "copy_url", "open_url"):
            return True if self.ports else None
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
        self.app.copy_to_clipboard(port.preview_url)
        self.notify(escape(f"Copied {port.preview_url}"), title="Ports")

    def action_open_url(self) -> None:
        port = self.selected_port()
        if port is None or not port.preview_url:
            self.notify("No preview URL to open.", severity="warning")
            return
        self.app.open_url(port.preview_url)
        self.notify(escape(f"Opening {port.preview_url}"), title="Ports")

    # -- exec -------------------------------------------------------------------------------------
    def action_exec(self) -> None:
        if self._refused("exec"):
            return
        field = self.query_one("#exec-input", Input)
        field.display = True
        self.set_focus(field)  # keys typed right after "e" belong to the command

    def on_key(self, event) -> None:
        if event.key == "escape" and isinstance(self.focused, Input):
            event.stop()
            self._close_exec_input()

    def _close_exec_input(self) -> None:
        field = self.query_one("#exec-input", Input)
        field.value = ""
        field.display = False
        self.set_focus(self.query_one("#ports", LiveTable))

    @on(Input.Submitted, "#exec-input")
    def _exec_submitted(self, event: Input.Submitted) -> None:
        command = event.value.strip()
        if not command:
            return
        event.input.value = ""
        self.run_worker(partial(self._exec, self.sandbox.id, command), group="exec", exit_on_error=False)

    async def _exec(self, sandbox_id: str, command: str) -> None:
        pane = self.query_one("#exec-pane")
        output = self.query_one("#exec-output", Static)
        pane.display = True
        output.update(Text(f"$ {command}\n… running", style="dim"))
        try:
            result = await self.pocketenv.client.sandboxes.exec(sandbox_id, command)
        except PocketenvError as exc:
            problem = describe_error(exc, self.pocketenv.context, "Could not run the command")
            output.update(Text(f"$ {command}\n{problem.one_line()}\n{problem.fix}"))
            return
        self.exec_count += 1
        self.last_exec = (command, result.exit_code)
        output.update(exec_transcript(command, result.stdout, result.stderr, result.exit_code))
        pane.scroll_end(animate=False)

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
