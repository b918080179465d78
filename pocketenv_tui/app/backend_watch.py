"""Keeping a local context on the live backend of its data dir while the app runs.

Once per poll interval (so at least as often as the sandbox list retries) the app re-reads its
data dir's server record (``server.json``) in a thread, and:

- the record names the server the context talks to: nothing to do;
- it names another one (someone ran ``pocketenv-tui serve --data-dir …``: a new port, perhaps
  a new identity) and that one answers: switch to it the way ``:ctx`` does, with the token and
  public key read afresh from the data dir;
- no live server is recorded: the backend stopped. If a dashboard started it in the background
  (this app, or an earlier run: the record says so), nobody else looks after it, so after a
  short grace (time for someone restarting it by hand to do so) the app starts it again and
  switches to it. A server someone runs themselves is not restarted, even when nothing serves
  the data dir any more: they chose its options and its terminal, and a server started by the
  app would hold the data dir's lock and refuse theirs. The header says so, and the app waits
  for it (``:ctx local`` starts one on demand).

Every check also reaps the backends this process started that have exited
(``launcher.reap_launched``): a dead child would otherwise stay a zombie until the app quits.

``BackendWatch`` makes the decisions and knows nothing of Textual; ``BackendWatcher`` runs it
for the app: one worker, blocking work in threads, results applied on the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich.markup import escape

from pocketenv_tui.app.contexts.resolve import AppContext, context_from_backend
from pocketenv_tui.app.widgets.context_header import ContextHeader
from pocketenv_tui.local.launcher import (
    BackendStartError,
    ensure_backend,
    find_backend,
    launched_process,
    reap_launched,
)
from pocketenv_tui.local.state.datadir import read_server_json

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp

RESTART_GRACE = 5.0  # seconds a stopped background backend is left for someone else to restart
RETRY_AFTER_FAILED_START = 30.0  # seconds between attempts when starting it again failed

Severity = Literal["information", "warning", "error"]


@dataclass(frozen=True)
class WatchOutcome:
    """What one check found, for the app to apply."""

    problem: str = ""  # what the header shows in place of the context; "" when all is well
    switch_to: AppContext | None = None  # the context to use from now on
    notice: str | None = None  # a notification worth showing once
    severity: Severity = "information"
    restart_now: bool = False  # show ``problem``, then call ``BackendWatch.restart`` (blocking)


def _how_it_ended(exit_code: int | None) -> str:
    if exit_code is None or exit_code == 0:
        return "stopped"
    if exit_code < 0:
        return f"was killed (signal {-exit_code})"
    return f"exited with code {exit_code}"


class BackendWatch:
    """The decisions of the backend watch; ``check`` and ``restart`` block (run them in a thread)."""

    def __init__(
        self,
        *,
        restart_grace: float = RESTART_GRACE,
        retry_after_failure: float = RETRY_AFTER_FAILED_START,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.restart_grace = restart_grace
        self.retry_after_failure = retry_after_failure
        self._clock = clock
        self.checks = 0
        self._stopped_since: float | None = None
        self._retry_at = 0.0
        # What the records said of servers whose context did not know it (a context built by
        # hand knows the URL only): their pid, and whether a dashboard started them.
        self._pids: dict[str, int] = {}
        self._background: dict[str, bool] = {}
        self._exit_codes: dict[int, int] = {}

    def check(self, context: AppContext) -> WatchOutcome:
        self._exit_codes.update(reap_launched())
        self.checks += 1
        if context.kind != "local" or context.data_dir is None:
            return WatchOutcome()
        record = read_server_json(context.data_dir)
        if record is None:
            return self._stopped(context)
        self._stopped_since = None
        if record["url"] == context.api_url:
            known_pid = context.backend_pid or self._pids.setdefault(context.api_url, record["pid"])
            if record["pid"] == known_pid:
                self._background[context.api_url] = record["background"]
                return WatchOutcome()
        return self._moved(context, record["url"])

    def _moved(self, context: AppContext, new_url: str) -> WatchOutcome:
        assert context.data_dir is not None
        try:
            info = find_backend(context.data_dir, probe_timeout=1.0)
        except BackendStartError as exc:
            return WatchOutcome(problem=f"local backend at {new_url}: {exc}")
        if info is None:  # recorded, not answering yet: it is starting
            return WatchOutcome(problem=f"local backend at {context.api_url} stopped — a new one is starting at {new_url}")
        info = dataclasses.replace(info, started=launched_process(info.pid or 0) is not None)
        return WatchOutcome(
            switch_to=context_from_backend(info, context.data_dir),
            notice=f"The local backend of {context.data_dir} is now at {info.url}: switched to it.",
        )

    def _stopped(self, context: AppContext) -> WatchOutcome:
        now = self._clock()
        first = self._stopped_since is None  # only the first check that finds it down notifies
        if self._stopped_since is None:
            self._stopped_since = now
        pid = context.backend_pid or self._pids.get(context.api_url)
        where = f"local backend at {context.api_url} {_how_it_ended(self._exit_codes.get(pid or 0))}"
        restartable = (
            context.backend_started or context.backend_background or self._background.get(context.api_url, False)
        )
        if not restartable:
            waiting = f"{where} — waiting for `pocketenv-tui serve` on its data dir"
            notice = (
                f"The {where}. It was not started by a dashboard, so it is not restarted: run "
                f"`pocketenv-tui serve --data-dir {context.data_dir}` and the app switches to it "
                "by itself (or :ctx local starts one)."
            )
            return WatchOutcome(problem=waiting, notice=notice if first else None, severity="warning")
        if now < self._retry_at:
            return WatchOutcome(problem=f"{where} — could not start it again; next try in {math.ceil(self._retry_at - now)}s")
        remaining = self._stopped_since + self.restart_grace - now
        if remaining > 0:
            notice = f"The {where}; restarting it in {math.ceil(remaining)}s." if first else None
            return WatchOutcome(problem=f"{where} — restarting in {math.ceil(remaining)}s", notice=notice, severity="warning")
        return WatchOutcome(problem=f"{where} — restarting…", restart_now=True)

    def restart(self, context: AppContext) -> WatchOutcome:
        """Start the backend of the context's data dir again (or reuse one that appeared)."""
        assert context.data_dir is not None
        try:
            info = ensure_backend(context.data_dir)
        except Exception as exc:  # the launcher's failures all become one clear message
            self._retry_at = self._clock() + self.retry_after_failure
            return WatchOutcome(
                problem=f"local backend stopped — could not start it again (see {context.data_dir / 'server.log'})",
                notice=f"Could not restart the local backend for {context.data_dir}: {exc}",
                severity="error",
            )
        self._stopped_since = None
        if info.started:
            notice = f"The local backend stopped; restarted it at {info.url}."
        else:
            notice = f"The local backend of {context.data_dir} is now at {info.url}: switched to it."
        return WatchOutcome(switch_to=context_from_backend(info, context.data_dir, restarted=True), notice=notice)


class BackendWatcher:
    """Runs a ``BackendWatch`` for the app, once per poll interval, in one worker."""

    def __init__(self, app: PocketenvApp, watch: BackendWatch | None = None) -> None:
        self.app = app
        self.watch = watch or BackendWatch()
        self.problem = ""

    def start(self) -> None:
        self.app.run_worker(self._run, group="backend-watch", exclusive=True, exit_on_error=False, name="backend-watch")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.app.refresh_interval)
            try:
                await self.check_now()
            except Exception as exc:  # one bad check must not end the watch
                self.app.log.error(f"backend watch: {type(exc).__name__}: {exc}")

    async def check_now(self) -> None:
        context = self.app.context
        outcome = await asyncio.to_thread(self.watch.check, context)
        if await self._apply(context, outcome) and outcome.restart_now:
            # Starting it blocks for seconds: in a thread, with "restarting…" already on show.
            await self._apply(context, await asyncio.to_thread(self.watch.restart, context))

    async def _apply(self, context: AppContext, outcome: WatchOutcome) -> bool:
        """Show ``outcome`` unless the context changed meanwhile (``:ctx``); True if shown."""
        if self.app.context is not context:
            return False
        self.show_problem(outcome.problem)
        if outcome.notice:
            self.app.notify(escape(outcome.notice), title="Local backend", severity=outcome.severity, timeout=10)
        if outcome.switch_to is not None:
            await self.app.use_context(outcome.switch_to)
        return True

    def show_problem(self, problem: str) -> None:
        self.problem = problem
        for screen in self.app.screen_stack:
            for header in screen.query(ContextHeader):
                header.backend_problem = problem
