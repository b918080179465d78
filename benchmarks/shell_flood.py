"""The in-app shell against a bare tmux pane, measured as a user would see it.

Run:  .venv/bin/python benchmarks/shell_flood.py [--repeat 3] [--size 120x40]

Starts its own ``pocketenv-tui serve`` (temporary data dir, 127.0.0.1, free port), creates a
sandbox, and opens two tmux sessions of the same size: one runs bash directly (the peer), the
other runs ``pocketenv-tui`` with the sandbox's shell open (``t``). Both shells get the same
commands typed by ``tmux send-keys``, and the clock runs until the pane (``capture-pane``,
polled every 20 ms) shows the marker the command prints at its end:

- ``seq 1 300000`` (2.1 MB of short lines), then a marker;
- ``cat`` of a 20 MB log file (the same bytes on the host and in the sandbox), then a marker;
- ctrl+C during ``yes pocketenv | head -c 50000000 | cat -n``, sent once the flood shows,
  then a typed ``echo`` of a marker: the time from ctrl+C until the marker shows (the prompt
  is back and takes commands).

Prints the median of ``--repeat`` runs per case, the ratio app / tmux, and the targets (the
floods within 1.5x of tmux; the prompt back within 0.5 s). Asserts nothing. Everything it
starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pocketenv_tui.local.launcher import (  # noqa: E402
    read_credentials,
    start_backend_process,
    stop_backend_process,
    wait_for_server_json,
    wait_until_ready,
)

NS = "/xrpc/io.pocketenv.sandbox."
PROMPT = "BENCH$ "
POLL = 0.02
DEADLINE = 120.0
LOG_LINES = 20 * 1000 * 1000 // 80  # lines of 80 bytes: 20 MB
# Written by the same awk program on the host and in the sandbox, so both cat identical bytes.
LOG_SCRIPT = (
    "awk 'BEGIN { for (i = 1; i <= %d; i++) printf \"2026-12-02T05:%%02d:%%02d.%%06dZ INFO "
    "worker-%%02d request id=%%08d path=/api/v1/items status=200\\n\", "
    "(i / 60) %% 60, i %% 60, i %% 1000000, i %% 16, i }' > %s"
)


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def capture(target: str) -> str:
    return tmux("capture-pane", "-p", "-t", target)


def wait_until(target: str, check: Callable[[str], bool], what: str, deadline: float = DEADLINE) -> float:
    """Seconds until ``check(pane text)`` holds; raises after ``deadline``."""
    start = time.perf_counter()
    while True:
        text = capture(target)
        if check(text):
            return time.perf_counter() - start
        if time.perf_counter() - start > deadline:
            raise RuntimeError(f"timed out waiting for {what}; the pane shows:\n{text}")
        time.sleep(POLL)


def marker_line(marker: str) -> Callable[[str], bool]:
    # The marker alone on a line (the app's pane adds its border around it).
    pattern = re.compile(rf"^[\s│]*{re.escape(marker)}[\s│]*$", re.MULTILINE)
    return lambda text: bool(pattern.search(text))


def type_command(target: str, command: str) -> None:
    tmux("send-keys", "-t", target, "-l", command)
    tmux("send-keys", "-t", target, "Enter")


def timed_command(target: str, command: str) -> float:
    """Type ``command; echo <marker>`` and time it from Enter to the marker on screen."""
    marker = "END" + uuid.uuid4().hex[:8].upper()
    half = len(marker) // 2
    # Quoted in two halves so the echoed command line itself never matches.
    type_command(target, "clear")
    wait_until(target, lambda text: "clear" not in text, "a cleared screen", 20)
    tmux("send-keys", "-t", target, "-l", f"{command}; echo '{marker[:half]}''{marker[half:]}'")
    start = time.perf_counter()
    tmux("send-keys", "-t", target, "Enter")
    wait_until(target, marker_line(marker), f"the end of {command!r}")
    return time.perf_counter() - start


def timed_interrupt(target: str) -> float:
    """ctrl+C once a flood shows; seconds until a command typed after it has run."""
    type_command(target, "clear")
    wait_until(target, lambda text: "clear" not in text, "a cleared screen", 20)
    type_command(target, "yes pocketenv | head -c 50000000 | cat -n")
    wait_until(target, lambda text: text.count("pocketenv") > 10, "the flood")
    marker = "BACK" + uuid.uuid4().hex[:8].upper()
    start = time.perf_counter()
    tmux("send-keys", "-t", target, "C-c")
    tmux("send-keys", "-t", target, "-l", f"echo '{marker[:6]}''{marker[6:]}'")
    tmux("send-keys", "-t", target, "Enter")
    wait_until(target, marker_line(marker), "the prompt after ctrl+C")
    return time.perf_counter() - start


def start_backend(root: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    data_dir = root / "data"
    data_dir.mkdir()
    process = start_backend_process(data_dir, 0, log_path=root / "server.log")
    url = wait_for_server_json(data_dir, process, timeout=30)
    wait_until_ready(url, timeout=30, process=process)
    token, _ = read_credentials(data_dir)
    return process, url, token


def create_sandbox(url: str, token: str) -> str:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        response = client.post(NS + "createSandbox", json={"base": "shell", "name": "flood-bench"})
        response.raise_for_status()
        record = response.json()
        sandbox_id = record.get("sandbox", record)["id"]
        for _ in range(600):
            status = client.get(NS + "getSandbox", params={"id": sandbox_id}).json()["sandbox"]["status"]
            if status == "RUNNING":
                break
            time.sleep(0.1)
        response = client.post(
            NS + "exec", params={"id": sandbox_id},
            json={"command": LOG_SCRIPT % (LOG_LINES, "$HOME/big.log")},
        )  # fmt: skip
        response.raise_for_status()
        return sandbox_id


def open_panes(root: Path, url: str, data_dir: Path, size: tuple[int, int]) -> tuple[str, str]:
    cols, rows = size
    env = f"env -i PATH={os.environ.get('PATH', '/usr/bin:/bin')} HOME={root} TERM=xterm-256color"
    bare = f"flood-bare-{uuid.uuid4().hex[:6]}"
    app = f"flood-app-{uuid.uuid4().hex[:6]}"
    shell = f"{env} PS1={shlex.quote(PROMPT)} bash --norc --noprofile"
    tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", bare, shell)
    tmux("new-session", "-d", "-x", str(cols), "-y", str(rows), "-s", app, shell)
    wait_until(bare, lambda text: PROMPT.strip() in text, "the bare shell")
    wait_until(app, lambda text: PROMPT.strip() in text, "the app's outer shell")
    binary = Path(sys.executable).parent / "pocketenv-tui"
    type_command(
        app,
        f"POCKETENV_TUI_CONFIG={shlex.quote(str(root / 'config.json'))} "
        f"XDG_STATE_HOME={shlex.quote(str(root / 'state'))} "
        f"{shlex.quote(str(binary))} --local --data-dir {shlex.quote(str(data_dir))}",
    )
    wait_until(app, lambda text: "flood-bench" in text and "RUNNING" in text, "the sandbox list")
    tmux("send-keys", "-t", app, "t")
    wait_until(app, lambda text: "ctrl+] to leave" in text, "the app's shell")
    wait_until(app, lambda text: re.search(r"[$#] *│?\s*$", text, re.MULTILINE) is not None, "a prompt")
    type_command(app, f"PS1={shlex.quote(PROMPT)}")
    wait_until(app, lambda text: PROMPT.strip() in text, "the app's shell prompt")
    return bare, app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", default="120x40", help="pane size, COLSxROWS")
    options = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("tmux is not installed (apt-get install tmux)")
    cols, rows = (int(part) for part in options.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="shell-flood-") as tmp:
        root = Path(tmp)
        process, url, token = start_backend(root)
        panes: tuple[str, ...] = ()
        try:
            sandbox_id = create_sandbox(url, token)
            subprocess.run(["bash", "-c", LOG_SCRIPT % (LOG_LINES, shlex.quote(str(root / "big.log")))], check=True)
            panes = open_panes(root, url, root / "data", (cols, rows))
            bare, app = panes
            cases = {
                "seq 1 300000": ("seq 1 300000", "seq 1 300000"),
                "cat a 20 MB log": (f"cat {shlex.quote(str(root / 'big.log'))}", "cat ~/big.log"),
            }
            results: dict[str, tuple[list[float], list[float]]] = {}
            for name, (bare_command, app_command) in cases.items():
                timings: tuple[list[float], list[float]] = ([], [])
                for _ in range(options.repeat):
                    timings[0].append(timed_command(bare, bare_command))
                    timings[1].append(timed_command(app, app_command))
                results[name] = timings
            interrupt: tuple[list[float], list[float]] = ([], [])
            for _ in range(options.repeat):
                interrupt[0].append(timed_interrupt(bare))
                interrupt[1].append(timed_interrupt(app))
            report(results, interrupt, options.repeat, (cols, rows), sandbox_id)
        finally:
            for pane in panes:
                subprocess.run(["tmux", "kill-session", "-t", pane], capture_output=True)
            stop_backend_process(process)


def report(
    results: dict[str, tuple[list[float], list[float]]],
    interrupt: tuple[list[float], list[float]],
    repeat: int,
    size: tuple[int, int],
    sandbox_id: str,
) -> None:
    print(f"In-app shell vs a bare tmux pane, {size[0]}x{size[1]}, median of {repeat} runs (sandbox {sandbox_id})")
    print(f"{'case':<34}{'bare tmux s':>12}{'in-app s':>11}{'ratio':>8}  target")
    for name, (bare, app) in results.items():
        b, a = statistics.median(bare), statistics.median(app)
        verdict = "met" if a <= 1.5 * b else "NOT met"
        print(f"{name:<34}{b:>12.2f}{a:>11.2f}{a / b:>7.2f}x  at most 1.5x: {verdict}")
    b, a = statistics.median(interrupt[0]), statistics.median(interrupt[1])
    verdict = "met" if a <= 0.5 else "NOT met"
    print(f"{'ctrl+C in a 50 MB flood, to prompt':<34}{b:>12.2f}{a:>11.2f}{a / b:>7.2f}x  at most 0.5 s: {verdict}")


if __name__ == "__main__":
    main()
