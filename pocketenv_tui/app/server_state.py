"""After a server error on a change: re-read, and say which state the server is in.

The hosted server writes a row and then mirrors it elsewhere; when the mirroring fails it
answers 5xx although the change was stored (api.md §6). Showing "Could not stop alpha" beside
a table that, at the next poll, says alpha is STOPPED helps nobody, so on a 5xx the caller
re-reads what it changed and reports the outcome the server holds:

* made: the change is there; a warning says the server reported an error anyway;
* not made: an error that says so, with the state read back;
* unknown: the re-read failed too; the original error, saying the state could not be read.

Other errors (4xx: refused, connection: never reached) are not re-read: they mean the
change was not made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from pocketenv_tui.api import PocketenvError
from pocketenv_tui.api.models import Sandbox

Outcome = Literal["made", "not made", "unknown"]
Severity = Literal["information", "warning", "error"]


def is_server_failure(exc: PocketenvError) -> bool:
    """A 5xx: the server may have done part of the work before failing."""
    return 500 <= exc.status <= 599


def server_said(exc: PocketenvError) -> str:
    return f"the server answered HTTP {exc.status} ({exc.error})"


async def recheck(check: Callable[[], Awaitable[bool]]) -> Outcome:
    """Run ``check`` (True: the change is on the server); "unknown" when it fails too."""
    try:
        return "made" if await check() else "not made"
    except PocketenvError:
        return "unknown"


@dataclass(frozen=True)
class Report:
    """What to tell the user after a failed-looking change."""

    outcome: Outcome
    message: str
    severity: Severity


def change_report(exc: PocketenvError, outcome: Outcome, done: str, not_done: str) -> Report:
    """``done``/``not_done`` say the server's state in a sentence (``"Secret A added."``)."""
    if outcome == "made":
        return Report(outcome, f"{done} ({server_said(exc)}, but re-reading shows the change was made.)", "warning")
    if outcome == "not made":
        return Report(outcome, f"{not_done} ({server_said(exc)}; re-reading shows nothing changed.)", "error")
    return Report(outcome, f"{exc.message or exc} ({server_said(exc)}; re-reading failed too, so its state is not known.)", "error")


# What each lifecycle action leaves behind, as a status (None: the sandbox is gone).
_TARGET: dict[str, set[str | None]] = {
    "start": {"RUNNING", "INITIALIZING"},
    "stop": {"STOPPED"},
    "delete": {None},
}
_DONE = {"start": "is running", "stop": "is stopped", "delete": "is deleted"}


def lifecycle_report(action: str, name: str, exc: PocketenvError, fresh: Sandbox | None, read_back: bool) -> Report:
    """After ``action`` on sandbox ``name`` failed with a 5xx: ``fresh`` is the sandbox read
    back (None: gone), ``read_back`` False when even that read failed."""
    if not read_back:
        return change_report(exc, "unknown", "", "")
    status = None if fresh is None else (fresh.status or "UNKNOWN").upper()
    if status in _TARGET[action]:
        done = f"{name} {'is starting' if status == 'INITIALIZING' else _DONE[action]}."
        return change_report(exc, "made", done, "")
    state = "is gone" if status is None else f"is {status}"
    return change_report(exc, "not made", "", f"Could not {action} {name}: it {state}.")


async def created_anyway(
    exc: PocketenvError, name: str | None, lookup: Callable[[str], Awaitable[Sandbox | None]]
) -> tuple[Sandbox, Report]:
    """After a create answered 5xx: the sandbox named ``name`` if the server has it (and what
    to say); otherwise PocketenvError saying what re-reading found."""
    if name is None:
        message = change_report(exc, "unknown", "", "").message
        raise PocketenvError(exc.status, exc.error, f"{message} The list shows whether a sandbox was created.")
    found: Sandbox | None = None

    async def there() -> bool:
        nonlocal found
        found = await lookup(name)
        return found is not None

    report = change_report(exc, await recheck(there), f"{name} was created.", f"{name} was not created.")
    if found is None:
        raise PocketenvError(exc.status, exc.error, report.message)
    return found, report
