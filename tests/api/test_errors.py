"""Every failure reaches the caller as a PocketenvError with a readable message."""

from __future__ import annotations

import httpx
import pytest

from pocketenv_tui.api import (
    PocketenvClient,
    PocketenvConnectionError,
    PocketenvError,
    PocketenvTimeoutError,
)
from pocketenv_tui.api.errors import parse_retry_after
from tests.api.mock_api import MockApi, fail, ok


async def test_xrpc_error_body(api: MockApi, client) -> None:
    api.on("sandbox.stopSandbox", fail(404, "SandboxNotFound", "Sandbox not found"))
    with pytest.raises(PocketenvError) as caught:
        await client.sandboxes.stop("sbx_gone")
    err = caught.value
    assert (err.status, err.error, err.message) == (404, "SandboxNotFound", "Sandbox not found")
    assert err.not_found
    assert err.nsid == "io.pocketenv.sandbox.stopSandbox"
    assert str(err) == "Sandbox not found (HTTP 404 SandboxNotFound)"


async def test_validation_error(api: MockApi, client) -> None:
    api.on(
        "sandbox.exposePort", fail(400, "InvalidRequest", "Input/port can not be less than 1025")
    )
    with pytest.raises(PocketenvError) as caught:
        await client.sandboxes.expose_port("sbx_1", 80)
    assert caught.value.status == 400
    assert "less than 1025" in str(caught.value)


async def test_hidden_500(api: MockApi, client) -> None:
    api.on("sandbox.exec", fail(500, "InternalServerError", "Internal Server Error"))
    with pytest.raises(PocketenvError) as caught:
        await client.sandboxes.exec("sbx_1", "true")
    assert (caught.value.status, caught.value.error) == (500, "InternalServerError")


async def test_rate_limited_429_with_retry_after(api: MockApi, client) -> None:
    api.on(
        "actor.getActorSandboxes",
        fail(429, "Too many requests, please try again later.", **{"Retry-After": "30"}),
    )
    with pytest.raises(PocketenvError) as caught:
        await client.actor.get_sandboxes("did:plc:a")
    err = caught.value
    assert err.status == 429
    assert err.retry_after == 30
    assert err.error == "RateLimitExceeded"
    assert str(err) == (
        "Too many requests, please try again later; retry after 30 s (HTTP 429 RateLimitExceeded)"
    )


async def test_429_without_body(api: MockApi, client) -> None:
    api.on("actor.getTerminalToken", httpx.Response(429))
    with pytest.raises(PocketenvError) as caught:
        await client.actor.get_terminal_token()
    assert caught.value.retry_after is None
    assert "too many requests" in caught.value.message


def test_retry_after_forms() -> None:
    assert parse_retry_after("30") == 30
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # a date in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_unhandled_nsid_gets_express_html_404(api: MockApi, client) -> None:
    # The hosted server has no getServiceLogs: Express answers with an HTML page.
    with pytest.raises(PocketenvError) as caught:
        await client.services.logs("rec_1")
    err = caught.value
    assert (err.status, err.error) == (404, "XRPCNotSupported")
    assert err.message == "the server does not provide service.getServiceLogs (not found)"
    assert "<" not in str(err)


async def test_unauthorized_without_message(api: MockApi, client) -> None:
    api.on("actor.getTerminalToken", fail(401, "AuthenticationRequired"))
    with pytest.raises(PocketenvError) as caught:
        await client.actor.get_terminal_token()
    assert caught.value.error == "AuthenticationRequired"
    assert "authentication required" in caught.value.message


async def test_plain_text_error_body(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", httpx.Response(502, text="Bad gateway from upstream"))
    with pytest.raises(PocketenvError) as caught:
        await client.sandboxes.get("sbx_1")
    assert caught.value.status == 502
    assert caught.value.error == "UpstreamFailure"
    assert "Bad gateway from upstream" in caught.value.message


async def test_non_json_success_is_an_error(api: MockApi, client) -> None:
    api.on(
        "sandbox.getSandbox",
        httpx.Response(200, text="  ___  pocketenv banner", headers={"content-type": "text/plain"}),
    )
    with pytest.raises(PocketenvError) as caught:
        await client.sandboxes.get("sbx_1")
    assert caught.value.error == "InvalidResponse"
    assert "is the API URL right?" in caught.value.message


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("pool"),
    ],
)
async def test_timeouts_become_timeout_errors(api: MockApi, client, exc) -> None:
    api.on("sandbox.getSandbox", exc)
    with pytest.raises(PocketenvTimeoutError) as caught:
        await client.sandboxes.get("sbx_1")
    err = caught.value
    assert isinstance(err, PocketenvConnectionError)
    assert err.status == 0 and err.error == "Timeout"
    assert str(err).startswith("sandbox.getSandbox: no answer from http://api.test within 30 s")
    assert err.__cause__ is None and err.__suppress_context__


async def test_exec_uses_its_own_timeout(api: MockApi, keypair) -> None:
    api.on("sandbox.exec", httpx.ReadTimeout("slow"))
    api.on("sandbox.getSandbox", httpx.ReadTimeout("slow"))
    async with api.client(keypair[0], timeout=3, exec_timeout=120) as client:
        with pytest.raises(PocketenvTimeoutError, match="within 120 s"):
            await client.sandboxes.exec("sbx_1", "make")
        with pytest.raises(PocketenvTimeoutError, match="within 25 s"):
            await client.sandboxes.exec("sbx_1", "make", timeout=10)  # 10 s + grace
        with pytest.raises(PocketenvTimeoutError, match="within 3 s"):
            await client.sandboxes.get("sbx_1")


async def test_timeouts_are_configured_on_every_request(keypair) -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"stdout": "", "stderr": "", "exitCode": 0})

    async with PocketenvClient(
        "http://api.test",
        "t",
        keypair[0],
        timeout=7,
        exec_timeout=99,
        transport=httpx.MockTransport(handler),
    ) as client:
        await client.sandboxes.get("sbx_1")
        await client.sandboxes.exec("sbx_1", "true")
    assert seen[0] == {"connect": 7, "read": 7, "write": 7, "pool": 7}
    assert seen[1]["read"] == 99


async def test_connection_refused_is_readable(keypair) -> None:
    # Port 9 on loopback: nothing listens there, so the connect is refused at once.
    async with PocketenvClient("http://127.0.0.1:9", "t", keypair[0], timeout=5) as client:
        with pytest.raises(PocketenvConnectionError) as caught:
            await client.sandboxes.get("sbx_1")
    err = caught.value
    assert err.status == 0
    assert str(err).startswith("cannot connect to http://127.0.0.1:9")
    assert not isinstance(err, PocketenvTimeoutError)


async def test_protocol_errors_are_wrapped(api: MockApi, client) -> None:
    api.on("sandbox.getSandbox", httpx.RemoteProtocolError("peer closed connection"))
    with pytest.raises(PocketenvConnectionError, match="peer closed connection"):
        await client.sandboxes.get("sbx_1")


async def test_closed_client_raises_pocketenv_error(api: MockApi, keypair) -> None:
    api.on("sandbox.getSandbox", ok({}))
    client = api.client(keypair[0])
    await client.aclose()
    assert client.closed
    with pytest.raises(PocketenvConnectionError):
        await client.sandboxes.get("sbx_1")


async def test_storage_errors_are_pocketenv_errors(api: MockApi, client) -> None:
    api.on("/cp/missing", fail(404, "NotFound", "No such upload"))
    with pytest.raises(PocketenvError) as caught:
        await client.storage.download("missing")
    assert caught.value.status == 404 and caught.value.message.startswith("No such upload: no archive missing")
    assert "POCKETENV_STORAGE_URL" in caught.value.message
