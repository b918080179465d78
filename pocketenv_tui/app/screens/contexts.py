"""`:ctx` with no argument: every context, with how it is doing, to switch to one.

Each context's health (app/contexts/health.py) is measured in a worker of its own, all at
once, so one slow or dead server only holds up its own line. The probe comes from the app,
which lets tests and snapshots pass fixed figures. Nothing is started here: a local context
whose backend is down says so, and starts only once chosen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, ListItem, ListView, Static

from pocketenv_tui.app.contexts.health import (
    CHECKING,
    HEALTH_TIMEOUT,
    ContextHealth,
    HealthProbe,
)
from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.app.widgets.key_footer import KeyFooter

STATE_MARKS = {"reachable": "✓", "not running": "○", "checking": "…", "unreachable": "✗", "unusable": "✗"}
STATE_CLASSES = [f"-{state.replace(' ', '-')}" for state in STATE_MARKS]


@dataclass(frozen=True)
class ContextChoice:
    name: str
    where: str  # e.g. "API https://… · token $STAGING_TOKEN", never the token


class ContextRow(ListItem):
    """One context: its name (marked when current), then its health over where it is. The
    health's colour comes from a class per state (styles/contexts.tcss)."""

    def __init__(self, choice: ContextChoice, *, current: bool, name_width: int) -> None:
        super().__init__()
        self.choice = choice
        self.current = current
        self.name_width = name_width
        self.health = CHECKING

    def compose(self) -> ComposeResult:
        mark = "●" if self.current else " "
        with Horizontal(classes="context-row"):
            label = Static(f"{mark} {self.choice.name}", classes="context-name", markup=False)
            label.styles.width = self.name_width + 4  # every row's health starts in one column
            yield label
            with Vertical(classes="context-detail"):
                yield Static("", classes="context-health", markup=False)
                yield Static(self.choice.where, classes="context-where", markup=False)

    def on_mount(self) -> None:
        self.show(self.health)

    def show(self, health: ContextHealth) -> None:
        self.health = health
        if not self.is_mounted:
            return  # on_mount shows it
        line = self.query_one(".context-health", Static)
        line.update(self.health_line)
        line.remove_class(*STATE_CLASSES)
        line.add_class(f"-{health.state.replace(' ', '-')}")

    @property
    def health_line(self) -> str:
        return f"{STATE_MARKS.get(self.health.state, '?')} {self.health.summary}"

    @property
    def text(self) -> str:
        """The row as shown, on one line (for tests)."""
        mark = "●" if self.current else " "
        return f"{mark} {self.choice.name}  {self.health_line}  {self.choice.where}"


class ContextList(ListView):
    """The rows; enter (ListView's own select) is shown in the footer as what it does here."""

    BINDINGS = [Binding("enter", "select_cursor", "Switch", id="contexts.switch")]


class ContextsScreen(ModalScreen[str | None]):
    CSS_PATH = stylesheets("dialogs", "contexts")
    BINDINGS = [
        Binding("r", "recheck", "Check again", id="contexts.recheck"),
        Binding("question_mark", "help", "Help", id="contexts.help"),
        Binding("escape", "close", "Close", id="contexts.close"),
    ]

    def __init__(
        self,
        choices: Sequence[ContextChoice],
        current: str,
        probe: HealthProbe,
        *,
        problems: Sequence[str] = (),
        file_hint: str = "",
    ) -> None:
        super().__init__()
        self.choices = list(choices)
        self.current = current
        self.probe = probe
        self.problems = list(problems)
        self.file_hint = file_hint
        self.health: dict[str, ContextHealth] = {choice.name: CHECKING for choice in self.choices}
        width = max((len(choice.name) for choice in self.choices), default=0)
        self.rows = {
            choice.name: ContextRow(choice, current=choice.name == current, name_width=width)
            for choice in self.choices
        }

    def compose(self) -> ComposeResult:
        names = list(self.rows)
        start = names.index(self.current) if self.current in names else 0
        with Vertical(id="contexts-dialog", classes="dialog"):
            yield Label("Contexts", classes="dialog-title")
            yield ContextList(*self.rows.values(), initial_index=start, id="contexts-list")
            for problem in self.problems:
                # One line each (the start-up notification had them in full).
                yield Static(f"⚠ {problem}", classes="contexts-problem", markup=False)
            if self.file_hint:
                yield Static(f"named contexts: {self.file_hint}", classes="dialog-hint", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(ListView).focus()
        self.action_recheck()

    # -- health ---------------------------------------------------------------------------
    def action_recheck(self) -> None:
        """Measure every context again, each in its own worker (in parallel)."""
        for choice in self.choices:
            self._show(choice.name, CHECKING)
            self.run_worker(
                partial(self._measure, choice.name),
                group=f"context-health-{choice.name}",
                exclusive=True,
                exit_on_error=False,
            )

    async def _measure(self, name: str) -> None:
        try:
            # The probe has its own timeout; this one also bounds a probe passed in.
            async with asyncio.timeout(HEALTH_TIMEOUT + 1):
                health = await self.probe(name)
        except TimeoutError:
            health = ContextHealth("unreachable", f"no answer within {HEALTH_TIMEOUT:g} s")
        except Exception as exc:  # one broken probe shows on its own line, never ends the picker
            health = ContextHealth("unusable", f"{type(exc).__name__}: {exc}")
        self._show(name, health)

    def _show(self, name: str, health: ContextHealth) -> None:
        self.health[name] = health
        self.rows[name].show(health)

    # -- keys ---------------------------------------------------------------------------------
    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, ContextRow):
            self.dismiss(event.item.choice.name)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_help(self) -> None:
        from pocketenv_tui.app.commands import DESCRIPTIONS
        from pocketenv_tui.app.screens.help import HelpScreen, describe_bindings

        ctx = [row for row in DESCRIPTIONS if row[0].startswith(":ctx")]
        self.app.push_screen(HelpScreen("contexts", describe_bindings(self), ctx))
