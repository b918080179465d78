"""Turn API failures into what / why / how-to-fix text for people (never a traceback)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape

from pocketenv_tui.api import PocketenvConnectionError, PocketenvError
from pocketenv_tui.app.contexts.resolve import AppContext


@dataclass(frozen=True)
class Problem:
    what: str
    why: str
    fix: str

    def markup(self) -> str:
        """Escaped for Textual markup: server text may contain square brackets."""
        return f"[b]{escape(self.what)}[/b]\n{escape(self.why)}\n[i]{escape(self.fix)}[/i]"

    def one_line(self) -> str:
        return f"{self.what}: {self.why}"


REFUSED_FIX = "The server refused the request; nothing was changed."
FORM_FIX = "Check the values and try again."


def describe_error(
    exc: BaseException, context: AppContext, doing: str = "", refused_fix: str | None = None
) -> Problem:
    """Explain ``exc`` met while ``doing`` something against ``context``; ``refused_fix`` is
    the advice for a request the server refused (4xx), e.g. FORM_FIX for a form."""
    prefix = f"{doing}: " if doing else ""
    if isinstance(exc, PocketenvConnectionError):
        if context.kind == "local":
            fix = (
                "The local backend may have stopped. If a dashboard started it, the app starts it "
                "again; otherwise it switches by itself to a new "
                f"`pocketenv-tui serve --data-dir {context.data_dir}` (the header says which)."
            )
        else:
            fix = "Check your network connection and POCKETENV_API_URL (or --api-url)."
        return Problem(f"{prefix}cannot reach {context.api_url}", exc.message, fix)
    if isinstance(exc, PocketenvError):
        if exc.status in (401, 403) and exc.error in (
            "AuthenticationRequired", "AuthenticationError", "Forbidden", "InvalidToken"
        ):
            if context.kind == "local":
                fix = (
                    f"The token in {context.data_dir}/token.json does not match this backend; "
                    "restart pocketenv-tui so it reads the backend's current token."
                )
            else:
                fix = (
                    "Log in again with `pocketenv login <handle>` or set POCKETENV_TOKEN to a "
                    "valid token."
                )
            return Problem(f"{prefix}the API rejected the token", exc.message, fix)
        if exc.status == 429:
            return Problem(
                f"{prefix}rate limited by the API", exc.message, "Waiting before trying again."
            )
        if exc.status >= 500:
            return Problem(
                f"{prefix}the server failed",
                str(exc),
                "Try again; if it keeps failing, check the server's log.",
            )
        # A refusal: only a form has values to check; elsewhere say what did (not) happen.
        return Problem(prefix.rstrip(": ") or "Request refused", str(exc), refused_fix or REFUSED_FIX)
    return Problem(prefix.rstrip(": ") or "Unexpected error", f"{type(exc).__name__}: {exc}", "Try again.")
