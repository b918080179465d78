"""``getSandboxEvents``: the event log of the local backend, against a real server.

One test per way an event is made (the lifecycle, a failed clone, services, exec time
limits, shells, limits hit, changes waiting for the next start), then paging and filters,
then the store's bounds on a real SQLite file.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from pocketenv_tui.local.state import events as event_log
from pocketenv_tui.local.state.store import Store
from tests.local.helpers import Api
from tests.local.test_runtime_helpers import eventually

EVENT_KEYS = {"id", "sandboxId", "sandboxName", "kind", "message", "data", "createdAt"}
SMALL = ["--default-pids", "64", "--default-memory", "256M"]


async def events_page(api: Api, **params: Any) -> dict[str, Any]:
    return await api.ok(await api.get("sandbox.getSandboxEvents", **params))


async def kinds_of(api: Api, sandbox_id: str) -> list[str]:
    return [e["kind"] for e in (await events_page(api, id=sandbox_id, limit=200))["events"]]


async def wait_event(api: Api, sandbox_id: str, kind: str, count: int = 1, within: float = 30) -> list[dict]:
    """The sandbox's events of ``kind`` once there are at least ``count``, newest first."""

    async def found() -> list[dict] | None:
        events = (await events_page(api, id=sandbox_id, limit=200))["events"]
        matching = [e for e in events if e["kind"] == kind]
        return matching if len(matching) >= count else None

    return await eventually(found, within=within, step=0.2)


async def test_lifecycle_events_outlive_the_sandbox(api: Api) -> None:
    created = await api.create_running()
    sid = created["id"]
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))  # already stopped: no second event
    await api.delete(sid)

    page = await events_page(api, id=sid)
    assert [e["kind"] for e in page["events"]] == ["deleted", "stopped", "started", "created"]
    assert page["cursor"] is None
    for event in page["events"]:
        assert set(event) == EVENT_KEYS
        assert re.fullmatch(r"evt_\d{12}", event["id"])
        assert (event["sandboxId"], event["sandboxName"]) == (sid, created["name"])
        assert event["message"].endswith(".") and event["createdAt"].endswith("Z")
    assert [e["id"] for e in page["events"]] == sorted((e["id"] for e in page["events"]), reverse=True)
    assert page["events"][1]["data"] == {"reason": "request"}
    # The sandbox is gone, its id still finds its events; its name does not.
    missing = await api.get("sandbox.getSandboxEvents", id=created["name"])
    assert missing.status_code == 404 and missing.json()["error"] == "SandboxNotFound"


async def test_a_failed_clone_is_an_event(api: Api) -> None:
    created = await api.create_running(repo="file:///nonexistent.git")
    try:
        [event] = await wait_event(api, created["id"], "repo_clone_failed")
        assert event["data"]["repo"] == "file:///nonexistent.git"
        assert "file:///nonexistent.git" in event["message"]
    finally:
        await api.delete(created["id"])


async def test_services_starting_and_exiting(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    body = {"service": {"name": "oneshot", "command": "echo bye; exit 3"}}
    await api.ok(await api.post("service.addService", body, sandboxId=sid))
    [exited] = await wait_event(api, sid, "service_exited")
    assert exited["data"]["name"] == "oneshot" and exited["data"]["exitCode"] == 3
    assert "code 3" in exited["message"]
    [started] = await wait_event(api, sid, "service_started")
    assert started["data"] == {"serviceId": exited["data"]["serviceId"], "name": "oneshot"}
    assert started["id"] < exited["id"]

    # A service stopped on request is no exit event.
    body = {"service": {"name": "sleeper", "command": "sleep 1000"}}
    await api.ok(await api.post("service.addService", body, sandboxId=sid))
    services = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"]
    sleeper = next(s for s in services if s["name"] == "sleeper")
    await api.ok(await api.post("service.stopService", serviceId=sleeper["id"]))
    await wait_event(api, sid, "service_started", count=2)
    assert (await kinds_of(api, sid)).count("service_exited") == 1


async def test_exec_time_limits_are_events(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    result = await api.exec(sid, "sleep 5", timeout=0.5)
    assert result["exitCode"] == 124
    [event] = await wait_event(api, sid, "exec_timed_out")
    assert event["data"] == {"command": "sleep 5", "timeLimit": 0.5}

    streamed = await api.client.post(
        "/xrpc/io.pocketenv.sandbox.execStream", params={"id": sid}, json={"command": "sleep 6", "timeout": 0.5}
    )
    assert json.loads(streamed.text.splitlines()[-1])["timedOut"] is True
    newest, _ = await wait_event(api, sid, "exec_timed_out", count=2)
    assert newest["data"]["command"] == "sleep 6"

    long_command = "sleep 5 # " + "x" * 500
    await api.exec(sid, long_command, timeout=0.5)
    newest = (await wait_event(api, sid, "exec_timed_out", count=3))[0]
    assert newest["data"]["command"] == long_command[:200]


async def test_shells_opened_and_closed(api: Api, sandbox: dict, local_backend: Any) -> None:
    sid = sandbox["id"]
    ws_url = local_backend.url.replace("http://", "ws://", 1)
    url = f"{ws_url}/pty/{sid}/ws?token={local_backend.token}&sessionId=events-key"
    async with connect(url, open_timeout=20) as ws:
        [opened] = await wait_event(api, sid, "shell_opened")
        assert opened["data"] == {"key": "events-key"}
        await ws.send("exit\n")
        [closed] = await wait_event(api, sid, "shell_closed")
    assert closed["data"]["key"] == "events-key"
    assert opened["id"] < closed["id"]


async def test_changes_that_wait_for_the_next_start(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    await api.ok(await api.post("volume.addVolume", {"volume": {"sandboxId": sid, "name": "cache", "path": "/cache"}}))
    [event] = await wait_event(api, sid, "applies_at_next_start")
    assert event["data"]["what"] == "volume" and event["data"]["path"] == "/cache"
    assert "next start" in event["message"]
    # A variable takes effect at once: no such event.
    await api.ok(await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": "NOW", "value": "1"}}))
    assert (await kinds_of(api, sid)).count("applies_at_next_start") == 1


@pytest.fixture
async def small(make_backend) -> AsyncIterator[tuple[Api, dict]]:
    """A server of its own with small limits, so that hitting them is cheap."""
    backend = make_backend(args=SMALL)
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, timeout=120) as client:
        api = Api(client, backend.public_key)
        yield api, await api.create_running()


async def test_oom_kills_and_refused_forks_are_events(small: tuple[Api, dict]) -> None:
    api, sandbox = small
    sid = sandbox["id"]
    if not {"memoryLimit", "pidsLimit"} & set(sandbox.get("protections", [])):
        pytest.skip(f"this machine limits neither memory nor processes: {sandbox.get('missingProtections')}")
    if "memoryLimit" in sandbox.get("protections", []):
        result = await api.exec(sid, "python3 -c 'b = bytearray(600 * 2**20)'; echo code=$?")
        assert "code=137" in result["stdout"], result
        [event] = await wait_event(api, sid, "oom_kill")
        assert event["data"]["count"] >= 1 and "256 MiB" in event["message"]
    if "pidsLimit" in sandbox.get("protections", []):
        forks = (
            "import os, time\n"
            "pids = []\n"
            "try:\n"
            "    for _ in range(200):\n"
            "        pid = os.fork()\n"
            "        if pid == 0:\n"
            "            time.sleep(30); os._exit(0)\n"
            "        pids.append(pid)\n"
            "except OSError:\n"
            "    print('refused')\n"
            "for pid in pids: os.kill(pid, 9)\n"
        )
        result = await api.exec(sid, f"python3 -c \"{forks}\"", timeout=60)
        assert "refused" in result["stdout"], result
        [event] = await wait_event(api, sid, "pids_limit")
        assert event["data"]["count"] >= 1 and "64 processes" in event["message"]


async def test_a_server_stop_is_a_stop_of_its_sandboxes(make_backend, tmp_path: Path) -> None:
    backend = make_backend(tmp_path / "data")
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, timeout=120) as client:
        sid = (await Api(client, backend.public_key).create_running())["id"]
    backend.stop()
    backend = make_backend(tmp_path / "data")
    async with httpx.AsyncClient(base_url=backend.url, headers=backend.headers, timeout=120) as client:
        api = Api(client, backend.public_key)
        page = await events_page(api, id=sid)
        assert [e["kind"] for e in page["events"]] == ["stopped", "started", "created"]
        assert page["events"][0]["data"] == {"reason": "server"}
        await api.delete(sid)


async def test_paging_newest_first_across_sandboxes(api: Api) -> None:
    first = await api.create_running()
    second = await api.create_running()
    try:
        await api.exec(first["id"], "sleep 2", timeout=0.2)
        await wait_event(api, first["id"], "exec_timed_out")
        mine = {first["id"], second["id"]}

        seen: list[dict] = []
        cursor = None
        while True:  # every page of the whole log, three at a time, down to our first event
            page = await events_page(api, limit=3, **({"before": cursor} if cursor else {}))
            assert len(page["events"]) <= 3
            seen += page["events"]
            cursor = page["cursor"]
            if cursor is None or any(e["sandboxId"] == first["id"] and e["kind"] == "created" for e in page["events"]):
                break
        ids = [e["id"] for e in seen]
        assert ids == sorted(set(ids), reverse=True)  # newest first, nothing twice
        ours = [e for e in seen if e["sandboxId"] in mine]
        assert {e["sandboxId"] for e in ours} == mine
        assert [e["kind"] for e in ours if e["sandboxId"] == first["id"]] == ["exec_timed_out", "started", "created"]

        one = await events_page(api, id=first["name"], limit=200)
        assert {e["sandboxId"] for e in one["events"]} == {first["id"]}
        assert one["events"] == [e for e in ours if e["sandboxId"] == first["id"]]
        paged, cursor = [], None
        while True:
            page = await events_page(api, id=first["id"], limit=1, **({"before": cursor} if cursor else {}))
            paged += page["events"]
            cursor = page["cursor"]
            if cursor is None:
                break
        assert paged == one["events"]
    finally:
        await api.delete(first["id"])
        await api.delete(second["id"])


async def test_bad_parameters(api: Api) -> None:
    for params in ({"limit": 0}, {"limit": 201}, {"before": "not-an-event"}):
        answer = await api.get("sandbox.getSandboxEvents", **params)
        assert answer.status_code == 400, (params, answer.text)
    unknown = await api.get("sandbox.getSandboxEvents", id="sbx_doesnotexist000000")
    assert unknown.status_code == 404 and unknown.json()["error"] == "SandboxNotFound"
    default = await events_page(api)
    assert len(default["events"]) <= 50


def test_the_log_is_bounded_per_sandbox_and_per_owner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "state.db")
    try:
        for n in range(event_log.PER_SANDBOX + 5):
            event_log.add_event(store, "sbx_a", "started", f"number {n}", owner_did="did:a", sandbox_name="a")
        events, cursor = event_log.list_events(store, "did:a", sandbox_id="sbx_a", limit=200)
        assert events[0]["message"] == f"number {event_log.PER_SANDBOX + 4}" and cursor is not None
        kept = store._all("SELECT message FROM events WHERE sandbox_id = 'sbx_a' ORDER BY seq", ())
        assert len(kept) == event_log.PER_SANDBOX and kept[0]["message"] == "number 5"

        # A smaller owner bound, so the test need not write 20,000 rows: the oldest go first,
        # whatever sandbox they belong to, and other owners keep theirs.
        monkeypatch.setattr(event_log, "PER_OWNER", 10)
        event_log.add_event(store, "sbx_c", "created", "other owner", owner_did="did:c", sandbox_name="c")
        for n in range(12):
            event_log.add_event(store, f"sbx_b{n % 3}", "created", f"b {n}", owner_did="did:a", sandbox_name="b")
        events, cursor = event_log.list_events(store, "did:a", limit=200)
        assert [e["message"] for e in events] == [f"b {n}" for n in range(11, 1, -1)] and cursor is None
        assert [e["message"] for e in event_log.list_events(store, "did:c")[0]] == ["other owner"]
        assert event_log.list_events(store, "did:c", sandbox_id="sbx_b0")[0] == []
    finally:
        store.close()


# -- events made from what the sandbox says, and by the sandbox ending -------------------------------

HOSTILE_STDERR = r"fatal: \033]52;c;cm0gLXJmIH4=\007\033[2J\342\200\256reversed\000 end"


async def test_what_a_sandbox_prints_reaches_an_event_as_printable_text_only(api: Api) -> None:
    created = await api.create_running(repo="file:///nonexistent.git")
    sid = created["id"]
    try:
        await wait_event(api, sid, "repo_clone_failed")
        # The system directories are the host's, read-only; the home is the sandbox's. Its
        # git config sends the next start's clone through a command of its own (the ext
        # transport), whose line is the clone's last line of stderr, the one the event quotes.
        setup = "\n".join([
            'cat > "$HOME/say-evil" <<\'END\'',
            "#!/bin/sh",
            f"printf '{HOSTILE_STDERR}\\n' >&2",
            "kill -9 0  # git with it, before it adds a line of its own",
            "END",
            'chmod +x "$HOME/say-evil"',
            "git config --global protocol.ext.allow always",
            'git config --global url."ext::$HOME/say-evil".insteadOf file:///nonexistent.git',
            'test -x "$HOME/say-evil" && git config --global --get-regexp "^url"',
        ])
        placed = await api.exec(sid, setup)
        assert placed["exitCode"] == 0 and "say-evil" in placed["stdout"], placed
        await api.ok(await api.post("sandbox.stopSandbox", id=sid))
        await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
        await api.wait_status(sid, "RUNNING")
        newest, _ = await wait_event(api, sid, "repo_clone_failed", count=2)
        record = (await api.ok(await api.get("sandbox.getSandbox", id=sid)))["sandbox"]
    finally:
        await api.delete(sid)
    # The event, its data and the record's warnings (which the sandbox screen shows).
    [warning] = [w for w in record.get("warnings") or [] if "repo not reachable" in w]
    for text in (newest["message"], newest["data"]["reason"], warning):
        assert "reversed" in text and "52;c;" in text, text  # what it said is kept, visibly
        assert text.isprintable(), repr(text)  # no ESC, BEL, NUL or bidi override survives


def sandbox_processes(hostname: str) -> list[int]:
    """Host pids of the bubblewrap processes that hold the sandbox called ``hostname``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if argv and argv[0].endswith(b"bwrap") and b"--hostname" in argv:
            if argv[argv.index(b"--hostname") + 1] == hostname.encode():
                found.append(int(entry.name))
    return found


async def test_a_sandbox_killed_from_outside_stops_by_itself_and_says_why(api: Api) -> None:
    created = await api.create_running()
    sid = created["id"]
    try:
        pids = sandbox_processes(created["name"])
        if not pids:
            pytest.skip(f"no bubblewrap process holds {created['name']} (isolation: {created.get('isolation')})")
        for pid in pids:
            os.kill(pid, signal.SIGKILL)  # as the OOM killer or an operator would
        [event] = await wait_event(api, sid, "stopped")
        record = await api.wait_status(sid, "STOPPED")
        assert event["message"].startswith("The sandbox stopped by itself: ")
        assert event["data"]["reason"] and event["data"]["reason"] != "request"
        assert any("the sandbox stopped" in w for w in record.get("warnings") or []), record
        # It starts again as usual.
        await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
        await api.wait_status(sid, "RUNNING")
        assert (await kinds_of(api, sid))[:3] == ["started", "stopped", "started"]
    finally:
        await api.delete(sid)
