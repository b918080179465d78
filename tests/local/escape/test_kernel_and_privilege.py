"""No host privilege inside: kernel settings, capabilities, seccomp, the host uid."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.local.escape.conftest import inside_python, require
from tests.local.helpers import Api

# Opened for writing only, never written: a successful open is the failure.
PROBE_OPEN_FOR_WRITING = """
import errno, json, os
out = {}
for path in ("/proc/sys/kernel/panic", "/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger",
             "/proc/sys/vm/drop_caches", "/sys/kernel/uevent_helper"):
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as exc:
        out[path] = errno.errorcode.get(exc.errno, str(exc.errno))
    else:
        os.close(fd)
        out[path] = "OPENED"
print(json.dumps(out))
"""


async def test_kernel_settings_cannot_be_opened_for_writing(api: Api, sandbox: dict) -> None:
    require(sandbox, "namespaces")
    result = await inside_python(api, sandbox["id"], PROBE_OPEN_FOR_WRITING)
    refused = json.loads(result["stdout"])
    assert "OPENED" not in refused.values(), refused
    assert refused["/sys/kernel/uevent_helper"] == "ENOENT"  # no /sys at all


async def test_no_capabilities_no_new_privileges_and_seccomp(api: Api, sandbox: dict) -> None:
    require(sandbox, "namespaces", "seccomp")
    status = (await api.exec(sandbox["id"], "grep -E '^(Uid|CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status"))["stdout"]
    fields = dict(line.split(":\t", 1) for line in status.splitlines())
    assert fields["Uid"].split()[0] == "0"  # root inside...
    assert fields["CapEff"].strip() == fields["CapPrm"].strip() == fields["CapBnd"].strip() == "0000000000000000"
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"
    prompt = await api.exec(sandbox["id"], "echo \"$(id -un)@$(hostname)\"")
    assert prompt["stdout"].strip() == f"root@{sandbox['name']}"


DENIED = """
import ctypes, errno, json, platform
libc = ctypes.CDLL(None, use_errno=True)
numbers = {"x86_64": {"keyctl": 250, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
                      "kexec_load": 246, "init_module": 175, "open_by_handle_at": 304,
                      "unshare": 272, "mount": 165, "io_uring_setup": 425},
           "aarch64": {"keyctl": 219, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
                       "kexec_load": 104, "init_module": 105, "open_by_handle_at": 265,
                       "unshare": 97, "mount": 40, "io_uring_setup": 425}}[platform.machine()]
out = {}
for name, number in numbers.items():
    args = [0x10000000, 0, 0, 0, 0] if name == "unshare" else [0, 0, 0, 0, 0]  # CLONE_NEWUSER
    result = libc.syscall(number, *args)
    out[name] = "ok" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), "?")
print(json.dumps(out))
"""


async def test_seccomp_denies_what_container_runtimes_deny(api: Api, sandbox: dict) -> None:
    require(sandbox, "seccomp")
    denied = json.loads((await inside_python(api, sandbox["id"], DENIED))["stdout"])
    assert denied == dict.fromkeys(denied, "EPERM"), denied
    nested = await api.exec(sandbox["id"], "unshare -U true")
    assert nested["exitCode"] != 0


def _host_uids_of(sandbox_id: str) -> set[int]:
    uids = set()
    marker = f"POCKETENV_SANDBOX_ID={sandbox_id}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            status = (entry / "status").read_text()
        except OSError:
            continue
        uids |= {int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:")}
    return uids


async def test_sandbox_processes_never_run_as_the_server_uid(api: Api, sandbox: dict, local_backend) -> None:
    require(sandbox, "namespaces", "hostUid")
    await api.exec(sandbox["id"], "sleep 30 >/dev/null 2>&1 &")
    uids = _host_uids_of(sandbox["id"])
    server_uid = os.stat(f"/proc/{local_backend.process.pid}").st_uid
    assert uids and server_uid not in uids, uids
    assert all(uid >= 0x70000000 for uid in uids), uids


async def test_sandboxes_get_different_uids_and_cannot_read_each_other(api: Api, sandbox: dict) -> None:
    require(sandbox, "namespaces", "hostUid")
    other = await api.create_running()
    try:
        marker = "only-in-the-other-sandbox-" + os.urandom(4).hex()
        await api.exec(other["id"], f"echo {marker} > ~/private.txt; echo {marker} > /tmp/private.txt")
        await api.exec(sandbox["id"], "sleep 30 >/dev/null 2>&1 &")
        await api.exec(other["id"], "sleep 30 >/dev/null 2>&1 &")
        assert not _host_uids_of(sandbox["id"]) & _host_uids_of(other["id"])
        search = await api.exec(
            sandbox["id"], f"grep -rl {marker} / --exclude-dir=proc --exclude-dir=usr 2>/dev/null; ls /proc | grep -c '^[0-9]'"
        )
        found, count = search["stdout"].rsplit("\n", 2)[0], int(search["stdout"].split()[-1])
        assert marker not in found
        assert count < 10  # its own processes only: none of the other sandbox's
    finally:
        await api.delete(other["id"])


AGENT_PROBE = """
import ctypes, errno, json, os, signal
out = {}
try:
    os.kill(1, signal.SIGKILL)  # PID 1 only gets the signals it handles: this one is dropped
    out["kill"] = "sent"
except OSError as exc:
    out["kill"] = errno.errorcode[exc.errno]
try:
    with open("/proc/1/mem", "rb") as handle:
        handle.read(1)
    out["mem"] = "READ"
except OSError as exc:
    out["mem"] = errno.errorcode[exc.errno]
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH = 16
out["ptrace"] = "ATTACHED" if libc.ptrace(PTRACE_ATTACH, 1, 0, 0) == 0 else errno.errorcode[ctypes.get_errno()]
print(json.dumps(out))
"""


async def test_the_agent_cannot_be_killed_traced_or_read_from_inside(api: Api, sandbox: dict) -> None:
    require(sandbox, "namespaces")
    probe = json.loads((await inside_python(api, sandbox["id"], AGENT_PROBE))["stdout"])
    assert probe["mem"] != "READ" and probe["ptrace"] != "ATTACHED", probe
    # Whatever the kill did, the agent is still there and still serving.
    assert (await api.exec(sandbox["id"], "echo still-here"))["stdout"] == "still-here\n"
