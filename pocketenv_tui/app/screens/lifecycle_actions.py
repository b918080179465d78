"""Lifecycle keys of the sandboxes list for one sandbox: a mixin of SandboxesScreen.

``s``, ``x`` and ``d`` (with a question) start, stop and delete the highlighted sandbox (with
marks, bulk_actions.py takes them); ``n`` opens the create form and follows the new sandbox to
RUNNING. Each call runs in a worker of its own group per sandbox while the row shows a progress
label; a 5xx goes through the re-read of server_state.py, so a change the server made anyway
is reported as made; then the row is settled from the server's record.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.markup import escape

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.server_state import created_anyway, is_server_failure, lifecycle_report
from pocketenv_tui.app.widgets.live_table import LiveTable

if TYPE_CHECKING:
    from pocketenv_tui.app.screens.create import CreateRequest
    from pocketenv_tui.app.screens.sandboxes import SandboxesScreen

    _Base = SandboxesScreen
else:
    _Base = object

PENDING_LABELS = {"start": "STARTING…", "stop": "STOPPING…", "delete": "DELETING…"}
DONE_WORDS = {"start": "is running", "stop": "stopped", "delete": "deleted"}


class LifecycleActions(_Base):
    # -- lifecycle ----------------------------------------------------------------------------
    def action_start(self) -> None:
        self._lifecycle_key("start")

    def action_stop(self) -> None:
        self._lifecycle_key("stop")

    def action_delete(self) -> None:
        if self._refused("delete") or self.view == "catalog" or self.bulk_lifecycle("delete"):
            return
        sandbox = self._need_selection()
        if sandbox is None:
            return

        from pocketenv_tui.app.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_lifecycle("delete", sandbox)

        self.app.push_screen(
            ConfirmScreen(
                f"Delete sandbox {sandbox.name}? Its files, ports and services go with it.",
                yes_label="Delete",
            ),
            answered,
        )

    def _lifecycle_key(self, action: str) -> None:
        if self._refused(action) or self.view == "catalog" or self.bulk_lifecycle(action):
            return
        sandbox = self._need_selection()  # captured now, whatever the table does next
        if sandbox is not None:
            self.run_lifecycle(action, sandbox)

    def run_lifecycle(self, action: str, sandbox: Sandbox) -> None:
        if sandbox.id in self.pending:
            self.notify(f"{sandbox.name} is busy ({self.pending[sandbox.id]}).", severity="warning")
            return
        self.pending[sandbox.id] = PENDING_LABELS[action]
        self.render_rows()
        self.run_worker(
            partial(self._lifecycle, action, sandbox.id, sandbox.name),
            group=f"action-{sandbox.id}",
            exit_on_error=False,
            name=f"{action}-{sandbox.id}",
        )

    async def call_lifecycle(self, action: str, sandbox_id: str) -> None:
        """The call behind a lifecycle key (start waits until the sandbox runs)."""
        client = self.pocketenv.client
        if action == "start":
            await client.sandboxes.start(sandbox_id)
            await client.sandboxes.wait_until_running(sandbox_id, timeout=120.0, interval=1.0)
        elif action == "stop":
            await client.sandboxes.stop(sandbox_id)
        else:
            await client.sandboxes.delete(sandbox_id)

    async def _lifecycle(self, action: str, sandbox_id: str, name: str) -> None:
        try:
            await self.call_lifecycle(action, sandbox_id)
        except PocketenvError as exc:
            if is_server_failure(exc):
                await self._report_after_failure(action, sandbox_id, name, exc)
            else:
                problem = describe_error(exc, self.pocketenv.context, f"Could not {action} {name}")
                self.notify(f"{escape(problem.why)}\n{escape(problem.fix)}", title=problem.what, severity="error")
        else:
            self.notify(f"{escape(name)} {DONE_WORDS[action]}.", title=action.capitalize())
            if action != "start":  # stopping or deleting a sandbox ends its shells
                self.pocketenv.forget_shells(sandbox_id)
        await self._settle(sandbox_id)

    async def _report_after_failure(self, action: str, sandbox_id: str, name: str, exc: PocketenvError) -> None:
        """A 5xx may come after the change was made: say what the server holds now."""
        try:
            fresh, read_back = await self.pocketenv.client.sandboxes.get(sandbox_id), True
        except PocketenvError:
            fresh, read_back = None, False
        report = lifecycle_report(action, name, exc, fresh, read_back)
        self.notify(escape(report.message), title=action.capitalize(), severity=report.severity, timeout=10)
        if report.outcome == "made" and action != "start":
            self.pocketenv.forget_shells(sandbox_id)

    async def _settle(self, sandbox_id: str) -> None:
        """Replace the row's progress label with the sandbox's real state."""
        try:
            fresh = await self.pocketenv.client.sandboxes.get(sandbox_id)
        except PocketenvError:
            fresh = self.items.get(sandbox_id)
        self.pending.pop(sandbox_id, None)
        if fresh is None:
            self.items.pop(sandbox_id, None)
        elif self.view == "mine" or (self.view == "running" and fresh.status == "RUNNING"):
            self.items[sandbox_id] = fresh
        else:
            self.items.pop(sandbox_id, None)
        self.render_rows()

    # -- create -----------------------------------------------------------------------------
    def action_create(self, base: str | None = None) -> None:
        if self._refused("create"):
            return
        if base is None and self.view == "catalog":
            template = self.selected()
            base = template.name if template else None
        # Dialog screens load when first opened; start-up only pays for the list.
        from pocketenv_tui.app.screens.create import HOSTED_PROVIDERS, CreateScreen

        # The local backend takes every hosted provider name (it records it and picks the
        # terminal family the official clients expect by it) and runs them all here.
        providers = HOSTED_PROVIDERS

        def created(sandbox: Sandbox | None) -> None:
            if sandbox is not None:
                self.run_worker(partial(self._follow_created, sandbox), group="create", exit_on_error=False)

        self.app.push_screen(CreateScreen(self._catalog_options, providers, self._create, base=base), created)

    async def _catalog_options(self) -> list[tuple[str, str]]:
        options: list[tuple[str, str]] = []
        async for template in self.pocketenv.client.sandboxes.iter_catalog():
            label = template.name
            if template.display_name and template.display_name != template.name:
                label = f"{template.display_name} ({template.name})"
            options.append((label, template.name))
        return options

    async def _create(self, request: CreateRequest) -> Sandbox:
        """The create call, made while the form is open (its errors are shown there).

        A 5xx may come after the server stored the sandbox: when it has a name, look it up and
        go on with it if it is there."""
        client = self.pocketenv.client
        try:
            return await client.sandboxes.create(
                request.base,
                name=request.name,
                provider=request.provider,
                repo=request.repo,
                keep_alive=request.keep_alive or None,
            )
        except PocketenvError as exc:
            if not is_server_failure(exc):
                raise
            found, report = await created_anyway(exc, request.name, client.sandboxes.get)
            self.notify(escape(report.message), title="Create", severity=report.severity, timeout=10)
            return found

    async def _follow_created(self, sandbox: Sandbox) -> None:
        client = self.pocketenv.client
        self.pending[sandbox.id] = "CREATING…"
        if self.view == "mine":
            self.items[sandbox.id] = sandbox
            self.render_rows()
            self.query_one(LiveTable).select_key(sandbox.id)
        self.notify(f"Creating {escape(sandbox.name)}…", title="Create")
        try:
            await client.sandboxes.wait_until_running(sandbox.id, timeout=180.0, interval=1.0)
        except PocketenvError as exc:
            problem = describe_error(exc, self.pocketenv.context, f"{sandbox.name} did not start")
            self.notify(f"{escape(problem.why)}\n{escape(problem.fix)}", title=problem.what, severity="error")
        else:
            self.notify(f"{escape(sandbox.name)} is running.", title="Create")
        await self._settle(sandbox.id)
