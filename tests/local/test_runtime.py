"""The sandbox runtime driven directly (no server): exec, lifecycle, files, services."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from pocketenv_tui.local.sandbox.facilities import bwrap_usable
from pocketenv_tui.local.sandbox.limits import MIB, Limits
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime, SandboxRuntimeError, ServiceSpec
from tests.local.test_runtime_helpers import eventually, sandbox_pids, spec
from tests.local.test_runtime_helpers import runtime as runtime  # noqa: F401 (fixture)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_exec_sees_variables_and_secrets(runtime: SandboxRuntime) -> None:
    await runtime.start(spec(env={"GREETING": "hello", "API_KEY": "s3cret value"}))
    result = await runtime.exec("sbx1", 'printf "%s|%s" "$GREETING" "$API_KEY"')
    assert (result.stdout, result.stderr, result.exit_code) == ("hello|s3cret value", "", 0)


async def test_exec_reports_stderr_and_nonzero_exit(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    result = await runtime.exec("sbx1", "echo out; echo err >&2; exit 3")
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert result.exit_code == 3


async def test_exec_runs_in_the_home(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    result = await runtime.exec("sbx1", 'pwd; echo "$HOME"; touch made-here')
    cwd, home = result.stdout.split()
    assert cwd == home
    assert (runtime.home_dir("sbx1") / "made-here").exists()


async def test_exec_timeout_kills_and_says_so(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    result = await runtime.exec("sbx1", "echo started; sleep 30; echo never", timeout=0.5)
    assert result.exit_code == 124
    assert "never" not in result.stdout
    assert "timed out" in result.stderr
    assert await eventually(lambda: "sleep 30" not in ps_of("sbx1"))


def ps_of(sandbox_id: str) -> str:
    """Command lines of the sandbox's processes."""
    lines = []
    for pid in sandbox_pids(sandbox_id):
        try:
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return "\n".join(lines)


async def test_background_job_outlives_its_exec_until_stop(runtime: SandboxRuntime) -> None:
    port = free_port()
    await runtime.start(spec())
    started = await runtime.exec("sbx1", f"python3 -m http.server {port} --bind 127.0.0.1 & echo launched")
    assert started.stdout == "launched\n"
    assert started.exit_code == 0

    async def answers() -> bool:
        # Connected from inside the sandbox (its own loopback), as previews are.
        try:
            sock = await runtime.connect("sbx1", port)
        except SandboxRuntimeError:
            return False
        with sock:
            sock.setblocking(True)
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return (await asyncio.to_thread(sock.recv, 64)).startswith(b"HTTP/1.0 200")

    # The server keeps logging to the exec's stderr long after the exec returned.
    assert await eventually(answers)
    later = await runtime.exec("sbx1", f"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/")
    assert later.stdout == "200"

    await runtime.stop("sbx1")
    assert not runtime.is_running("sbx1")
    assert sandbox_pids("sbx1") == []
    assert not await answers()


async def test_stop_ends_every_process_and_start_again_works(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    await runtime.exec("sbx1", "(sleep 1000 &) ; nohup sleep 1001 >/dev/null 2>&1 & setsid sleep 1002 &")
    assert await eventually(lambda: all(f"sleep {n}" in ps_of("sbx1") for n in (1000, 1001, 1002)))
    await runtime.stop("sbx1")
    assert sandbox_pids("sbx1") == []
    with pytest.raises(SandboxRuntimeError, match="not running"):
        await runtime.exec("sbx1", "true")
    await runtime.start(spec())
    assert (await runtime.exec("sbx1", "echo again")).stdout == "again\n"


async def test_files_and_ssh_keys_are_written(runtime: SandboxRuntime) -> None:
    await runtime.start(
        spec(
            files=[("~/.config/app.toml", b"answer = 42\n"), ("/home/sandbox/notes.txt", b"hi")],
            ssh_private_key="-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----",
            ssh_public_key="ssh-ed25519 AAAAC3Nz test@pocketenv",
        )
    )
    result = await runtime.exec(
        "sbx1", "cat ~/.config/app.toml ~/notes.txt; echo; stat -c '%a %n' ~/.ssh ~/.ssh/id_ed25519; cat ~/.ssh/id_ed25519.pub"
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "answer = 42"
    assert lines[1] == "hi"
    assert lines[2].startswith("700 ") and lines[3].startswith("600 ")
    assert lines[4] == "ssh-ed25519 AAAAC3Nz test@pocketenv"


@pytest.mark.skipif(not bwrap_usable(), reason="bubblewrap cannot run here")
async def test_volume_keeps_its_data_across_starts_until_its_record_goes(tmp_path: Path) -> None:
    # Mount paths only mean something in a mount namespace: this one is bwrap's alone.
    runtime = SandboxRuntime(tmp_path / "data", isolation="bwrap")
    try:
        await _volume_round_trip(runtime)
    finally:
        await runtime.shutdown()
    assert sandbox_pids("sbx1") == []


async def _volume_round_trip(runtime: SandboxRuntime) -> None:
    await runtime.start(spec(volumes=[("vol1", "/home/sandbox/data", False)]))
    result = await runtime.exec("sbx1", "echo kept > ~/data/f.txt && echo other > ~/plain.txt")
    assert result.exit_code == 0, result.stderr
    await runtime.start(spec(volumes=[("vol1", "/workspace/elsewhere", False)]))
    moved = await runtime.exec("sbx1", "cat /workspace/elsewhere/f.txt; ls ~/data 2>/dev/null | wc -l")
    assert moved.stdout.split() == ["kept", "0"]
    # The volume's record is gone: its data is removed at the next start.
    await runtime.start(spec(volumes=[("vol1", "/workspace/elsewhere", False)]))
    await runtime.start(spec())
    assert (await runtime.exec("sbx1", "ls /workspace/elsewhere 2>&1 | wc -l; cat ~/plain.txt")).stdout.split()[-1] == "other"
    await runtime.start(spec(volumes=[("vol1", "/workspace/elsewhere", False)]))
    assert (await runtime.exec("sbx1", "ls -A /workspace/elsewhere")).stdout == ""


async def test_volumes_and_files_on_system_paths_are_warnings(runtime: SandboxRuntime) -> None:
    warnings = await runtime.start(spec(
        volumes=[("vol1", "/usr/local/data", False), ("vol2", "/", False)],
        files=[("/etc/pocketenv-test", b"x"), ("~/ok.txt", b"fine")],
    ))
    assert sum("was not mounted" in w for w in warnings) == 2, warnings
    assert any("/etc/pocketenv-test" in w for w in warnings) or runtime.isolation == "none", warnings
    assert (await runtime.exec("sbx1", "cat ~/ok.txt")).stdout == "fine"


async def test_unreachable_repo_is_a_warning_not_a_failure(runtime: SandboxRuntime) -> None:
    warnings = await runtime.start(spec(repo="http://127.0.0.1:9/nobody/nothing.git"))
    assert any(w.startswith("repo not reachable: http://127.0.0.1:9/nobody/nothing.git") for w in warnings)
    assert runtime.is_running("sbx1")


async def test_service_runs_logs_and_stops(runtime: SandboxRuntime) -> None:
    service = ServiceSpec(id="svc1", name="ticker", command='echo "up with $MODE"; exec sleep 1000')
    await runtime.start(spec(env={"MODE": "fast"}, services=[service]))
    assert runtime.service_status("sbx1", "svc1") == ("RUNNING", None)
    assert await eventually(lambda: "up with fast" in runtime.service_log("sbx1", "svc1"))
    await runtime.stop_service("sbx1", "svc1")
    assert runtime.service_status("sbx1", "svc1") == ("STOPPED", None)  # stopped, not failed
    assert "sleep 1000" not in ps_of("sbx1")
    await runtime.start_service("sbx1", service)
    assert runtime.service_status("sbx1", "svc1") == ("RUNNING", None)


async def test_stop_right_after_start_service_ends_it(runtime: SandboxRuntime) -> None:
    # A service started a moment ago is still going through its execs (setpriv, bash, its
    # command): a stop then must neither miss it nor wait for it forever.
    service = ServiceSpec(id="svc1", name="fresh", command="exec sleep 1000")
    for _ in range(10):
        await runtime.start(spec())
        await runtime.start_service("sbx1", service)
        await asyncio.wait_for(runtime.stop("sbx1"), 30)
        assert "sleep 1000" not in ps_of("sbx1")
        assert sandbox_pids("sbx1") == []


async def test_crashed_service_is_failed_with_its_code_and_log_is_bounded(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    noisy = ServiceSpec(id="svc2", name="noisy", command="head -c 300000 /dev/zero | tr '\\0' x; exit 5")
    await runtime.start_service("sbx1", noisy)
    assert await eventually(lambda: runtime.service_status("sbx1", "svc2") == ("FAILED", 5))
    log = await eventually(lambda: (text := runtime.service_log("sbx1", "svc2")) and "code 5" in text and text)
    assert len(log.encode()) <= 64 * 1024
    clean = ServiceSpec(id="svc3", name="one-shot", command="true")
    await runtime.start_service("sbx1", clean)
    assert await eventually(lambda: runtime.service_status("sbx1", "svc3") == ("STOPPED", 0))
    assert runtime.service_status("sbx1", "missing") == ("STOPPED", None)


async def test_paths_inside_are_normalised_and_escapes_refused(runtime: SandboxRuntime) -> None:
    await runtime.start(spec())
    assert runtime.normalize("sbx1", "~/a/b.txt") == "/home/sandbox/a/b.txt"
    assert runtime.normalize("sbx1", "rel.txt") == "/home/sandbox/rel.txt"
    assert runtime.normalize("sbx1", "/tmp//x/./y") == "/tmp/x/y"
    for bad in ("~/../../etc", "/a/../b", "", "  "):
        with pytest.raises(SandboxRuntimeError):
            runtime.normalize("sbx1", bad)


async def test_delete_removes_files_and_processes(runtime: SandboxRuntime) -> None:
    await runtime.start(spec(files=[("~/f.txt", b"x")]))
    await runtime.exec("sbx1", "sleep 1000 &")
    await runtime.delete("sbx1")
    assert not (runtime.data_dir / "sandboxes" / "sbx1").exists()
    assert sandbox_pids("sbx1") == []


async def test_limits_are_applied_and_reported(runtime: SandboxRuntime) -> None:
    limits = Limits(pids=77, memory_bytes=300 * MIB, vcpus=1, disk_bytes=200 * MIB)
    await runtime.start(spec(limits=limits))
    report = runtime.report("sbx1")
    assert report["limits"] == {"pids": 77, "memoryMiB": 300, "vcpus": 1, "diskMiB": 200}
    missing = {line.split(":")[0] for line in report["missingProtections"]}  # type: ignore[union-attr]
    for name in ("pidsLimit", "memoryLimit", "cpuLimit", "diskQuota"):
        assert (name in report["protections"]) != (name in missing)  # type: ignore[operator]
    if "pidsLimit" not in missing:
        box_pids = runtime._boxes["sbx1"].cgroups
        assert box_pids is not None and any("pids" in str(d) for d in box_pids.dirs)
        assert runtime.usage("sbx1").get("pids", 0) >= 1
    if "diskQuota" not in missing:
        size = (await runtime.exec("sbx1", "df -k --output=size \"$HOME\" | tail -1")).stdout
        assert 150 * 1024 < int(size) <= 200 * 1024


async def test_sandboxes_do_not_share_processes(runtime: SandboxRuntime) -> None:
    await runtime.start(spec("sbxa"))
    await runtime.start(spec("sbxb"))
    await runtime.exec("sbxa", "sleep 1003 &")
    await runtime.exec("sbxb", "sleep 1004 &")
    await runtime.stop("sbxa")
    assert "sleep 1004" in ps_of("sbxb")
    assert (await runtime.exec("sbxb", "echo alive")).stdout == "alive\n"


async def test_failed_start_leaves_nothing_running(runtime: SandboxRuntime) -> None:
    if "diskQuota" in runtime.facilities.missing:
        pytest.skip("no disk images here, so no start can be made to fail this way")
    with pytest.raises(SandboxRuntimeError, match="mkfs"):
        await runtime.start(spec(limits=Limits(disk_bytes=32 * 1024)))  # too small for a filesystem
    assert not runtime.is_running("sbx1")
    assert sandbox_pids("sbx1") == []
    await runtime.delete("sbx1")
    await runtime.start(spec())
    assert runtime.is_running("sbx1")
