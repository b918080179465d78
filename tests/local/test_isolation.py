"""What a process inside a bubblewrap sandbox can and cannot see or do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pocketenv_tui.local.sandbox.isolation import bwrap_usable
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
    # PID 1, its sleep, this shell, ls and grep: nothing of the host.
    assert int(out) < 10
    comm, _, _ = await run(boxed, "cat /proc/1/comm")
    assert comm.strip() == "bwrap"


async def test_data_dir_and_token_cannot_be_read(boxed: SandboxRuntime) -> None:
    data_dir = boxed.data_dir.resolve()
    for path in (data_dir / "token.json", data_dir / "secret.key", data_dir):
        out, _, code = await run(boxed, f"cat '{path}' 2>/dev/null || ls '{path}' 2>/dev/null")
        assert code != 0 and out == "", f"{path} is visible inside the sandbox"
    out, _, _ = await run(boxed, "grep -rl super-secret-token / --exclude-dir=proc --exclude-dir=usr 2>/dev/null")
    assert out == ""


async def test_host_home_is_not_there(boxed: SandboxRuntime) -> None:
    out, _, code = await run(boxed, "ls -A /root 2>&1; ls /home")
    assert "No such file" in out
    assert out.strip().splitlines()[-1] == "sandbox"


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


async def test_read_only_volume(boxed: SandboxRuntime, tmp_path: Path) -> None:
    volume = tmp_path / "ro"
    volume.mkdir()
    (volume / "data.txt").write_text("keep")
    await boxed.start(spec(name="isolated-box", volumes=[(volume, "/mnt/ro", True)]))
    out, _, _ = await run(boxed, "cat /mnt/ro/data.txt")
    assert out == "keep"
    _, _, code = await run(boxed, "echo changed > /mnt/ro/data.txt")
    assert code != 0
    assert (volume / "data.txt").read_text() == "keep"
