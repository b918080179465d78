"""Run the official Pocketenv clients (CLI 0.7.1, JS SDK 0.2.10) against a local backend.

Every command of the official CLI and every example of the official SDK is run, unchanged,
against ``pocketenv-tui serve`` on this machine, and each gets a pass/fail with its output.
``tests/compat/test_official_clients.py`` turns each into one pytest test; this module also
runs on its own (it then starts a backend of its own)::

    POCKETENV_OFFICIAL_CLI=/path/to/pocketenv/apps/cli \\
    POCKETENV_OFFICIAL_SDK=/path/to/pocketenv-js \\
        .venv/bin/python -m tests.compat.official_clients [--json FILE]

Building the clients
--------------------
Neither package comes from a registry here: both are built from their sources (their
third-party dependencies do come from the npm registry). With the SDK cloned at
``$SDK`` (github.com/pocketenv-io/pocketenv-js) and the CLI at ``$CLI`` (``apps/cli`` of
github.com/pocketenv-io/pocketenv)::

    cd "$SDK"
    npm install                       # its dependencies and TypeScript
    npx tsc -p tsconfig.build.json    # builds dist/, which the CLI imports
    npm install --no-save tsx         # runs example/*.ts (not a dependency of the SDK)

    cd "$CLI"
    npm pkg set "dependencies.@pocketenv/sdk=file:$SDK"   # use the SDK built above
    npm install                       # node_modules/@pocketenv/sdk is a link to $SDK
    npx tsx src/index.ts --version    # prints 0.7.1

Then set ``POCKETENV_OFFICIAL_CLI=$CLI`` and ``POCKETENV_OFFICIAL_SDK=$SDK``.

How the clients are run
-----------------------
- The CLI runs as ``$CLI/node_modules/.bin/tsx src/index.ts ARGS`` (what ``npx tsx`` runs)
  from ``$CLI``; an SDK example as ``$SDK/node_modules/.bin/tsx`` on a copy of
  ``example/NAME.ts`` in a temporary folder inside ``$SDK`` (so its ``../src/index`` import
  still resolves), the copy being the original with one line put before it::

      Sandbox.configure({ baseUrl: process.env.POCKETENV_API_URL, ... })

  (the SDK's ``configure`` takes ``token``, ``baseUrl``, ``storageUrl``, ``publicKey``;
  without it the SDK talks to its hosted default). The copy is removed afterwards.
- The environment is built from scratch: ``HOME`` is a temporary folder, the
  ``POCKETENV_*`` variables are the ones ``pocketenv-tui serve --data-dir DIR --print-env``
  prints, and every URL variable the CLI reads (``POCKETENV_API_URL``, ``_CF_URL``,
  ``_PTY_URL``, ``_TTY_URL``; ``POCKETENV_STORAGE_URL`` for the SDK) is set to the local
  backend: one that ``--print-env`` does not print yet is filled in the same way
  (``_CF_URL`` = the API URL, ``_PTY_URL``/``_TTY_URL`` = it plus ``/pty``, ``/tty``) and the
  result says so. The providers' credential variables get dummy values, ``BROWSER`` is
  ``true`` (``vscode`` opens its preview URL).
- The CLI insists on ``~/.pocketenv/token.json`` even with ``POCKETENV_TOKEN`` set
  (``src/lib/getAccessToken.ts``): ``serve --write-cli-token`` writes it where that option
  exists, else the harness writes ``{"token": ...}`` itself (the result says which).
- No traffic may leave this machine. Every node process loads a guard (``--require``, written
  into the temporary folder) that refuses any socket connection and any DNS lookup of a
  host other than the loopback ones, before a packet is sent; a refused attempt is logged
  and fails the step that made it. Commands known to need the hosted service are not run at
  all (``HOSTED_ONLY`` in ``clients.py`` says why, with the upstream line that shows it).
- Interactive commands run under a pseudo-terminal (``pty``): ``console`` types
  ``echo hi-$((6*7))``, expects ``hi-42``, then ``exit`` (and the CLI's detach key ctrl+K if
  the session does not end by itself); ``tailscale put`` answers its password prompt.
- Many CLI commands catch an error, print it and still exit 0, so a step passes only when the
  exit code is the expected one, the expected output is there, no error line is printed,
  and, where it matters, the backend's state (read back over the same XRPC API) shows the
  change.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from tests.compat.clients import (
    CLI_ENV,
    DEFAULT_BUDGET,
    FAIL,
    NOT_RUN,
    PASS,
    SDK_ENV,
    ClientPaths,
    Result,
    client_paths_from_env,
    unavailable_reason,
)
from tests.compat.harness import Harness
from tests.compat.plan import plan, step_ids

# What tests/compat/test_official_clients.py uses, in one place.
__all__ = [
    "NOT_RUN", "PASS", "Result", "client_paths_from_env", "main", "run_all", "step_ids", "unavailable_reason",
]


def run_all(paths: ClientPaths, *, url: str, data_dir: Path, work_dir: Path, budget: float = DEFAULT_BUDGET) -> tuple[list[Result], list[str]]:
    """Run the whole plan; the results and the set-up notes."""
    harness = Harness(paths, url=url, data_dir=data_dir, work_dir=work_dir, budget=budget)
    try:
        results = harness.run(plan())
    finally:
        harness.close()
    return results, harness.setup_notes


# ---------------------------------------------------------------------------------------------
# Standalone


@contextlib.contextmanager
def own_backend(work_dir: Path) -> Iterator[tuple[str, Path]]:
    """A backend on a fresh data dir in ``work_dir`` (a free loopback port), stopped on exit."""
    from pocketenv_tui.local.launcher import (
        start_backend_process,
        stop_backend_process,
        wait_for_server_json,
        wait_until_ready,
    )

    data_dir = work_dir / "data"
    home = work_dir / "server-home"
    home.mkdir(parents=True, exist_ok=True)
    process = start_backend_process(data_dir, 0, log_path=work_dir / "server.log", env={"HOME": str(home)})
    try:
        url = wait_for_server_json(data_dir, process, timeout=30)
        wait_until_ready(url, timeout=30, process=process)
        yield url, data_dir
    finally:
        stop_backend_process(process, timeout=15)


def markdown_table(results: Sequence[Result]) -> str:
    rows = ["| step | result | detail |", "| --- | --- | --- |"]
    for r in results:
        detail = r.detail.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {r.id} | {r.status} | {detail[:400]} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the official Pocketenv clients against a local backend.")
    parser.add_argument("--cli", help=f"the CLI checkout (default: ${CLI_ENV})")
    parser.add_argument("--sdk", help=f"the SDK checkout (default: ${SDK_ENV})")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (logs, HOME)")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    if args.cli:
        environ[CLI_ENV] = args.cli
    if args.sdk:
        environ[SDK_ENV] = args.sdk
    paths = client_paths_from_env(environ)
    if (reason := unavailable_reason(paths)) is not None:
        print(reason, file=sys.stderr)
        return 2
    assert paths is not None
    work = Path(tempfile.mkdtemp(prefix="pocketenv-compat-"))
    start = time.monotonic()
    try:
        with own_backend(work) as (url, data_dir):
            results, notes = run_all(paths, url=url, data_dir=data_dir, work_dir=work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(markdown_table(results))
    print()
    for note in notes:
        print(f"note: {note}")
    for r in results:
        if r.status == FAIL:
            print("\n" + r.report())
    counts = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, NOT_RUN)}
    print(f"\n{counts[PASS]} passed, {counts[FAIL]} failed, {counts[NOT_RUN]} not run in {time.monotonic() - start:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps({"notes": notes, "results": [asdict(r) for r in results]}, indent=2))
    if args.keep:
        print(f"work dir kept: {work}")
    return 1 if counts[FAIL] else 0


if __name__ == "__main__":
    sys.exit(main())
