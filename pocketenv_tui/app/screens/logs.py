"""`l`: every service of a sandbox followed at once, as lazydocker follows a container.

One worker polls: the services list every few polls (new services join, deleted ones leave),
and every service's log at each poll, all at once. What is new in each answer goes into a
:class:`~pocketenv_tui.app.log_follow.FollowedLog` (the last 5,000 lines, coloured, controls
stripped) and the view shows it. ``p`` pauses: lines are held back and counted, the view stands
still; ``G`` / ``end`` goes to the end and follows again (resuming a pause); ``/`` searches.

The view is TextLines (the line API and a Strip cache), not RichLog: RichLog renders every line
at write time and keeps the Strips only, so it can neither highlight search matches in lines
already written nor show a held-back line count without re-writing; TextLines renders only the
rows on screen from the model and caches them, so 5,000 lines cost what the screen shows.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.resource_models import Service
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.log_follow import LOG_LINES_KEPT, FollowedLog
from pocketenv_tui.app.screens.help import HelpScreen, describe_bindings
from pocketenv_tui.app.screens.text_search import TextSearch, search_prompt
from pocketenv_tui.app.stylesheets import stylesheets
from pocketenv_tui.app.widgets.context_header import ContextHeader
from pocketenv_tui.app.widgets.key_footer import KeyFooter
from pocketenv_tui.app.widgets.log_view import LogView
from pocketenv_tui.terminal.plain_text import strip_controls

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp

POLL_SECONDS = 1.0
SERVICES_EVERY = 5  # polls between two reads of the services list
MAX_BACKOFF = 30.0


class LogsScreen(TextSearch):
    CSS_PATH = stylesheets("logs")
    BINDINGS = [
        Binding("escape", "back", "Back", id="logs.back"),
        Binding("p", "pause", "Pause/Resume", id="logs.pause"),
        Binding("G,end", "jump_end", "End", id="logs.end", key_display="G"),
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match", "Next match", id="logs.next_match"),
        Binding("N", "previous_match", "Previous match", id="logs.previous_match", show=False),
        Binding("question_mark", "help", "Help", id="logs.help"),
    ]

    def __init__(self, sandbox: Sandbox, *, limit: int = LOG_LINES_KEPT, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.followed = FollowedLog(limit)
        self.poll_seconds = poll_seconds
        self.services: list[Service] = []
        self.polls = 0  # completed polls (tests wait on it)
        self.problem: str | None = None

    @property
    def pocketenv(self) -> PocketenvApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield ContextHeader(id="context-header")
        yield Static("", id="logs-status")
        yield LogView(self.followed, id="logs-view")
        yield search_prompt()
        yield KeyFooter()

    def on_mount(self) -> None:
        header = self.query_one(ContextHeader)
        header.context_label = self.pocketenv.context.label
        header.view_label = f"logs {self.sandbox.name}"
        self.text_view().focus()
        self._show_status()

    def text_view(self) -> LogView:
        return self.query_one(LogView)

    # Following runs only while this screen is the visible one (help on top stops it; the
    # overlap of the next answers picks up where it left off).
    def on_screen_resume(self) -> None:
        self.run_worker(self._follow, group="logs-follow", exclusive=True, exit_on_error=False)

    def on_screen_suspend(self) -> None:
        self.workers.cancel_group(self, "logs-follow")

    # -- following -------------------------------------------------------------------------------
    async def _follow(self) -> None:
        client = self.pocketenv.client
        sandbox_id = self.sandbox.id
        failures = 0
        polls_here = 0
        while True:
            try:
                if polls_here % SERVICES_EVERY == 0 or not self.services:
                    self.services = await client.services.list(sandbox_id)
                    self.followed.keep_only(service.id for service in self.services)
                answers = await asyncio.gather(
                    *(client.services.logs(service.id) for service in self.services),
                    return_exceptions=True,
                )
            except Exception as exc:  # shown in the status line, never as a traceback
                failures += 1
                self._report(exc)
            else:
                failures = 0
                self.problem = None
                for service, answer in zip(self.services, answers, strict=True):
                    if isinstance(answer, Exception):
                        self._report(answer, service.name)
                    elif isinstance(answer, BaseException):
                        raise answer  # cancelled: the screen is leaving
                    else:
                        self.followed.feed(service.id, service.name, answer)
                if not self.followed.paused:
                    view = self.text_view()
                    had_matches = bool(view.matches)
                    view.show_new_lines()
                    if had_matches != bool(view.matches):
                        self.refresh_bindings()  # n / N follow whether there are matches
            polls_here += 1
            self.polls += 1
            self._show_status()
            delay = self.poll_seconds
            await asyncio.sleep(min(MAX_BACKOFF, delay * 2**failures) if failures else delay)

    def _report(self, exc: Exception, service: str | None = None) -> None:
        doing = f"Could not read the log of {service}" if service else "Could not list the services"
        self.problem = strip_controls(describe_error(exc, self.pocketenv.context, doing).one_line())

    # -- status ------------------------------------------------------------------------------------
    def _show_status(self) -> None:
        view = self.text_view()
        followed = self.followed
        count = len(self.services)
        parts = [f"{count} service{'s' if count != 1 else ''}", f"{len(followed):,} lines"]
        if followed.first:
            parts.append(f"{followed.first:,} older not kept")
        if followed.paused:
            held = f"PAUSED · {followed.new_while_paused:,} new"
            if followed.lost_while_paused:
                held += f" ({followed.lost_while_paused:,} beyond the {followed.limit:,} kept)"
            parts.append(held + " · p resumes")
        elif view.at_end:
            parts.append("following")
        else:
            parts.append("scrolled up · G follows")
        if view.search_text:
            parts.append(f"/{view.search_text} {view.match_label()}")
        if self.problem:
            parts.append(self.problem)
        elif self.polls and not self.services:
            parts.append("no services: add one in the sandbox's Services tab")
        status = self.query_one("#logs-status", Static)
        status.update(Text(" · ".join(parts)))
        status.set_class(followed.paused, "-paused")
        status.set_class(bool(self.problem), "-problem")

    def search_changed(self) -> None:
        self._show_status()
        self.refresh_bindings()

    # -- keys ----------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_match", "previous_match"):
            return self.has_matches()
        return True

    def action_pause(self) -> None:
        if self.followed.paused:
            self._resume()
        else:
            self.followed.pause()
        self._show_status()

    def _resume(self) -> None:
        self.followed.resume()
        self.text_view().show_new_lines()

    def action_jump_end(self) -> None:
        view = self.text_view()
        if self.followed.paused:
            self._resume()
        view.jump_to_end()
        self._show_status()

    @on(LogView.JumpedToEnd)
    def _jumped_to_end(self) -> None:
        self.action_jump_end()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(f"logs {self.sandbox.name}", describe_bindings(self), []))


def open_logs(app: PocketenvApp, sandbox: Sandbox) -> None:
    app.push_screen(LogsScreen(sandbox))
