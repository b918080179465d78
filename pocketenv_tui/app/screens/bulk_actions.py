"""Marks and bulk lifecycle actions on the sandboxes list: a mixin of SandboxesScreen.

- ``space`` marks or unmarks the highlighted sandbox and moves down (k9s, Midnight Commander),
  ``*`` marks every sandbox in view (or unmarks them when all already are), ``esc`` clears the
  marks (before it clears the filter). Marks are sandbox ids: they survive polls and re-sorts,
  a sandbox that leaves the list loses its mark, and changing view or context clears them.
- With marks, ``s``, ``x`` and ``d`` act on the marked sandboxes **in view**: one confirmation
  names them all (No focused), marked rows hidden by the filter are left alone and the question
  says how many. Without marks the keys act on the highlighted row as before.
- The calls run in one worker, at most ``BULK_CONCURRENCY`` at a time; each row shows its
  progress (QUEUED…, then the action's pending label); then one notification sums up
  ("Stopped 3 of 4: beta failed: …"). A 5xx goes through the re-read of server_state, so a
  change the server made anyway counts as done. Sandboxes that were done lose their marks; the
  ones that failed keep them, so pressing the key again retries just those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.style import Style
from rich.text import Text

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.sandbox_rows import Cell
from pocketenv_tui.app.screens.lifecycle_actions import PENDING_LABELS
from pocketenv_tui.app.server_state import (
    Severity,
    is_server_failure,
    lifecycle_report,
    server_said,
)
from pocketenv_tui.app.widgets.live_table import LiveTable

if TYPE_CHECKING:
    from pocketenv_tui.app.screens.sandboxes import SandboxesScreen

    _Base = SandboxesScreen
else:
    _Base = object

MARK_COLUMN = ("mark", " ")  # a one-cell label: the column is as wide before the first mark as after
MARK = "●"
MARK_COLUMN_WIDTH = 3  # the mark and the table's cell padding either side: the others get less
MARKED_COMPONENT = "live-table--marked"  # styled in styles/sandboxes.tcss
BULK_CONCURRENCY = 4  # calls in flight at once: enough to be quick, few enough not to flood a server
QUEUED_LABEL = "QUEUED…"
MAX_NAMED = 40  # a question naming more would not fit a dialog: the rest are counted
MARK_ACTIONS = {"toggle_mark", "mark_all", "clear_marks"}
_VERB = {"start": "Start", "stop": "Stop", "delete": "Delete"}
_PAST = {"start": "Started", "stop": "Stopped", "delete": "Deleted"}


@dataclass(frozen=True)
class BulkOutcome:
    """What became of one sandbox of a bulk action."""

    sandbox_id: str
    name: str
    done: bool
    note: str = ""  # why it failed; or, done despite an error answer, what the server said


def _sandboxes(count: int) -> str:
    return f"{count} sandbox" if count == 1 else f"{count} sandboxes"


def named(names: Sequence[str], limit: int = MAX_NAMED) -> str:
    """``alpha, bravo and 3 more`` once there are more than ``limit``."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def bulk_question(action: str, names: Sequence[str], hidden: int = 0, busy: Sequence[str] = ()) -> str:
    """The one confirmation of a bulk action, naming every sandbox it will touch."""
    lines = [f"{_VERB[action]} {_sandboxes(len(names))}: {named(names)}?"]
    if action == "delete":
        lines.append("Their files, ports and services go with them." if len(names) > 1
                     else "Its files, ports and services go with it.")
    if hidden:
        verb = "is" if hidden == 1 else "are"
        lines.append(f"{hidden} marked {'sandbox' if hidden == 1 else 'sandboxes'} hidden by the filter {verb} left alone.")
    if busy:
        lines.append(f"Busy, so left alone: {named(busy)}.")
    return "\n".join(lines)


def bulk_summary(action: str, outcomes: Sequence[BulkOutcome]) -> tuple[str, Severity]:
    """``Stopped 3 of 4: beta failed: <why>``, the failures named, then the done-anyway notes."""
    done = [outcome for outcome in outcomes if outcome.done]
    failed = [outcome for outcome in outcomes if not outcome.done]
    head = f"{_PAST[action]} {len(done)} of {len(outcomes)}"
    if failed:
        reasons = "; ".join(f"{outcome.name} failed: {outcome.note.rstrip('.')}" for outcome in failed)
        message = f"{head}: {reasons}."
    else:
        message = f"{head}: {named([outcome.name for outcome in done])}."
    notes = [f"{outcome.name}: {outcome.note}" for outcome in done if outcome.note]
    if notes:
        message += "\n" + "\n".join(notes)
    severity: Severity = "error" if failed else "warning" if notes else "information"
    return message, severity


def mark_cell(marked: bool) -> Cell:
    # Marked rows sort first when the user sorts by this column (a click on its header).
    return Cell(MARK, 0) if marked else Cell("", 1)


def marked_row(cells: Iterable[object], mark_style: Style) -> tuple[object, ...]:
    """``cells`` in the marked style; a cell's own style (the status colour) still wins."""
    restyled: list[object] = []
    for cell in cells:
        text = cell if isinstance(cell, Text) else Text(str(cell))
        own = text.style if isinstance(text.style, Style) else Style.parse(text.style) if text.style else Style.null()
        copy = Cell(text.plain, getattr(cell, "sort_key", None), style=str(mark_style + own), justify=text.justify)
        copy.spans = list(text.spans)
        restyled.append(copy)
    return tuple(restyled)


class BulkActions(_Base):
    """The marks of SandboxesScreen and the bulk versions of its lifecycle keys."""

    marks: set[str]

    # -- marks ---------------------------------------------------------------------------------
    def decorate_rows(self, rows: dict[str, tuple[object, ...]]) -> dict[str, tuple[object, ...]]:
        """The list's rows with their mark cell in front, marked ones in the marked style."""
        self.forget_lost_marks()
        style = self.query_one(LiveTable).get_component_rich_style(MARKED_COMPONENT, partial=True)
        return {
            key: marked_row((mark_cell(True), *cells), style) if key in self.marks else (mark_cell(False), *cells)
            for key, cells in rows.items()
        }

    def forget_lost_marks(self) -> None:
        """A sandbox no longer in the list loses its mark."""
        if self.marks - self.items.keys():
            self.marks &= self.items.keys()
            self._marks_changed(render=False)

    def marks_in_view(self) -> list[str]:
        """Marked ids shown now (not hidden by the filter), in the table's order."""
        return [str(key) for key in self._keys_in_view() if str(key) in self.marks]

    def _keys_in_view(self) -> list[str]:
        table = self.query_one(LiveTable)
        return [str(row.key.value) for row in table.ordered_rows]

    def marks_label(self) -> str:
        """``3 marked`` for the header; ``3 marked, 1 hidden`` when the filter hides some."""
        if not self.marks:
            return ""
        hidden = len(self.marks) - len(self.marks_in_view())
        return f"{len(self.marks)} marked" + (f", {hidden} hidden" if hidden > 0 else "")

    def _marks_changed(self, render: bool = True) -> None:
        if render:
            self.render_rows()
        self._update_view_label()
        self.refresh_bindings()  # "Clear marks" shows only while there are marks

    def action_toggle_mark(self) -> None:
        table = self.query_one(LiveTable)
        key = table.highlighted_key
        if key is None or key not in self.items:
            return
        self.marks.symmetric_difference_update({key})
        self._marks_changed()
        table.action_cursor_down()

    def action_mark_all(self) -> None:
        in_view = set(self._keys_in_view()) & self.items.keys()
        if in_view and in_view <= self.marks:
            self.marks -= in_view
        else:
            self.marks |= in_view
        self._marks_changed()

    def action_clear_marks(self) -> None:
        self.marks.clear()
        self._marks_changed()

    def clear_marks_quietly(self) -> None:
        """For a new view or context (the rows are about to be replaced)."""
        self.marks.clear()

    # -- bulk lifecycle ------------------------------------------------------------------------
    def bulk_lifecycle(self, action: str) -> bool:
        """Act on the marked sandboxes in view after one confirmation; False without marks
        (the key then acts on the highlighted row)."""
        if not self.marks:
            return False
        in_view = self.marks_in_view()
        hidden = len(self.marks) - len(in_view)
        busy = [self.items[key].name for key in in_view if key in self.pending]
        targets = [(key, self.items[key].name) for key in in_view if key not in self.pending]
        if not targets:
            why = (
                f"the {_sandboxes(hidden)} marked {'is' if hidden == 1 else 'are'} hidden by the filter"
                if not in_view
                else "every marked sandbox is busy"
            )
            self.notify(f"Nothing to {action}: {why}. esc clears the marks.", severity="warning")
            return True

        from pocketenv_tui.app.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_bulk(action, targets)

        question = bulk_question(action, [name for _, name in targets], hidden, busy)
        self.app.push_screen(
            ConfirmScreen(question, yes_label=f"{_VERB[action]} {len(targets)}", danger=action != "start"),
            answered,
        )
        return True

    def run_bulk(self, action: str, targets: Sequence[tuple[str, str]]) -> None:
        fresh = [(key, name) for key, name in targets if key not in self.pending]
        for key, _ in fresh:
            self.pending[key] = QUEUED_LABEL
        self.render_rows()
        self.run_worker(
            partial(self._bulk, action, fresh), group="bulk-actions", exit_on_error=False, name=f"bulk-{action}"
        )

    async def _bulk(self, action: str, targets: Sequence[tuple[str, str]]) -> None:
        slots = asyncio.Semaphore(BULK_CONCURRENCY)

        async def one(sandbox_id: str, name: str) -> BulkOutcome:
            async with slots:
                self.pending[sandbox_id] = PENDING_LABELS[action]
                self.render_rows()
                try:
                    outcome = await self._bulk_call(action, sandbox_id, name)
                finally:
                    await self._settle(sandbox_id)
                return outcome

        outcomes = await asyncio.gather(*(one(sandbox_id, name) for sandbox_id, name in targets))
        for outcome in outcomes:
            if outcome.done:
                self.marks.discard(outcome.sandbox_id)
                if action != "start":  # stopping or deleting a sandbox ends its shells
                    self.pocketenv.forget_shells(outcome.sandbox_id)
        self._marks_changed()
        message, severity = bulk_summary(action, outcomes)
        self.notify(escape(message), title=action.capitalize(), severity=severity, timeout=10)

    async def _bulk_call(self, action: str, sandbox_id: str, name: str) -> BulkOutcome:
        try:
            await self.call_lifecycle(action, sandbox_id)
        except PocketenvError as exc:
            if not is_server_failure(exc):
                problem = describe_error(exc, self.pocketenv.context, "")
                return BulkOutcome(sandbox_id, name, False, problem.why)
            # A 5xx may come after the change was made: what does the server hold now?
            try:
                fresh, read_back = await self.pocketenv.client.sandboxes.get(sandbox_id), True
            except PocketenvError:
                fresh, read_back = None, False
            report = lifecycle_report(action, name, exc, fresh, read_back)
            if report.outcome == "made":
                return BulkOutcome(sandbox_id, name, True, f"{server_said(exc)}, but re-reading shows it was done")
            # The report starts by naming the action and the sandbox; the summary already does.
            return BulkOutcome(sandbox_id, name, False, report.message.removeprefix(f"Could not {action} {name}: "))
        return BulkOutcome(sandbox_id, name, True)
