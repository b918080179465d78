"""``client.monitoring``: usage figures and the event log, against the real local backend, and
None from a real server without the methods (the hosted API's 404 and 501)."""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pocketenv_tui.api import PocketenvClient, PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.monitoring import EventPage, SandboxEvent, SandboxUsage
from tests.backend_proxy import BackendProxy, xrpc_method

pytestmark = pytest.mark.timeout(180)
MONITORING = {"sandbox.getSandboxUsage", "sandbox.getSandboxEvents"}


@pytest.fixture
async def local_client(local_backend) -> AsyncIterator[PocketenvClient]:
    async with PocketenvClient(local_backend.url, local_backend.token, local_backend.public_key) as client:
        yield client


@pytest.fixture
async def sandbox(local_client: PocketenvClient) -> AsyncIterator[Sandbox]:
    created = await local_client.sandboxes.create("shell", name=f"mon-{uuid.uuid4().hex[:8]}")
    try:
        yield await local_client.sandboxes.wait_until_running(created.id, timeout=60, interval=0.2)
    finally:
        await local_client.sandboxes.delete(created.id)


async def test_usage_of_a_running_sandbox(local_client: PocketenvClient, sandbox: Sandbox) -> None:
    usage = await local_client.monitoring.usage(sandbox.name)  # a name is resolved
    assert usage is not None and [u.sandbox_id for u in usage] == [sandbox.id]
    [mine] = usage
    assert isinstance(mine.sampled_at, datetime)
    if "memoryLimit" in (sandbox.protections or []):
        assert mine.memory_limit_bytes == 2 * 1024**3 and mine.memory_bytes
    everyone = await local_client.monitoring.usage()
    assert everyone is not None and sandbox.id in {u.sandbox_id for u in everyone}
    with pytest.raises(PocketenvError) as caught:
        await local_client.monitoring.usage("sbx_doesnotexist000000")
    assert caught.value.status == 404 and caught.value.error == "SandboxNotFound"


async def test_events_page_by_page(local_client: PocketenvClient, sandbox: Sandbox) -> None:
    page = await local_client.monitoring.events(sandbox.id)
    assert isinstance(page, EventPage)
    assert [e.kind for e in page.events] == ["started", "created"] and page.cursor is None
    assert all(e.sandbox_id == sandbox.id and e.sandbox_name == sandbox.name for e in page.events)

    first = await local_client.monitoring.events(sandbox.id, limit=1)
    assert first is not None and first.cursor == first.events[0].id
    second = await local_client.monitoring.events(sandbox.id, limit=1, before=first.cursor)
    assert second is not None and [e.kind for e in second.events] == ["created"]
    everyone = await local_client.monitoring.events(limit=500)  # clamped to the server's 200
    assert everyone is not None and len(everyone.events) <= 200


def refusing(status: int, error: str) -> Callable[[Request], Response | None]:
    """A proxy hook answering the monitoring methods as a server without them does."""

    def before(request: Request) -> Response | None:
        if xrpc_method(request) in MONITORING:
            return JSONResponse({"error": error, "message": "Not here"}, status_code=status)
        return None

    return before


@pytest.fixture(params=[(404, "XRPCNotSupported"), (404, "MethodNotImplemented"), (501, "MethodNotImplemented")])
def hosted_like(request: pytest.FixtureRequest, local_backend) -> Iterator[BackendProxy]:
    with BackendProxy(local_backend.url, before=refusing(*request.param)) as proxy:
        yield proxy


async def test_a_server_without_the_methods_gives_none(hosted_like: BackendProxy, local_backend) -> None:
    async with PocketenvClient(hosted_like.url, local_backend.token, local_backend.public_key) as client:
        assert await client.monitoring.usage() is None
        assert await client.monitoring.events() is None
        assert await client.actor.get_profile() is not None  # the rest goes through


async def test_other_errors_still_raise(local_backend) -> None:
    with BackendProxy(local_backend.url, before=refusing(500, "InternalServerError")) as proxy:
        async with PocketenvClient(proxy.url, local_backend.token, local_backend.public_key) as client:
            for call in (client.monitoring.usage(), client.monitoring.events()):
                with pytest.raises(PocketenvError) as caught:
                    await call
                assert caught.value.status == 500


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"sandboxId": "sbx_1", "cpuPercent": "12.5", "cpuLimitPercent": 200, "memoryBytes": 1.5e9,
             "memoryLimitBytes": "INFINITY", "diskBytes": -4, "pids": True, "pidsLimit": 1e999,
             "sampledAt": "2026-04-15T09:30:00.000Z"},
            ("sbx_1", 12.5, 200.0, 1_500_000_000, None, None, None, None, True),
        ),
        ({"sandboxId": "sbx_2", "cpuPercent": math.nan, "sampledAt": "yesterday"},
         ("sbx_2", None, None, None, None, None, None, None, False)),
        ({"cpuPercent": 1}, None),
        (["sbx_3"], None),
    ],
)
def test_lenient_usage_records(data: object, expected: tuple | None) -> None:
    usage = SandboxUsage.from_json(data)
    if expected is None:
        assert usage is None
        return
    assert usage is not None
    got = (usage.sandbox_id, usage.cpu_percent, usage.cpu_limit_percent, usage.memory_bytes,
           usage.memory_limit_bytes, usage.disk_bytes, usage.pids, usage.pids_limit, usage.sampled_at is not None)
    assert got == expected


def test_lenient_event_records() -> None:
    page = EventPage.from_json({
        "events": [
            {"id": "evt_000000000002", "sandboxId": "sbx_1", "sandboxName": "a", "kind": "oom_kill",
             "message": "1 process(es) killed", "data": {"count": 1}, "createdAt": "2026-04-15T09:30:00.000Z"},
            {"id": "evt_000000000001", "kind": "something_new", "data": ["not", "an", "object"]},
            {"kind": "no id: dropped"},
            "not an object",
        ],
        "cursor": 17,
    })
    assert [e.id for e in page.events] == ["evt_000000000002", "evt_000000000001"]
    assert page.events[0].data == {"count": 1} and page.events[0].created_at is not None
    assert page.events[1] == SandboxEvent(id="evt_000000000001", kind="something_new")
    assert page.events[1].data == {}
    assert page.cursor == "17"
    assert EventPage.from_json({}) == EventPage(events=[], cursor=None)
    assert EventPage.from_json(None).events == []
