"""Every client method sends exactly the request the hosted server accepts (api.md §1.1, §2)."""

from __future__ import annotations

import json

import pytest

from pocketenv_tui.api.endpoints import ENDPOINTS, NSID_PREFIX
from tests.api.mock_api import TOKEN, MockApi, Sealed, ok
from tests.api.request_cases import NO_BODY, Case, cases

# The private key is only known inside the test; build the cases with a placeholder and bind it.
_PLACEHOLDER_CASES = cases(lambda text: text)


@pytest.mark.parametrize(
    "case_index", range(len(_PLACEHOLDER_CASES)), ids=[c.nsid for c in _PLACEHOLDER_CASES]
)
async def test_request_shape(case_index: int, api: MockApi, keypair: tuple[str, str]) -> None:
    public_key, private_key = keypair
    case: Case = cases(lambda text: Sealed(text, private_key))[case_index]
    api.on(case.nsid, ok(case.answer))

    async with api.client(public_key) as client:
        result = await case.call(client)

    assert len(api.seen) == 1, [s.path for s in api.seen]
    request = api.last
    spec = ENDPOINTS[NSID_PREFIX + case.nsid]
    assert request.method == spec.method == case.http_method
    assert request.path == f"/xrpc/{NSID_PREFIX}{case.nsid}"
    assert request.query == case.query
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    if case.body is NO_BODY:
        # Procedures without input must not carry a body, not even {} (the server rejects it).
        assert request.raw_body == b""
        assert "transfer-encoding" not in request.headers
        assert not spec.has_input
    else:
        assert spec.has_input
        assert request.headers["content-type"] == "application/json"
        assert request.body == case.body
    if case.expect is not None:
        assert case.expect(result), result
    else:
        assert result is None


async def test_procedure_with_input_sends_empty_object(api: MockApi, client) -> None:
    api.on("sandbox.startSandbox", ok({}))
    await client.sandboxes.start("sbx_1")
    assert api.last.raw_body == b"{}"
    assert api.last.headers["content-length"] == "2"


async def test_start_passes_repo_and_keep_alive(api: MockApi, client) -> None:
    api.on("sandbox.startSandbox", ok({}))
    await client.sandboxes.start("sbx_1", repo="https://github.com/a/b", keep_alive=False)
    assert api.last.body == {"repo": "https://github.com/a/b", "keepAlive": False}


async def test_exec_timeout_travels_to_the_server(api: MockApi, client) -> None:
    api.on("sandbox.exec", ok({"stdout": "", "stderr": "", "exitCode": 0}))
    await client.sandboxes.exec("sbx_1", "sleep 1", timeout=5)
    assert api.last.body == {"command": "sleep 1", "timeout": 5}


async def test_create_seals_provider_credentials(api: MockApi, keypair) -> None:
    public_key, private_key = keypair
    api.on("sandbox.createSandbox", ok({"id": "sbx_9", "name": "n"}))
    async with api.client(public_key) as client:
        await client.sandboxes.create(
            "openclaw",
            provider="daytona",
            credentials={"daytonaApiKey": "dtn_0123456789abcdef", "daytonaOrganizationId": "org-1"},
        )
    assert api.last.body == {
        "base": "openclaw",
        "provider": "daytona",
        "daytonaApiKey": Sealed("dtn_0123456789abcdef", private_key),
        "redactedDaytonaApiKey": "dtn_0123456" + "*" * 24 + "def",
        "daytonaOrganizationId": "org-1",
    }


async def test_create_rejects_unknown_credential(api: MockApi, client) -> None:
    with pytest.raises(ValueError, match="unknown provider credential"):
        await client.sandboxes.create("openclaw", credentials={"awsKey": "x"})
    assert api.seen == []


async def test_put_preferences_requires_type(api: MockApi, client) -> None:
    with pytest.raises(ValueError, match=r"\$type"):
        await client.sandboxes.put_preferences("sbx_1", [{"name": "deno"}])
    assert api.seen == []


async def test_secret_add_sends_no_redacted_copy(api: MockApi, client) -> None:
    # A generic redaction of a short secret is the secret itself; it must not be sent.
    api.on("secret.addSecret", ok())
    await client.secrets.add("sbx_1", "PIN", "1234")
    body = api.last.body
    assert "redacted" not in body
    assert "1234" not in json.dumps(body)


async def test_storage_upload_and_download(api: MockApi, keypair) -> None:
    api.on("/cp", ok({"uuid": "0f0e-uuid"}))
    api.on(
        "/cp/0f0e-uuid", lambda request: __import__("httpx").Response(200, content=b"\x1f\x8btar")
    )
    async with api.client(keypair[0], storage_url="http://storage.test") as client:
        uuid = await client.storage.upload(b"\x1f\x8bdata")
        data = await client.storage.download(uuid)
    upload, download = api.seen
    assert (upload.method, upload.path) == ("POST", "/cp")
    assert upload.headers["authorization"] == f"Bearer {TOKEN}"
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"' in upload.raw_body and b"\x1f\x8bdata" in upload.raw_body
    assert (download.method, download.path) == ("GET", "/cp/0f0e-uuid")
    assert uuid == "0f0e-uuid" and data == b"\x1f\x8btar"


async def test_storage_defaults_to_the_api_url_off_the_hosted_service(keypair) -> None:
    from pocketenv_tui.api import PocketenvClient

    async with PocketenvClient("http://127.0.0.1:9/", "t", keypair[0]) as client:
        assert client.config.storage_url == "http://127.0.0.1:9"
        assert client.storage.base_url == "http://127.0.0.1:9"
