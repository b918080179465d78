"""ExecPanel: run commands in a sandbox and watch them, with a line to type them in.

Output is streamed (``sandboxes.exec_stream``) where the server offers it, the local backend:
stdout and stderr appear as they are produced, in that order, stderr marked. Elsewhere (the
hosted API) the plain exec is the fallback and the output comes when the command ends.

Keys while a command runs: ctrl+c or esc cancels it; the app's ctrl+c handling (a hint about
how to quit) never sees the key, because the panel's binding has priority while there is
something to cancel. Cancelling a streamed run closes its stream and the server kills the
command; in the fallback it only stops waiting, and the panel says that the command may still
run on the server. With nothing running, esc closes the panel. Up/down in the input recall
earlier commands (for as long as the sandbox screen is open).

Every run has its own transcript and id; what arrives for a run that is no longer the
current one (or that was cancelled) is dropped, so a late result never lands in a newer
run's view. The status line says how the current run stands: running for N s, exit n,
cancelled, or that the command timed out after N s (exit 124).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import Worker

from pocketenv_tui.api import PocketenvError, PocketenvTimeoutError
from pocketenv_tui.api.exec_stream import ExecFinished, ExecOutput, ExecStreamUnsupported
from pocketenv_tui.api.namespaces.sandboxes import EXEC_GRACE_SECONDS
from pocketenv_tui.api.resource_models import ExecResult
from pocketenv_tui.app.errors import describe_error
from pocketenv_tui.app.exec_transcript import (
    NOTE,
    PROBLEM,
    STDERR,
    STDOUT,
    CommandHistory,
    ExecTranscript,
    format_elapsed,
)
from pocketenv_tui.app.widgets.exec_output import ExecOutput as ExecOutputView

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp

EXEC_TIME_LIMIT = 300.0  # seconds a command may run (the server kills it then: exit 124)
TIMEOUT_EXIT_CODE = 124
PAINT_INTERVAL = 0.05  # at most this often the output is redrawn while output pours in

RUNNING, EXITED, CANCELLED, TIMED_OUT, FAILED, DETACHED = (
    "running", "exited", "cancelled", "timed out", "failed", "detached",
)


@dataclass(eq=False)
class ExecRun:
    run_id: int
    command: str
    started: float
    time_limit: float
    transcript: ExecTranscript = field(default_factory=ExecTranscript)
    state: str = RUNNING
    exit_code: int | None = None
    finished: float | None = None
    streamed: bool = True  # False once the server said it has no streaming exec
    worker: Worker[None] | None = None


class ExecInput(Input):
    """The command line; up/down walk the panel's history."""

    BINDINGS = [
        Binding("up", "history(-1)", "History", id="exec.history_prev", key_display="↑↓"),
        Binding("down", "history(1)", "Next command", id="exec.history_next", show=False),
    ]

    def __init__(self, history: CommandHistory, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.history = history

    def action_history(self, step: int) -> None:
        found = self.history.previous(self.value) if step < 0 else self.history.next()
        if found is not None:
            self.value = found
            self.cursor_position = len(found)


class ExecPanel(Vertical):
    BINDINGS = [
        Binding("ctrl+c", "cancel", "Cancel", id="exec.cancel", priority=True),
        Binding("escape", "cancel", "Cancel", id="exec.cancel_escape", show=False),
        Binding("escape", "close", "Close", id="exec.close"),
        Binding("pageup", "scroll_output(-1)", "Scroll up", id="exec.page_up", show=False),
        Binding("pagedown", "scroll_output(1)", "Scroll down", id="exec.page_down", show=False),
    ]

    class Closed(Message):
        """The user closed the panel (esc with nothing running)."""

    class Finished(Message):
        """A run ended, however it ended."""

        def __init__(self, run: ExecRun) -> None:
            super().__init__()
            self.run = run

    def __init__(self, sandbox_id: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sandbox_id = sandbox_id
        self.history = CommandHistory()
        self.current: ExecRun | None = None
        self.run_count = 0
        self.time_limit = EXEC_TIME_LIMIT
        self.clock: Callable[[], float] = time.monotonic
        self._paint_pending = False

    @property
    def pocketenv(self) -> PocketenvApp:
        return self.app  # type: ignore[return-value]

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.state == RUNNING

    def compose(self) -> ComposeResult:
        yield ExecOutputView(id="exec-output")
        yield Static("", id="exec-status")
        yield ExecInput(
            self.history,
            placeholder="command to run in the sandbox (enter runs it, ↑ earlier ones, esc closes)",
            id="exec-input",
        )

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        self._show_status()

    @property
    def output(self) -> ExecOutputView:
        return self.query_one(ExecOutputView)

    @property
    def input(self) -> ExecInput:
        return self.query_one(ExecInput)

    def open(self) -> None:
        """Show the panel (the screen makes it visible) with the focus on the command line."""
        self.input.focus()
        self.call_after_refresh(self.output.update_view, force=True)

    # -- keys -------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running  # otherwise ctrl+c and esc mean what they mean elsewhere
        if action == "close":
            return not self.running
        return True

    def action_cancel(self) -> None:
        run = self.current
        if run is None or run.state != RUNNING:
            return
        if run.streamed:
            run.state = CANCELLED
            run.transcript.note("cancelled: the command was stopped", NOTE)
        else:
            run.state = DETACHED
            run.transcript.note(
                "stopped waiting: this server cannot cancel a command, so it may still be running there", NOTE
            )
        if run.worker is not None:
            run.worker.cancel()  # closes the stream: the server kills the command
        self._finish(run)

    def action_close(self) -> None:
        self.post_message(self.Closed())

    def action_scroll_output(self, pages: int) -> None:
        output = self.output
        output.scroll_to(y=output.scroll_y + pages * max(1, output.size.height - 1), animate=False)

    @on(Input.Submitted, "#exec-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        command = event.value.strip()
        if not command:
            return
        if self.running:
            self.notify("A command is still running: ctrl+c cancels it.", severity="warning")
            return
        self.history.add(command)
        event.input.value = ""
        self.start(command)

    # -- runs -------------------------------------------------------------------------------------
    def start(self, command: str) -> ExecRun:
        """Run ``command`` as the current run (the previous one must have ended)."""
        self.run_count += 1
        run = ExecRun(self.run_count, command, self.clock(), self.time_limit)
        run.transcript.command(command)
        self.current = run
        self.output.show(run.transcript)
        run.worker = self.run_worker(partial(self._run, run), group="exec", exit_on_error=False)
        self._show_status()
        self.refresh_bindings()
        return run

    async def _run(self, run: ExecRun) -> None:
        client = self.pocketenv.client
        try:
            try:
                events = client.sandboxes.exec_stream(self.sandbox_id, run.command, timeout=run.time_limit)
                async with contextlib.aclosing(events):
                    async for event in events:
                        self._apply(run, event)
            except ExecStreamUnsupported:
                run.streamed = False
                self._show_status()
                result = await client.sandboxes.exec(self.sandbox_id, run.command, timeout=run.time_limit)
                self._apply_result(run, result)
        except PocketenvError as exc:
            self._failed(run, exc)
        else:
            if run.state == RUNNING:  # the stream ended without an exit (an old server)
                self._failed(run, PocketenvError(502, "InvalidResponse", "the server did not say how the command ended"))

    def _is_live(self, run: ExecRun) -> bool:
        return run is self.current and run.state == RUNNING

    def _apply(self, run: ExecRun, event: object) -> None:
        if not self._is_live(run):
            return  # a late event of a run that was cancelled or replaced
        if isinstance(event, ExecOutput):
            run.transcript.write(STDERR if event.stream == "stderr" else STDOUT, event.data)
            self._schedule_paint()
        elif isinstance(event, ExecFinished):
            run.exit_code = event.exit_code
            if event.timed_out:
                run.state = TIMED_OUT
                run.time_limit = event.time_limit or run.time_limit
            else:
                run.state = EXITED
            self._finish(run)

    def _apply_result(self, run: ExecRun, result: ExecResult) -> None:
        if not self._is_live(run):
            return
        if result.stdout:
            run.transcript.write(STDOUT, result.stdout)
        if result.stderr:
            run.transcript.write(STDERR, result.stderr)
        run.exit_code = result.exit_code
        took = self.clock() - run.started
        timed_out = result.exit_code == TIMEOUT_EXIT_CODE and took >= run.time_limit * 0.9
        run.state = TIMED_OUT if timed_out else EXITED
        self._finish(run)

    def _failed(self, run: ExecRun, exc: PocketenvError) -> None:
        if not self._is_live(run):
            return
        run.state = FAILED
        if isinstance(exc, PocketenvTimeoutError) and not run.streamed:
            waited = run.time_limit + EXEC_GRACE_SECONDS
            run.transcript.note(
                f"The server sent no result within {waited:g} s: the command may still be running there.", PROBLEM
            )
        else:
            problem = describe_error(exc, self.pocketenv.context, "Could not run the command")
            run.transcript.note(problem.one_line(), PROBLEM)
            run.transcript.note(problem.fix, NOTE)
        self._finish(run)

    def _finish(self, run: ExecRun) -> None:
        run.finished = self.clock()
        self._paint()
        self._show_status()
        self.refresh_bindings()
        self.post_message(self.Finished(run))

    # -- drawing ----------------------------------------------------------------------------------
    def _schedule_paint(self) -> None:
        if not self._paint_pending:
            self._paint_pending = True
            self.set_timer(PAINT_INTERVAL, self._paint)

    def _paint(self) -> None:
        self._paint_pending = False
        self.output.update_view()

    def _tick(self) -> None:
        if self.running:
            self._show_status()

    def status_text(self) -> Text:
        run = self.current
        if run is None:
            return Text("enter runs a command in the sandbox · ↑/↓ earlier commands · esc closes", style="dim")
        took = format_elapsed((run.finished or self.clock()) - run.started)
        if run.state == RUNNING:
            if run.streamed:
                return Text.assemble(("● running", "bold"), f" for {took} · ctrl+c cancels")
            return Text.assemble(
                ("● running", "bold"), f" for {took} · this server sends the output when the command ends · ctrl+c stops waiting"
            )
        if run.state == EXITED:
            style = "bold" if run.exit_code == 0 else "bold reverse"
            return Text.assemble((f"exit {run.exit_code}", style), f" · took {took}")
        if run.state == TIMED_OUT:
            return Text.assemble(
                (f"the command timed out after {run.time_limit:g} s", "bold reverse"), f" (exit {run.exit_code or TIMEOUT_EXIT_CODE})"
            )
        if run.state == CANCELLED:
            return Text.assemble(("cancelled", "bold"), f" after {took}")
        if run.state == DETACHED:
            return Text.assemble(("stopped waiting", "bold"), f" after {took} · the command may still run on the server")
        return Text.assemble(("could not run the command", "bold reverse"), " (see above)")

    def _show_status(self) -> None:
        status = self.query_one("#exec-status", Static)
        status.update(self.status_text())
        state = self.current.state if self.current else "idle"
        status.set_class(state == RUNNING, "-running")
        status.set_class(state in (TIMED_OUT, FAILED) or (state == EXITED and self.current.exit_code != 0), "-failed")
