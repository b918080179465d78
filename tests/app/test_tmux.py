"""End to end in a real terminal: tmux runs `pocketenv-tui` against the local backend.

send-keys starts a sandbox, opens its shell, runs `echo hi`; capture-pane must show `hi`;
ctrl+C stops a 50 MB flood long before its end.
Then ctrl+] leaves the shell, ctrl+q quits, and the terminal is back to a working shell
(normal screen, echo on).

A second run starts its own background backend, which is then killed: the header says so, the
app starts it again and the list is live by itself; on quit it says where the backend runs.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.local.launcher import read_credentials
from pocketenv_tui.local.state.datadir import read_server_json
from tests.app.conftest import client_for, create_running, delete_quietly
from tests.conftest import assert_no_leftover_processes, assert_nothing_left_on_the_host

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

VENV_BIN = Path(sys.executable).parent
DEADLINE = 60.0


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for_pane(session: str, pattern: str, what: str) -> str:
    regex = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + DEADLINE
    while True:
        text = capture(session)
        if regex.search(text):
            return text
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; the pane shows:\n{text}")
        time.sleep(0.2)


def send(session: str, *keys: str) -> None:
    tmux("send-keys", "-t", session, *keys)


def type_text(session: str, text: str) -> None:
    """Type like a person, one key at a time: Textual handles a burst of keys arriving in one
    read in an order where bindings run after later keys were already delivered."""
    for character in text:
        # A lone ";" is tmux's command separator, even after -l: escape it.
        tmux("send-keys", "-t", session, "-l", "\\;" if character == ";" else character)
        time.sleep(0.03)


@pytest.fixture
def tmux_session(tmp_path):
    name = f"pocketenv-e-{uuid.uuid4().hex[:8]}"
    # A plain shell in the pane, so that after the app quits we can see the terminal works.
    tmux(
        "new-session", "-d", "-x", "120", "-y", "40", "-s", name,
        f"env -i PATH={os.environ.get('PATH', '/usr/bin:/bin')} HOME={tmp_path} TERM=xterm-256color "
        f"PS1='ready$ ' bash --norc --noprofile",
    )  # fmt: skip
    try:
        yield name
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def app_command(tmp_path: Path, data_dir: Path) -> str:
    return " ".join(
        [
            f"POCKETENV_TUI_CONFIG={shlex.quote(str(tmp_path / 'config.json'))}",
            f"POCKETENV_TUI_STATE_DIR={shlex.quote(str(tmp_path / 'state'))}",
            shlex.quote(str(VENV_BIN / "pocketenv-tui")),
            "--local",
            "--data-dir", shlex.quote(str(data_dir)),
            "--refresh", "1",
        ]
    )  # fmt: skip


def test_shell_in_a_real_terminal_then_quit_restores_it(local_backend, tmux_session, tmp_path):
    name = f"tmux-{uuid.uuid4().hex[:6]}"

    async def prepare() -> str:
        async with client_for(local_backend) as client:
            sandbox = await create_running(client, name)
            await client.sandboxes.stop(sandbox.id)
            return sandbox.id

    sandbox_id = asyncio.run(prepare())
    try:
        command = app_command(tmp_path, local_backend.data_dir)
        wait_for_pane(tmux_session, r"^ready\$", "the shell prompt")
        send(tmux_session, command, "Enter")
        wait_for_pane(tmux_session, re.escape(name), "the sandbox in the list")
        assert "local backend at " + local_backend.url in capture(tmux_session)

        send(tmux_session, "/")
        type_text(tmux_session, name)
        wait_for_pane(tmux_session, r"Filter\s+\^q Quit", "the filter line")
        send(tmux_session, "Enter")
        # The full footer is back once the table has the focus again.
        wait_for_pane(tmux_session, r"x Stop", "the table's keys")
        wait_for_pane(tmux_session, re.escape(name) + r".*STOPPED", "the stopped row")
        send(tmux_session, "s")
        wait_for_pane(tmux_session, re.escape(name) + r".*RUNNING", "the running row")

        send(tmux_session, "t")
        wait_for_pane(tmux_session, r"ctrl\+\] to leave", "the shell")
        wait_for_pane(tmux_session, r"[$#]\s*│?\s*$", "a prompt in the shell")
        type_text(tmux_session, "echo hi")
        send(tmux_session, "Enter")
        wait_for_pane(tmux_session, r"^\W*hi\s*\W*$", "the output of echo hi")

        # ctrl+C in a 50 MB flood (5 million numbered lines): the flood stops where it is,
        # as in a real terminal, instead of the whole of it printing first.
        type_text(tmux_session, "clear; yes pocketenv | head -c 50000000 | cat -n")
        send(tmux_session, "Enter")
        wait_for_pane(tmux_session, r"\d+\s+pocketenv", "the flood")
        send(tmux_session, "C-c")
        type_text(tmux_session, "echo back-''after-flood")
        send(tmux_session, "Enter")
        text = wait_for_pane(tmux_session, r"^\W*back-after-flood\s*\W*$", "the prompt after ctrl+C")
        printed = max(int(n) for n in re.findall(r"(\d+)\s+pocketenv", text))
        assert printed < 2_000_000, f"{printed} of 5,000,000 lines printed before ctrl+C took effect"

        send(tmux_session, "C-]")
        wait_for_pane(tmux_session, r"my sandboxes", "the dashboard again")
        send(tmux_session, "C-q")
        wait_for_pane(tmux_session, r"^ready\$", "the shell prompt after quitting")
        assert tmux("display-message", "-p", "-t", tmux_session, "#{alternate_on}").strip() == "0"
        type_text(tmux_session, "echo restored-$((40+2))")
        send(tmux_session, "Enter")
        wait_for_pane(tmux_session, r"^restored-42$", "a working terminal")
    finally:
        asyncio.run(_cleanup(local_backend, sandbox_id))


async def _cleanup(backend, sandbox_id: str) -> None:
    async with client_for(backend) as client:
        await delete_quietly(client, sandbox_id)


def test_killed_backend_is_restarted_and_the_list_recovers_by_itself(tmux_session, tmp_path):
    data_dir = tmp_path / "own-backend"
    name = f"tmux-back-{uuid.uuid4().hex[:6]}"
    try:
        wait_for_pane(tmux_session, r"^ready\$", "the shell prompt")
        send(tmux_session, app_command(tmp_path, data_dir), "Enter")
        wait_for_pane(tmux_session, r"\(started in the background\)", "the backend the app started")
        first = read_server_json(data_dir)
        asyncio.run(_make_stopped_sandbox(data_dir, first["url"], name))
        wait_for_pane(tmux_session, re.escape(name) + r".*STOPPED", "the sandbox in the list")

        os.kill(first["pid"], signal.SIGKILL)
        wait_for_pane(tmux_session, r"was killed \(signal 9\) — restarting", "the header saying it restarts")
        wait_for_pane(tmux_session, r"local backend restarted at http://127\.0\.0\.1:\d+", "the restarted backend")
        second = read_server_json(data_dir)
        assert second is not None and second["pid"] != first["pid"]
        text = wait_for_pane(tmux_session, r"live · every 1s", "the list live again")
        assert re.search(re.escape(name) + r".*STOPPED", text), text
        assert f"restarted at {second['url']}" in text
        # The app reaped its dead child: it is gone, not a zombie.
        deadline = time.monotonic() + 10
        while Path(f"/proc/{first['pid']}").exists():
            assert time.monotonic() < deadline, f"pid {first['pid']} was not reaped"
            time.sleep(0.1)

        send(tmux_session, "C-q")
        wait_for_pane(
            tmux_session, re.escape(f"the local backend keeps running at {second['url']}"), "the quit message"
        )
        wait_for_pane(tmux_session, r"^ready\$", "the shell prompt after quitting")
    finally:
        # The app first (if a failure left it running, it would start the backend again).
        subprocess.run(["tmux", "kill-session", "-t", tmux_session], capture_output=True)
        _stop_backend_of(data_dir)


async def _make_stopped_sandbox(data_dir: Path, url: str, name: str) -> None:
    token, public_key = read_credentials(data_dir)
    async with PocketenvClient(api_url=url, token=token, public_key=public_key, storage_url=url) as client:
        sandbox = await create_running(client, name)
        await client.sandboxes.stop(sandbox.id)  # no process of its own survives a kill -9


def _stop_backend_of(data_dir: Path) -> None:
    """The backend the app left running (it outlives the app): stop it, check nothing is left."""
    record = read_server_json(data_dir)
    if record is not None:
        os.kill(record["pid"], signal.SIGTERM)
        deadline = time.monotonic() + 20
        while read_server_json(data_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
    assert_no_leftover_processes(data_dir)
    assert_nothing_left_on_the_host(data_dir)
