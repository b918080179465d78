"""Command line entry point: ``pocketenv-tui`` (the dashboard) and ``pocketenv-tui serve``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pocketenv_tui import __version__

DEFAULT_PORT = 8789


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pocketenv-tui",
        description=(
            "A terminal dashboard for Pocketenv sandboxes. With a Pocketenv token configured "
            "(POCKETENV_TOKEN or ~/.pocketenv/token.json) it talks to that API; without one it "
            "uses the local backend, which runs sandboxes on this machine."
        ),
    )
    parser.add_argument("--version", action="version", version=f"pocketenv-tui {__version__}")
    parser.add_argument("--local", action="store_true", help="use the local backend even if a token is set")
    parser.add_argument("--api-url", help="Pocketenv API URL (default: POCKETENV_API_URL or the hosted API)")
    parser.add_argument("--data-dir", help="data directory of the local backend")
    parser.add_argument("--read-only", action="store_true", help="hide and refuse every action that changes something")
    parser.add_argument("--refresh", type=float, default=None, metavar="SECONDS", help="polling interval (default 3, at least 1)")

    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="run the local Pocketenv-compatible backend",
        description="Run a Pocketenv-compatible API server that runs sandboxes on this machine.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    serve.add_argument("--data-dir", dest="serve_data_dir", help="where state, sandboxes and keys live")
    serve.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    serve.add_argument("--print-env", action="store_true", help="print POCKETENV_* variables for this data dir and exit")
    serve.add_argument(
        "--max-shells", type=int, default=None, metavar="N",
        help="most terminal shells one sandbox may have at once (default: POCKETENV_MAX_SHELLS or 8)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from pocketenv_tui.local.serve import run_serve

        return run_serve(
            host=args.host,
            port=args.port,
            data_dir=args.serve_data_dir or args.data_dir,
            allow_remote=args.allow_remote,
            print_env=args.print_env,
            max_shells=args.max_shells,
        )
    from pocketenv_tui.app.main import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
