"""A machine without one facility (here slirp4netns, taken off the server's PATH): the record
lists exactly what is off, ``serve`` warns once, and ``serve --strict`` refuses to start."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pocketenv_tui.local.sandbox.facilities import bwrap_usable
from tests.local.helpers import Api

pytestmark = pytest.mark.skipif(not bwrap_usable(), reason="bubblewrap cannot run here")


@pytest.fixture
def path_without_slirp(tmp_path: Path) -> Iterator[str]:
    """A PATH with every program of this machine's PATH except slirp4netns."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = bin_dir / entry.name
            if entry.name != "slirp4netns" and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    yield str(bin_dir)


async def test_missing_slirp_is_reported_and_the_sandbox_runs_without_network(make_backend, path_without_slirp) -> None:
    backend = make_backend(env={"PATH": path_without_slirp})
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, timeout=60) as client:
        api = Api(client, backend.public_key)
        sandbox = await api.create_running()
        assert "outboundNetwork" not in sandbox["protections"]
        assert any(line.startswith("outboundNetwork: slirp4netns is not installed") for line in sandbox["missingProtections"]), sandbox["missingProtections"]
        assert {"namespaces", "network"} <= set(sandbox["protections"])
        links = await api.exec(sandbox["id"], "ls /sys/class/net 2>/dev/null; ip -o link | cut -d: -f2")
        assert "tap0" not in links["stdout"] and "lo" in links["stdout"]
    log = backend.log_path.read_text()
    assert log.count("cannot give sandboxes every protection") == 1
    assert "outboundNetwork: slirp4netns is not installed" in log


async def test_strict_refuses_to_start_such_sandboxes(make_backend, path_without_slirp) -> None:
    backend = make_backend(env={"PATH": path_without_slirp}, args=["--strict"])
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, timeout=60) as client:
        api = Api(client, backend.public_key)
        created = await api.ok(await api.post("sandbox.createSandbox", {"base": "shell"}))
        stopped = await api.wait_status(created["id"], "STOPPED")
        assert any("refused by --strict" in w and "outboundNetwork" in w for w in stopped.get("warnings", [])), stopped
        started = await api.post("sandbox.startSandbox", {}, id=created["id"])
        assert started.status_code == 502
        assert "refused by --strict" in started.json()["message"]
        # Both refusals (the boot after create, then the start) are in the event log, and no start is.
        events = (await api.ok(await api.get("sandbox.getSandboxEvents", id=created["id"])))["events"]
        assert [e["kind"] for e in events] == ["start_failed", "start_failed", "created"]
        for event in events[:2]:
            assert event["message"].startswith("The sandbox failed to start: refused by --strict")
            assert "outboundNetwork" in event["data"]["reason"]
    assert "will be refused (--strict)" in backend.log_path.read_text()
