"""What a process inside a bubblewrap sandbox can and cannot see or do."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pocketenv_tui.local.sandbox.facilities import bwrap_usable
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime
from tests.local.test_runtime_helpers import spec

pytestmark = pytest.mark.skipif(not bwrap_usable(), reason="bubblewrap cannot run here")


@pytest.fixture
async def boxed(tmp_path: Path) -> AsyncIterator[SandboxRuntime]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # Stand-ins for what the server keeps in its data dir.
    (data_dir / "token.json").write_text('{"token": "super-secret-token"}')
    (data_dir / "secret.key").write_text("private key material")
    rt = SandboxRuntime(data_dir, isolation="bwrap")
    await rt.start(spec(name="isolated-box"))
    try:
        yield rt
    finally:
        await rt.shutdown()


async def run(rt: SandboxRuntime, command: str) -> tuple[str, str, int]:
    result = await rt.exec("sbx1", command)
    return result.stdout, result.stderr, result.exit_code


async def test_hostname_is_the_sandbox_name(boxed: SandboxRuntime) -> None:
    assert await run(boxed, "hostname") == ("isolated-box\n", "", 0)


async def test_own_pid_namespace(boxed: SandboxRuntime) -> None:
    out, _, _ = await run(boxed, "ls /proc | grep -c '^[0-9]'")
    # PID 1 (the agent), this shell, ls and grep: nothing of the host.
    assert int(out) < 10
    # PID 1 is the sandbox's agent, on the server's interpreter.
    cmdline, _, _ = await run(boxed, "tr '\\0' ' ' < /proc/1/cmdline")
    assert "pocketenv_agent" in cmdline


async def test_data_dir_and_token_cannot_be_read(boxed: SandboxRuntime) -> None:
    data_dir = boxed.data_dir.resolve()
    for path in (data_dir / "token.json", data_dir / "secret.key", data_dir):
        out, _, code = await run(boxed, f"cat '{path}' 2>/dev/null || ls '{path}' 2>/dev/null")
        assert code != 0 and out == "", f"{path} is visible inside the sandbox"
    out, _, _ = await run(boxed, "grep -rl super-secret-token / --exclude-dir=proc --exclude-dir=usr 2>/dev/null")
    assert out == ""


def _host_root_entries() -> set[str]:
    return {entry.name for entry in Path("/root").iterdir()} if Path("/root").is_dir() else set()


async def test_host_home_is_not_there(boxed: SandboxRuntime) -> None:
    # /root and /home inside are the sandbox's own; nothing of the host's is in them. The
    # one thing shared is the server's interpreter, read-only, when it lives under /root.
    host_root = _host_root_entries()
    inside_root = set((await run(boxed, "ls -A /root"))[0].split())
    assert inside_root <= {".pyenv"}, inside_root
    assert not (host_root - {".pyenv"}) & inside_root
    out, _, _ = await run(boxed, "ls /home")
    assert out.split() == ["coder", "sandbox"]  # ours: HOME, and the hosted templates' home
    if ".pyenv" in inside_root:
        listing = (await run(boxed, "find /root/.pyenv -maxdepth 2"))[0].split()
        assert all(Path(sys.base_prefix).as_posix().startswith(p) or p.startswith(sys.base_prefix) for p in listing)
        _, _, code = await run(boxed, f"touch {sys.base_prefix}/pocketenv-was-here")
        assert code != 0


async def test_system_is_read_only_and_sensitive_files_masked(boxed: SandboxRuntime) -> None:
    _, err, code = await run(boxed, "touch /usr/bin/pocketenv-was-here")
    assert code != 0 and "Read-only" in err
    _, _, code = await run(boxed, "echo x >> /etc/hosts")
    assert code != 0
    out, _, _ = await run(boxed, "cat /etc/shadow 2>/dev/null")
    assert out == ""


async def test_host_tools_work_inside(boxed: SandboxRuntime) -> None:
    out, err, code = await run(boxed, "python3 -c 'print(6*7)' && git --version >/dev/null && bash --version | head -1")
    assert code == 0, err
    assert out.startswith("42\n")


async def test_no_capabilities_so_no_mounting(boxed: SandboxRuntime) -> None:
    out, _, _ = await run(boxed, "grep CapEff /proc/self/status")
    assert out.split()[1] == "0000000000000000"
    _, _, code = await run(boxed, "mount -t tmpfs none /tmp 2>/dev/null")
    assert code != 0


async def test_read_only_volume(boxed: SandboxRuntime) -> None:
    await boxed.start(spec(name="isolated-box", volumes=[("vol_ro", "/mnt/ro", False)]))
    assert (await boxed.exec("sbx1", "echo keep > /mnt/ro/data.txt")).exit_code == 0
    await boxed.start(spec(name="isolated-box", volumes=[("vol_ro", "/mnt/ro", True)]))
    out, _, _ = await run(boxed, "cat /mnt/ro/data.txt")
    assert out == "keep\n"
    _, err, code = await run(boxed, "echo changed > /mnt/ro/data.txt")
    assert code != 0 and "Read-only" in err
    assert (await run(boxed, "cat /mnt/ro/data.txt"))[0] == "keep\n"
