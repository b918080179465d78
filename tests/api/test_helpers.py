"""Name resolution, waiting for RUNNING, paging, terminal URLs."""

from __future__ import annotations

import httpx
import pytest

from pocketenv_tui.api import PocketenvClient, PocketenvError, PocketenvTimeoutError
from pocketenv_tui.api.pagination import iterate_pages
from tests.api.mock_api import MockApi, fail, ok

URI = "at://did:plc:alice/io.pocketenv.sandbox/3kabc"


def sandbox(status: str = "RUNNING", **extra) -> dict:
    return {"id": "sbx_42", "name": "calm-otter-a1b2", "uri": URI, "status": status, **extra}


async def test_name_is_resolved_once_then_the_id_is_sent(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", ok({"sandbox": sandbox()}))
    api.on("sandbox.stopSandbox", ok({}))
    api.on("sandbox.startSandbox", ok({}))
    await client.sandboxes.stop("calm-otter-a1b2")
    await client.sandboxes.start("calm-otter-a1b2")
    await client.sandboxes.stop(URI)  # the URI was learnt from the same answer
    assert [(s.nsid, s.query) for s in api.seen] == [
        ("io.pocketenv.sandbox.getSandbox", {"id": "calm-otter-a1b2"}),
        ("io.pocketenv.sandbox.stopSandbox", {"id": "sbx_42"}),
        ("io.pocketenv.sandbox.startSandbox", {"id": "sbx_42"}),
        ("io.pocketenv.sandbox.stopSandbox", {"id": "sbx_42"}),
    ]


async def test_ids_pass_through_without_lookup(api: MockApi, client) -> None:
    assert await client.sandboxes.resolve_id("sbx_xyz") == "sbx_xyz"
    assert api.seen == []


async def test_unknown_name(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", ok({}))
    with pytest.raises(PocketenvError) as caught:
        await client.sandboxes.exec("nope", "true")
    assert (caught.value.status, caught.value.error) == (404, "SandboxNotFound")
    assert caught.value.message == "no sandbox named 'nope'"
    assert len(api.seen) == 1  # exec was never sent


async def test_blank_identifier(client) -> None:
    with pytest.raises(PocketenvError, match="required"):
        await client.sandboxes.resolve_id("  ")


async def test_delete_forgets_the_name(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", ok({"sandbox": sandbox()}))
    api.on("sandbox.deleteSandbox", ok({}))
    await client.sandboxes.delete("calm-otter-a1b2")
    api.on("sandbox.getSandbox", ok({}))
    with pytest.raises(PocketenvError, match="no sandbox named"):
        await client.sandboxes.resolve_id("calm-otter-a1b2")


async def test_names_resolve_for_other_namespaces(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", ok({"sandbox": sandbox()}))
    api.on("variable.addVariable", ok())
    api.on("service.getServices", ok({"services": []}))
    await client.variables.add("calm-otter-a1b2", "A", "1")
    assert await client.services.list("calm-otter-a1b2") == []
    assert api.seen[1].body == {"variable": {"sandboxId": "sbx_42", "name": "A", "value": "1"}}
    assert api.seen[2].query == {"sandboxId": "sbx_42"}


async def test_get_missing_sandbox_is_none(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", ok({"sandbox": None}))
    assert await client.sandboxes.get("whatever") is None


async def test_wait_until_running(api: MockApi, client) -> None:
    api.on(
        "sandbox.getSandbox",
        ok({"sandbox": sandbox("INITIALIZING")}),
        ok(sandbox("STARTING_UP")),  # bare and with an unknown status: still waiting
        ok({"sandbox": sandbox("RUNNING", startedAt="2026-04-15T10:00:00Z")}),
    )
    ready = await client.sandboxes.wait_until_running("sbx_42", timeout=10, interval=0.001)
    assert ready.is_running and ready.started_at is not None
    assert len(api.seen) == 3


async def test_wait_until_running_times_out(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", ok({"sandbox": sandbox("INITIALIZING")}))
    with pytest.raises(PocketenvTimeoutError) as caught:
        await client.sandboxes.wait_until_running("sbx_42", timeout=0.05, interval=0.01)
    assert "still INITIALIZING after 0.05 s" in str(caught.value)
    assert len(api.seen) >= 2


async def test_wait_until_running_sandbox_vanishes(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", ok({"sandbox": sandbox("INITIALIZING")}), ok({}))
    with pytest.raises(PocketenvError) as caught:
        await client.sandboxes.wait_until_running("sbx_42", timeout=5, interval=0.001)
    assert caught.value.status == 404


def _page_answer(
    request: httpx.Request, rows: list[dict], *, with_total: bool = True
) -> httpx.Response:
    limit = int(request.url.params["limit"])
    offset = int(request.url.params["offset"])
    body: dict = {"sandboxes": rows[offset : offset + limit]}
    if with_total:
        body["total"] = len(rows)
    return httpx.Response(200, json=body)


ROWS = [{"id": f"sbx_{i}", "name": f"s{i}", "status": "STOPPED"} for i in range(7)]


async def test_iter_sandboxes_uses_own_did_and_walks_pages(api: MockApi, client) -> None:
    api.on("actor.getProfile", ok({"did": "did:plc:me", "handle": "me.test"}))
    api.on("actor.getActorSandboxes", lambda request: _page_answer(request, ROWS))
    names = [s.name async for s in client.actor.iter_sandboxes(page_size=3)]
    assert names == [f"s{i}" for i in range(7)]
    # The short page at offset 6 ends the walk.
    assert [s.query.get("offset") for s in api.seen] == [None, "0", "3", "6"]
    assert all(s.query.get("did") == "did:plc:me" for s in api.seen[1:])
    # The DID is asked for once per client.
    await client.actor.get_sandboxes()
    assert sum(s.nsid.endswith("getProfile") for s in api.seen) == 1


async def test_iter_catalog_without_total(api: MockApi, client) -> None:
    api.on(
        "sandbox.getSandboxes", lambda request: _page_answer(request, ROWS[:6], with_total=False)
    )
    names = [s.name async for s in client.sandboxes.iter_catalog(page_size=3)]
    assert names == [f"s{i}" for i in range(6)]
    assert [s.query["offset"] for s in api.seen] == ["0", "3", "6"]


async def test_iterate_stops_when_the_server_ignores_offset() -> None:
    calls = 0

    async def same_page(limit: int, offset: int):
        nonlocal calls
        calls += 1
        return [1, 2], None

    assert [item async for item in iterate_pages(same_page, page_size=2)] == [1, 2]
    assert calls == 2


async def test_records_iterate(api: MockApi, client) -> None:
    rows = [{"id": f"var_{i}", "name": f"V{i}", "value": str(i)} for i in range(5)]
    api.on(
        "variable.getVariables",
        lambda r: httpx.Response(
            200, json={"variables": rows[int(r.url.params["offset"]) :][:2], "total": 5}
        ),
    )
    values = [v.value async for v in client.variables.iterate(page_size=2)]
    assert values == ["0", "1", "2", "3", "4"]


async def test_own_did_unknown(api: MockApi, client) -> None:
    api.on("actor.getProfile", ok({}))
    with pytest.raises(PocketenvError) as caught:
        await client.actor.get_sandboxes()
    assert caught.value.status == 401


async def test_missing_keys_are_none(api: MockApi, client) -> None:
    api.on("sandbox.getSshKeys", fail(404, "XRPCNotSupported", "Not found"))
    api.on("sandbox.getTailscaleAuthKey", fail(404, "XRPCNotSupported", "Not found"))
    assert await client.sandboxes.get_ssh_keys("sbx_1") is None
    assert await client.sandboxes.get_tailscale_auth_key("sbx_1") is None


async def test_terminal_urls(keypair) -> None:
    local = PocketenvClient("http://127.0.0.1:8789", "tok en", keypair[0])
    assert local.terminal_url("sbx_1", dialect="pty", session="k1") == (
        "ws://127.0.0.1:8789/pty/sbx_1/ws?token=tok+en&sessionId=k1"
    )
    assert (
        local.terminal_url("sbx_1") == "ws://127.0.0.1:8789/v1/sandboxes/sbx_1/ws/terminal?t=tok+en"
    )
    hosted = PocketenvClient(token="user", public_key=keypair[0])
    assert (
        hosted.terminal_url("sbx_1", dialect="pty")
        == "wss://api.pocketenv.io/pty/sbx_1/ws?token=user"
    )
    assert hosted.terminal_url("sbx_1", token="term", session="s", base_sandbox="claude-code") == (
        "wss://claudecode.pocketenv.io/v1/sandboxes/sbx_1/ws/terminal?t=term&session=s"
    )
    with pytest.raises(ValueError):
        local.terminal_url("sbx_1", dialect="ssh")  # type: ignore[arg-type]
    await local.aclose()
    await hosted.aclose()


def _jwt(claims: dict) -> str:
    import base64
    import json

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_did_from_token_reads_only_a_did_claim() -> None:
    from pocketenv_tui.api.tokens import did_from_token

    assert did_from_token(_jwt({"did": "did:plc:abc", "exp": 1, "iat": 0})) == "did:plc:abc"
    assert did_from_token(_jwt({"sub": "did:plc:abc"})) is None
    assert did_from_token(_jwt({"did": "alice.test"})) is None
    assert did_from_token("not-a-jwt") is None
    assert did_from_token("a.%%%.c") is None
    assert did_from_token(None) is None


async def test_iter_sandboxes_takes_the_did_from_the_token(api: MockApi, keypair) -> None:
    api.on("actor.getActorSandboxes", lambda request: _page_answer(request, ROWS[:2]))
    async with api.client(keypair[0], token=_jwt({"did": "did:plc:tok"})) as client:
        names = [s.name async for s in client.actor.iter_sandboxes()]
    assert names == ["s0", "s1"]
    # No getProfile round trip: the first request already lists the sandboxes.
    assert [s.nsid.rsplit(".", 1)[-1] for s in api.seen] == ["getActorSandboxes"]
    assert api.seen[0].query["did"] == "did:plc:tok"


async def test_plain_http_clients_skip_tls_and_refuse_https(keypair) -> None:
    local = PocketenvClient(api_url="http://127.0.0.1:9", token="t", public_key=keypair[0])
    hosted = PocketenvClient(token="t", public_key=keypair[0])
    try:
        assert local._xrpc.plain_http_only and not hosted._xrpc.plain_http_only
        with pytest.raises(PocketenvError) as caught:
            await local._xrpc.send("GET", "https://example.invalid/")
        assert "TLS" in caught.value.message
    finally:
        await local.aclose()
        await hosted.aclose()
