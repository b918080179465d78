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
    parser.add_argument(
        "--context", metavar="NAME",
        help="start in the context NAME: local, api, or one named in contexts.json beside the config file",
    )
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
    serve.add_argument(
        "--print-env", action="store_true",
        help="print the POCKETENV_* variables the official CLI and SDKs read for this data dir, and exit",
    )
    serve.add_argument(
        "--write-cli-token", action="store_true",
        help="write this data dir's token to ~/.pocketenv/token.json (0600) for the official CLI, and exit",
    )
    serve.add_argument("--force", action="store_true", help="with --write-cli-token: replace a token file holding another token")
    serve.add_argument(
        "--max-shells", type=int, default=None, metavar="N",
        help="most terminal shells one sandbox may have at once (default: POCKETENV_MAX_SHELLS or 8)",
    )
    serve.add_argument(
        "--strict", action="store_true",
        help="refuse to start sandboxes while this machine cannot give them every protection",
    )
    serve.add_argument("--default-memory", type=_size, metavar="SIZE", help="memory limit of a sandbox that sets none (default 2G)")
    serve.add_argument("--default-disk", type=_size, metavar="SIZE", help="disk quota of a sandbox that sets none (default 10G)")
    serve.add_argument("--default-pids", type=_positive, metavar="N", help="process limit of every sandbox (default 1024)")
    serve.add_argument("--default-vcpus", type=_positive, metavar="N", help="CPU limit of a sandbox that sets none (default 2)")
    return parser


def _size(text: str) -> int:
    from pocketenv_tui.local.sandbox.limits import parse_size

    try:
        value = parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 16 * 1024 * 1024:
        raise argparse.ArgumentTypeError(f"{text!r} is too small (at least 16M)")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        from pocketenv_tui.local.sandbox.limits import DEFAULT_LIMITS, Limits
        from pocketenv_tui.local.serve import SandboxOptions, run_serve

        limits = Limits(
            pids=args.default_pids or DEFAULT_LIMITS.pids,
            memory_bytes=args.default_memory or DEFAULT_LIMITS.memory_bytes,
            vcpus=args.default_vcpus or DEFAULT_LIMITS.vcpus,
            disk_bytes=args.default_disk or DEFAULT_LIMITS.disk_bytes,
        )
        return run_serve(
            host=args.host,
            port=args.port,
            data_dir=args.serve_data_dir or args.data_dir,
            allow_remote=args.allow_remote,
            print_env=args.print_env,
            write_token=args.write_cli_token,
            force=args.force,
            sandbox=SandboxOptions(strict=args.strict, limits=limits, max_shells=args.max_shells),
        )
    from pocketenv_tui.app.main import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
