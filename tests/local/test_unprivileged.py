"""A server that is not root: sandboxes still get their namespaces and seccomp, and the
record says exactly what it cannot give them (their own host uid, cgroups, a disk image).

The runtime runs here as the unprivileged user ``nobody`` (through setpriv), on Debian's
own interpreter (the test's may live where nobody cannot read), with a data dir that user owns.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import pocketenv_tui
from pocketenv_tui.local.sandbox.facilities import bwrap_usable

SYSTEM_PYTHON = "/usr/bin/python3"
NOBODY = 65534
SCRIPT = """
import asyncio, json, sys
from pathlib import Path
from pocketenv_tui.local.sandbox.runtime import SandboxRuntime, SandboxSpec

async def main():
    runtime = SandboxRuntime(Path(sys.argv[1]), isolation="bwrap")
    warnings = await runtime.start(SandboxSpec(id="sbx1", name="plain-user", env={}, files=[("~/f.txt", b"written")]))
    inside = await runtime.exec("sbx1", "id -u; cat ~/f.txt; echo; grep Seccomp: /proc/self/status; ls /sys 2>&1 | head -1")
    agent = runtime._boxes["sbx1"].agent_pid
    host_uid = [line.split()[1] for line in open(f"/proc/{agent}/status") if line.startswith("Uid:")][0]
    report = runtime.report("sbx1")
    await runtime.stop("sbx1")
    await runtime.shutdown()
    print(json.dumps({"warnings": warnings, "inside": inside.stdout, "report": report, "host_uid": host_uid}))

asyncio.run(main())
"""


def _usable() -> str | None:
    if os.geteuid() != 0:
        return "the test switches to the user nobody, which needs root"
    if not bwrap_usable():
        return "bubblewrap cannot run here"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is not installed"
    return None


@pytest.mark.skipif(_usable() is not None, reason=str(_usable()))
def test_unprivileged_server_reports_what_it_cannot_give(tmp_path: Path) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="pocketenv-nobody-", dir="/tmp"))
    try:
        os.chown(data_dir, NOBODY, NOBODY)
        import pyseccomp

        paths = [str(Path(pocketenv_tui.__file__).parent.parent), str(Path(pyseccomp.__file__).parent)]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": ":".join(paths), "HOME": str(data_dir)}
        result = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--",
             SYSTEM_PYTHON, "-c", SCRIPT, str(data_dir / "data")],
            capture_output=True, text=True, timeout=120, env=env, cwd="/",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    assert len(outcome["inside"].splitlines()) == 4, outcome
    uid, content, seccomp, sys_line = outcome["inside"].splitlines()
    assert uid == "0"  # root inside its user namespace...
    assert outcome["host_uid"] == str(NOBODY)  # ...which is the server's uid outside
    assert content == "written"
    report = outcome["report"]
    missing = {line.split(":")[0]: line for line in report["missingProtections"]}
    assert "hostUid" in missing and "not root" in missing["hostUid"]
    assert "diskQuota" in missing
    assert {"namespaces", "network"} <= set(report["protections"])
    if "seccomp" in report["protections"]:
        assert seccomp.split() == ["Seccomp:", "2"]
    assert "No such file" in sys_line
