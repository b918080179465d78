"""``pocketenv-tui`` with no subcommand: resolve the context, then run the dashboard."""

from __future__ import annotations

import argparse
import gc
import sys
from typing import TYPE_CHECKING

from pocketenv_tui.api.config import ConfigError as ClientConfigError
from pocketenv_tui.api.first_page import start_first_page
from pocketenv_tui.app.config import ConfigError, clamp_refresh, load_config
from pocketenv_tui.app.contexts.catalog import ContextCatalog
from pocketenv_tui.app.contexts.resolve import ContextError, backend_exit_notice, resolve_context

if TYPE_CHECKING:
    from pocketenv_tui.app.app import PocketenvApp


def _fail(message: str) -> int:
    print(f"pocketenv-tui: {message}", file=sys.stderr)
    return 2


class StartupError(Exception):
    """The dashboard cannot start; ``str()`` is the message for the terminal."""


def prepare_app(args: argparse.Namespace) -> PocketenvApp:
    """Everything ``pocketenv-tui`` does before the first frame: settings, the context, the
    first page of sandboxes fetched in a thread while Textual loads, and the app."""
    try:
        config = load_config()
    except ConfigError as exc:
        raise StartupError(str(exc)) from exc
    refresh = clamp_refresh(args.refresh if args.refresh is not None else config.refresh)
    if args.refresh is not None and args.refresh < refresh:
        print(f"pocketenv-tui: --refresh raised to the {refresh:g} s minimum", file=sys.stderr)
    contexts = ContextCatalog.load()
    try:
        context = resolve_context(
            local=args.local,
            api_url=args.api_url,
            data_dir=args.data_dir,
            name=getattr(args, "context", None),
            catalog=contexts,
        )
    except (ContextError, ClientConfigError) as exc:
        raise StartupError(str(exc)) from exc
    first_page = start_first_page(context.api_url, context.token)

    # Imported late: Textual's import cost is only paid once there is something to show, and
    # the first page is on its way meanwhile.
    from pocketenv_tui.app.app import PocketenvApp

    return PocketenvApp(
        context,
        config=config,
        read_only=True if args.read_only else None,
        refresh=refresh,
        first_page=first_page,
        contexts=contexts,
    )


# The garbage collector's default first threshold (700 new containers) makes it run every few
# hundred lines of a shell flood, and each run walks every young row of the terminal: a third
# of the time `cat` of a big log took went there. Few of our objects form cycles, so the app
# collects far less often; what it keeps is the same.
GC_THRESHOLDS = (50_000, 20, 20)


def run_app(args: argparse.Namespace) -> int:
    try:
        app = prepare_app(args)
    except StartupError as exc:
        return _fail(str(exc))
    initial = app.context
    gc.set_threshold(*GC_THRESHOLDS)
    result = app.run()
    # Checked now, for the context at the end: the backend may have moved or been restarted
    # (see app/backend_watch.py), or be gone, since the app started. After `:ctx api`, the
    # backend the app started at launch may still run.
    final = app.context
    notice = None
    if final.kind == "local":
        notice = backend_exit_notice(final)
    elif initial.kind == "local" and initial.backend_started:
        notice = backend_exit_notice(initial)
    if notice is not None:
        print(f"pocketenv-tui: {notice}", file=sys.stderr)
    return int(result or 0)
