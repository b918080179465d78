"""One run of the plan against one backend: the environment the clients get, and how a step's
output is judged.

Part of the harness in ``tests/compat/official_clients.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.compat.clients import (
    _ERROR_LINE,
    CLI_TIMEOUT,
    DEFAULT_BUDGET,
    FAIL,
    GUARD_JS,
    NOT_RUN,
    PASS,
    PROVIDER_CREDENTIALS,
    SDK_PREAMBLE,
    ClientPaths,
    Proc,
    PtySession,
    Result,
    StepFailed,
    clean,
)

# ---------------------------------------------------------------------------------------------
# The harness


def _read_print_env(data_dir: Path, home: Path) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "pocketenv_tui", "serve", "--data-dir", str(data_dir), "--print-env"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(home)}, check=True,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def _serve_help() -> str:
    return subprocess.run(
        [sys.executable, "-m", "pocketenv_tui", "serve", "--help"], capture_output=True, text=True, timeout=60,
    ).stdout


class Harness:
    """Runs the plan against the backend serving ``data_dir`` at ``url``."""

    def __init__(
        self, paths: ClientPaths, *, url: str, data_dir: Path, work_dir: Path, budget: float = DEFAULT_BUDGET,
    ):
        self.paths = paths
        self.url = url.rstrip("/")
        self.data_dir = data_dir
        self.work = work_dir
        self.home = work_dir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.deadline = time.monotonic() + budget
        self.state: dict[str, str] = {}
        self.setup_notes: list[str] = []
        self.guard_log = work_dir / "network-guard.log"
        self.guard_log.touch()
        guard = work_dir / "network-guard.cjs"
        guard.write_text(GUARD_JS)
        self.env = self._client_env(guard)
        self.token = self.env["POCKETENV_TOKEN"]
        self._write_cli_token()
        self._examples = Path(tempfile.mkdtemp(prefix=".compat-examples-", dir=paths.sdk))

    # -- set-up ---------------------------------------------------------------------------

    def _client_env(self, guard: Path) -> dict[str, str]:
        printed = _read_print_env(self.data_dir, self.home)
        if printed.get("POCKETENV_API_URL", "").rstrip("/") != self.url:
            raise RuntimeError(f"serve --print-env names {printed.get('POCKETENV_API_URL')}, not the backend at {self.url}")
        wanted = {
            "POCKETENV_API_URL": self.url,
            "POCKETENV_STORAGE_URL": self.url,
            "POCKETENV_CF_URL": self.url,
            "POCKETENV_PTY_URL": f"{self.url}/pty",
            "POCKETENV_TTY_URL": f"{self.url}/tty",
        }
        for name, value in wanted.items():
            if name not in printed:
                printed[name] = value
                self.setup_notes.append(f"serve --print-env does not print {name}; set it to {value}")
        for name, value in printed.items():
            if name.endswith("_URL") and not value.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:")):
                raise RuntimeError(f"serve --print-env sets {name}={value}, which is not this machine")
        for name in ("POCKETENV_TOKEN", "POCKETENV_PUBLIC_KEY"):
            if not printed.get(name):
                raise RuntimeError(f"serve --print-env prints no {name}")
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TERM": "xterm-256color",
            "HOME": str(self.home),
            "TMPDIR": str(self.work),
            "NO_COLOR": "1",
            "FORCE_COLOR": "0",
            "BROWSER": "true",
            "NODE_OPTIONS": f"--require {guard}",
            "COMPAT_GUARD_LOG": str(self.guard_log),
            **PROVIDER_CREDENTIALS,
            **{k: v for k, v in printed.items() if k.startswith("POCKETENV_")},
        }

    def _write_cli_token(self) -> None:
        token_file = self.home / ".pocketenv" / "token.json"
        if "--write-cli-token" in _serve_help():
            done = subprocess.run(
                [sys.executable, "-m", "pocketenv_tui", "serve", "--data-dir", str(self.data_dir), "--write-cli-token"],
                capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(self.home)},
            )
            if done.returncode != 0 or not token_file.exists():
                raise RuntimeError(f"serve --write-cli-token failed ({done.returncode}): {done.stdout}{done.stderr}")
            self.setup_notes.append(f"~/.pocketenv/token.json written by serve --write-cli-token ({done.stderr.strip()})")
        else:
            token_file.parent.mkdir(parents=True, exist_ok=True)
            token_file.write_text(json.dumps({"token": self.token}))
            self.setup_notes.append("serve has no --write-cli-token yet: the harness wrote ~/.pocketenv/token.json itself")

    def close(self) -> None:
        shutil.rmtree(self._examples, ignore_errors=True)

    # -- running clients --------------------------------------------------------------------

    def _blocked_since(self, offset: int) -> list[str]:
        with self.guard_log.open() as log:
            log.seek(offset)
            return [line.split(" ", 1)[-1].strip() for line in log if line.strip()]

    def _run(self, argv: Sequence[str], *, cwd: Path, label: str, stdin: str | None, timeout: float) -> Proc:
        offset = self.guard_log.stat().st_size
        timeout = min(timeout, max(5.0, self.deadline - time.monotonic() + 30))
        start = time.monotonic()
        try:
            done = subprocess.run(
                list(argv), cwd=cwd, env=self.env, input=(stdin or "").encode() if stdin is not None else None,
                stdin=subprocess.DEVNULL if stdin is None else None, capture_output=True, timeout=timeout,
            )
            code: int | None = done.returncode
            raw = done.stdout + done.stderr
            notes: list[str] = []
        except subprocess.TimeoutExpired as exc:
            code = None
            raw = (exc.stdout or b"") + (exc.stderr or b"")
            notes = [f"did not finish within {timeout:.0f}s (killed)"]
        return Proc(
            command=label, exit_code=code, output=clean(raw.decode("utf-8", "replace")),
            seconds=time.monotonic() - start, blocked=self._blocked_since(offset), notes=notes,
        )

    def cli(self, *args: str, stdin: str | None = None, timeout: float = CLI_TIMEOUT) -> Proc:
        return self._run(
            [str(self.paths.cli_tsx), "src/index.ts", *args], cwd=self.paths.cli,
            label="pocketenv " + " ".join(_quote(a) for a in args), stdin=stdin, timeout=timeout,
        )

    def cli_pty(self, args: Sequence[str], interact: Callable[[PtySession], list[str]], timeout: float = 60.0) -> Proc:
        """Run the CLI on a pseudo-terminal; ``interact`` drives it and returns notes."""
        offset = self.guard_log.stat().st_size
        start = time.monotonic()
        session = PtySession([str(self.paths.cli_tsx), "src/index.ts", *args], env=self.env, cwd=self.paths.cli)
        notes: list[str] = []
        try:
            notes = interact(session)
            code = session.wait(max(1.0, timeout - (time.monotonic() - start)))
            if code is None:
                notes.append("still running at the end (killed)")
        finally:
            session.close()
        return Proc(
            command="pocketenv " + " ".join(_quote(a) for a in args) + "  (on a pty)",
            exit_code=session.process.returncode if code is not None else None, output=session.text,
            seconds=time.monotonic() - start, blocked=self._blocked_since(offset), notes=notes,
        )

    def sdk_example(self, name: str, timeout: float = 120.0) -> Proc:
        original = (self.paths.sdk / "example" / f"{name}.ts").read_text()
        patched = self._examples / f"{name}.ts"
        patched.write_text(SDK_PREAMBLE + original)
        return self._run(
            [str(self.paths.sdk_tsx), str(patched)], cwd=self.paths.sdk,
            label=f"tsx example/{name}.ts (with the configure preamble)", stdin=None, timeout=timeout,
        )

    # -- the backend's state, read over its XRPC API (as the clients do) ----------------------

    def api(self, nsid: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        request = urllib.request.Request(
            f"{self.url}/xrpc/{nsid}" + (f"?{query}" if query else ""),
            headers={"Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return {"_status": exc.code, "_body": exc.read().decode("utf-8", "replace")}

    def sandbox(self, name: str) -> dict | None:
        found = self.api("io.pocketenv.sandbox.getSandbox", id=name)
        sandbox = found.get("sandbox")
        return sandbox if isinstance(sandbox, dict) else None

    def wait_status(self, name: str, status: str, timeout: float = 60.0) -> str | None:
        """Poll until the sandbox has ``status``; the last status seen (None: no sandbox)."""
        deadline = time.monotonic() + timeout
        seen: str | None = None
        while True:
            sandbox = self.sandbox(name)
            seen = sandbox.get("status") if sandbox else None
            if seen == status or time.monotonic() >= deadline:
                return seen
            time.sleep(0.5)

    def ensure_running(self, name: str) -> list[str]:
        """Start ``name`` with the CLI unless it runs; notes of what was done."""
        sandbox = self.sandbox(name)
        if sandbox is None:
            raise StepFailed(f"sandbox {name} does not exist (its create step failed?)")
        notes = []
        if sandbox.get("status") != "RUNNING":
            started = self.cli("start", name)
            notes.append(f"ran `{started.command}` first: exit {started.exit_code}: {started.output.strip()[-300:]}")
        status = self.wait_status(name, "RUNNING", 60)
        if status != "RUNNING":
            raise StepFailed(f"sandbox {name} is {status}, not RUNNING, after a start; " + "; ".join(notes))
        return notes

    def need(self, key: str) -> str:
        if key not in self.state:
            raise StepFailed(f"needs {key}, which an earlier step did not find")
        return self.state[key]

    # -- the run -------------------------------------------------------------------------------

    def run(self, steps: Sequence[Step]) -> list[Result]:
        results = []
        for step in steps:
            if step.not_run is not None:
                results.append(Result(step.id, NOT_RUN, detail=step.not_run))
                continue
            if time.monotonic() > self.deadline:
                results.append(Result(step.id, FAIL, detail="not started: the harness's time budget was used up"))
                continue
            assert step.action is not None
            try:
                results.append(step.action(self))
            except StepFailed as exc:
                results.append(Result(step.id, FAIL, detail=str(exc)))
        return results


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w@%+=:,./-]+", arg) else "'" + arg.replace("'", "'\\''") + "'"


def judge(
    step_id: str, proc: Proc, *, expect: Sequence[str] = (), code: int | None = 0, errors_ok: bool = False,
    problems: Sequence[str] = (), notes: Sequence[str] = (),
) -> Result:
    """Pass when ``proc`` exited with ``code``, printed each ``expect`` regex, printed no error
    (unless ``errors_ok``), reached no host but this machine, and ``problems`` is empty."""
    found = list(problems)
    if proc.exit_code != code:
        found.append(f"exit code {proc.exit_code}, expected {code}")
    for pattern in expect:
        if not re.search(pattern, proc.output, re.M):
            found.append(f"output lacks /{pattern}/")
    if not errors_ok and (line := _ERROR_LINE.search(proc.output)):
        row = proc.output[proc.output.rfind("\n", 0, line.start()) + 1:].split("\n", 1)[0].strip()
        found.append(f"printed an error: {row[:300]}")
    found.extend(f"tried to leave this machine: {what}" for what in proc.blocked)
    all_notes = [*proc.notes, *notes]
    detail = "; ".join(found + (["notes: " + "; ".join(all_notes)] if all_notes else []))
    return Result(
        step_id, FAIL if found else PASS, command=proc.command, exit_code=proc.exit_code, output=proc.output,
        detail=detail, seconds=proc.seconds,
    )


def table_id(output: str, name: str) -> str | None:
    """The first column of the table row whose cells include ``name``."""
    for line in output.splitlines():
        cells = line.split()
        if len(cells) >= 2 and name in cells[1:]:
            return cells[0]
    return None


def table_row(output: str, name: str) -> list[str] | None:
    for line in output.splitlines():
        cells = line.split()
        if name in cells:
            return cells
    return None


@dataclass(frozen=True)
class Step:
    id: str
    action: Callable[[Harness], Result] | None = None
    not_run: str | None = None

