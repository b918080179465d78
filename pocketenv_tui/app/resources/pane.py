"""What every resource tab shares: the client and sandbox, read-only refusal, error reporting,
forms and confirmations, and (for list tabs) a live table diffed by row key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from pocketenv_tui.api import PocketenvClient, PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.formatting import as_utc, format_age
from pocketenv_tui.app.resources.form import CrossCheck, Field, FormScreen, Submit
from pocketenv_tui.app.sandbox_rows import Cell
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.server_state import change_report, is_server_failure, recheck
from pocketenv_tui.app.widgets.live_table import LiveTable

R = TypeVar("R")
# Re-reads the server: True when a change that answered 5xx is there all the same.
Landed = Callable[[], Awaitable[bool]]


class ResourcePane(Vertical):
    """One tab's content. Subclasses set ``MUTATING`` (actions refused when read-only) and
    implement ``load`` (fetch and show)."""

    MUTATING: ClassVar[frozenset[str]] = frozenset()
    can_focus = False

    def __init__(self, client: PocketenvClient, sandbox: Sandbox, *, read_only: bool, id: str) -> None:
        super().__init__(id=id, classes="resource-pane")
        self.client = client
        self.sandbox = sandbox
        self.read_only = read_only
        self.loaded = False
        self.load_count = 0

    @property
    def sandbox_id(self) -> str:
        return self.sandbox.id

    def now(self) -> datetime:
        clock = getattr(self.app, "now", None)
        return clock() if callable(clock) else datetime.now(UTC)

    def age(self, moment: datetime | None) -> str:
        return format_age(moment, self.now()) or "-"

    def created_cell(self, moment: datetime | None) -> Cell:
        """An age that sorts by the instant, oldest first."""
        return Cell(self.age(moment), as_utc(moment).timestamp() if moment else 0.0)

    def focus_main(self) -> None:
        """Put the keyboard in this tab (its table, or the pane itself)."""
        if self.can_focus:
            self.focus()
            return
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    # -- loading ----------------------------------------------------------------------------
    def reload(self) -> None:
        self.run_worker(self._load_reporting, group=f"{self.id}-load", exclusive=True, exit_on_error=False)

    async def _load_reporting(self) -> None:
        problem = self.query(".pane-problem")
        try:
            await self.load()
        except PocketenvError as exc:
            if problem:
                problem.first(Static).update(escape(self.problem_text(exc, f"Could not load the {self.id}")))
                problem.first().display = True
            return
        if problem:
            problem.first().display = False
        self.loaded = True
        self.load_count += 1

    async def load(self) -> None:
        raise TypeError(f"{type(self).__name__} must define load()")

    # -- reporting ------------------------------------------------------------------------------
    def problem_text(self, exc: PocketenvError, doing: str) -> str:
        context = getattr(self.app, "context", None)
        if context is None:
            return f"{doing}: {exc}"
        problem = describe_error(exc, context, doing)
        return f"{problem.what}: {problem.why}"

    def report(self, exc: PocketenvError, doing: str) -> None:
        self.notify(escape(self.problem_text(exc, doing)), title=self.title, severity="error", timeout=8)

    @property
    def title(self) -> str:
        return self.id.replace("-", " ").capitalize() if self.id else "Resources"

    # -- actions --------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.read_only and action in self.MUTATING:
            return False
        return True

    def refused(self, action: str) -> bool:
        if self.read_only and action in self.MUTATING:
            self.notify("Read-only mode: this action is disabled.", severity="warning")
            return True
        return False

    def open_form(
        self,
        title: str,
        fields: list[Field],
        submit: Submit,
        *,
        submit_label: str,
        form_id: str,
        cross_check: CrossCheck | None = None,
        note: str = "",
    ) -> None:
        def closed(message: str | None) -> None:
            if message:
                self.notify(escape(message), title=self.title)
                self.reload()

        form = FormScreen(title, fields, submit, submit_label=submit_label, form_id=form_id, cross_check=cross_check, note=note)
        self.app.push_screen(form, closed)

    async def add_checked(self, call: Callable[[], Awaitable[Any]], landed: Landed, done: str) -> str:
        """Run an add from a form: ``done`` when it worked, or when it answered 5xx and re-reading
        (``landed``) finds the record; otherwise the error, for the form to show."""
        try:
            await call()
        except PocketenvError as exc:
            if not is_server_failure(exc):
                raise
            report = change_report(exc, await recheck(landed), done, "Nothing was added.")
            if report.outcome != "made":
                raise PocketenvError(exc.status, exc.error, report.message) from None
            return report.message
        return done

    def confirm_then(
        self, question: str, yes_label: str, call: Callable[[], Awaitable[Any]], doing: str, done: str,
        landed: Landed | None = None,
    ) -> None:
        """Ask; on yes run ``call`` in a worker, then notify ``done`` (or the error) and reload."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_call(call, doing, done, landed)

        self.app.push_screen(ConfirmScreen(question, yes_label=yes_label), answered)

    def run_call(self, call: Callable[[], Awaitable[Any]], doing: str, done: str, landed: Landed | None = None) -> None:
        """``landed`` tells, by re-reading, whether the change is on the server: asked after a
        5xx, which may come once the change was made (server_state.py)."""

        async def run() -> None:
            try:
                await call()
            except PocketenvError as exc:
                if landed is None or not is_server_failure(exc):
                    self.report(exc, doing)
                    return
                report = change_report(exc, await recheck(landed), done, f"{doing}.")
                self.notify(escape(report.message), title=self.title, severity=report.severity, timeout=10)
                await self._load_reporting()
                return
            self.notify(escape(done), title=self.title)
            await self._load_reporting()

        self.run_worker(run, group=f"{self.id}-action", exit_on_error=False)


class TablePane(ResourcePane, Generic[R]):
    """A tab listing records in a LiveTable keyed by record id."""

    COLUMNS: ClassVar[list[tuple[str, str]]] = []
    EMPTY: ClassVar[str] = ""

    def __init__(self, client: PocketenvClient, sandbox: Sandbox, *, read_only: bool, id: str) -> None:
        super().__init__(client, sandbox, read_only=read_only, id=id)
        self.items: dict[str, R] = {}

    def compose(self) -> ComposeResult:
        yield Static("", classes="pane-problem")
        yield LiveTable(id=f"{self.id}-table", classes="resource-table")
        yield Static(self.EMPTY, classes="empty-state pane-empty")
        yield from self.compose_extra()

    def compose_extra(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one(".pane-problem").display = False
        self.table.set_columns(self.COLUMNS)

    @property
    def table(self) -> LiveTable:
        return self.query_one(f"#{self.id}-table", LiveTable)

    def focus_main(self) -> None:
        self.table.focus()

    async def fetch(self) -> Mapping[str, R]:
        raise TypeError(f"{type(self).__name__} must define fetch()")

    def cells(self, item: R) -> tuple[object, ...]:
        raise TypeError(f"{type(self).__name__} must define cells()")

    async def load(self) -> None:
        self.show(await self.fetch())

    def show(self, items: Mapping[str, R]) -> None:
        self.items = dict(items)
        self.table.show_rows({key: self.cells(item) for key, item in self.items.items()})
        self.query_one(".pane-empty").display = not self.items
        self.refresh_bindings()

    def gone(self, item_id: str) -> Landed:
        """A delete's check: the record is no longer listed."""

        async def check() -> bool:
            return item_id not in await self.fetch()

        return check

    def listed(self, matches: Callable[[R], bool]) -> Landed:
        """An add's check: a record the new one would be is listed."""

        async def check() -> bool:
            return any(matches(item) for item in (await self.fetch()).values())

        return check

    def selected(self) -> R | None:
        key = self.table.highlighted_key
        return self.items.get(key) if key else None

    def selected_or_warn(self, noun: str) -> R | None:
        item = self.selected()
        if item is None:
            self.notify(f"No {noun} is highlighted.", severity="warning")
        return item
