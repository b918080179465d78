"""Transport rules of the XRPC endpoint (api.md §1.1), and validation errors naming the field."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.local.helpers import NS, Api

pytestmark = pytest.mark.timeout(60)


async def test_wrong_verb_unknown_and_unserved_nsids(api: Api) -> None:
    wrong = await api.client.get(f"/xrpc/{NS}sandbox.createSandbox")
    assert wrong.status_code == 400
    assert wrong.json() == {"error": "InvalidRequest", "message": "Incorrect HTTP method (GET) expected POST"}
    unknown = await api.client.get(f"/xrpc/{NS}sandbox.teleport")
    assert unknown.status_code == 501 and unknown.json()["error"] == "MethodNotImplemented"
    unserved = await api.client.get(f"/xrpc/{NS}sandbox.getTailscaleToken", params={"id": "x"})
    assert unserved.status_code == 404 and set(unserved.json()) == {"error", "message"}


async def test_body_rules(api: Api, local_backend) -> None:
    url = f"/xrpc/{NS}sandbox.createSandbox"
    no_type = await api.client.post(url, content=b'{"base":"shell"}')
    assert no_type.status_code == 400
    assert no_type.json()["message"] == "Request encoding (Content-Type) required but not provided"

    empty = await api.client.post(url, headers={"Content-Type": "application/json", "Content-Length": "0"})
    assert empty.status_code == 400
    assert empty.json()["message"] == 'Input must have the property "base"'

    body_on_void = await api.client.post(f"/xrpc/{NS}sandbox.stopSandbox", params={"id": "x"}, json={})
    assert body_on_void.status_code == 400
    assert body_on_void.json()["message"] == "A request body was provided when none was expected"

    too_big = await api.client.post(url, json={"base": "shell", "description": "x" * 200_000})
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "PayloadTooLargeError"

    async def chunks():
        yield b'{"base": "shell", "pad": "'
        for _ in range(30):
            yield b"y" * 4096
        yield b'"}'

    chunked = await api.client.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413

    not_json = await api.client.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    array = await api.client.post(url, json=[1, 2])
    assert array.status_code == 400 and array.json()["message"] == "Input must be an object"


@pytest.mark.parametrize(
    ("method", "body", "params", "field"),
    [
        ("sandbox.createSandbox", {"base": 3}, {}, "Input/base"),
        ("sandbox.createSandbox", {"base": "shell", "name": "bad name!"}, {}, "Input/name"),
        ("sandbox.createSandbox", {"base": "shell", "vcpus": 0}, {}, "Input/vcpus"),
        ("sandbox.createSandbox", {"base": "shell", "disk": 1}, {}, "Input/disk"),
        ("sandbox.createSandbox", {"base": "shell", "topics": "a"}, {}, "Input/topics"),
        ("sandbox.createSandbox", {"base": "shell", "repo": "--upload-pack=evil"}, {}, "Input/repo"),
        ("sandbox.createSandbox", {"base": "shell", "provider": "azure"}, {}, "Input/provider"),
        ("sandbox.exposePort", {"port": 80}, {"id": "x"}, "Input/port can not be less than 1025"),
        ("sandbox.exposePort", {"port": 70000}, {"id": "x"}, "Input/port"),
        ("sandbox.exposePort", {}, {"id": "x"}, 'Input must have the property "port"'),
        ("sandbox.exec", {}, {"id": "x"}, 'Input must have the property "command"'),
        ("secret.addSecret", {"secret": {"name": "1BAD", "value": "x"}}, {}, "Input/secret/name"),
        ("variable.addVariable", {"variable": {"name": "OK"}}, {}, 'Input/variable must have the property "value"'),
        ("file.addFile", {"file": {"path": "rel", "content": "x"}}, {}, "Input/file/path"),
        ("service.addService", {"service": {"name": "s", "command": "c", "ports": [1]}}, {"sandboxId": "x"}, "Input/service/ports/0"),
        ("sandbox.createBackup", {"directory": "/", "ttl": -5}, {"id": "x"}, "Input/ttl"),
        ("sandbox.pullDirectory", {"sandboxId": "x", "directoryPath": "/tmp", "uuid": "nope"}, {}, "Input/uuid"),
    ],
)
async def test_invalid_input_names_the_field(api: Api, method, body, params, field) -> None:
    response = await api.post(method, body, **params)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "InvalidRequest"
    assert field in response.json()["message"]


async def test_invalid_params(api: Api) -> None:
    missing = await api.get("sandbox.getSandbox")
    assert missing.status_code == 400 and missing.json()["message"] == 'Params must have the property "id"'
    low = await api.get("actor.getActorSandboxes", did="local", limit=0)
    assert low.status_code == 400 and low.json()["message"] == "Error: limit can not be less than 1"
    word = await api.get("actor.getActorSandboxes", did="local", limit="many")
    assert word.status_code == 400 and "limit" in word.json()["message"]
    bad_did = await api.get("actor.getActorSandboxes", did="not a did!")
    assert bad_did.status_code == 400
    assert bad_did.json()["message"] == "Error: did must be a valid did or a handle"


async def test_void_procedures_answer_an_empty_200(api: Api, sandbox: dict) -> None:
    response = await api.post("variable.addVariable", {"variable": {"sandboxId": sandbox["id"], "name": "V", "value": "1"}})
    assert response.status_code == 200 and response.content == b""


async def test_unknown_route_and_banner(local_backend) -> None:
    async with httpx.AsyncClient(base_url=local_backend.url) as client:
        banner = await client.get("/")
        assert banner.status_code == 200 and "local backend" in banner.text
        missing = await client.get("/nothing/here")
        assert missing.status_code == 404 and missing.json()["error"] == "NotFound"


def test_exec_command_must_fit_one_execve_argument() -> None:
    from pocketenv_tui.local.http.handlers.sandboxes import MAX_ARG_STRLEN, check_command
    from pocketenv_tui.local.http.validate import XrpcError

    assert MAX_ARG_STRLEN == 128 * 1024
    fits = "x" * (MAX_ARG_STRLEN - 1)
    assert check_command(fits) == fits
    # Counted in bytes of UTF-8, not characters: 65,536 two-byte characters are 128 KiB.
    for too_long in ("x" * MAX_ARG_STRLEN, "é" * (MAX_ARG_STRLEN // 2)):
        with pytest.raises(XrpcError) as refused:
            check_command(too_long)
        assert refused.value.status == 400
        assert "Input/command is 131072 bytes" in refused.value.message
        assert "execve" in refused.value.message and "131071" in refused.value.message


async def test_exec_long_command_below_the_body_cap_runs(api: Api, sandbox: dict) -> None:
    padding = "y" * 90_000
    result = await api.exec(sandbox["id"], f": {padding}; echo long-ok")
    assert (result["stdout"], result["exitCode"]) == ("long-ok\n", 0)


def test_client_leaving_mid_body_is_not_a_server_error(local_backend) -> None:
    """A body cut short by a disconnect is the client's doing: no 500, no traceback logged."""
    host, port = local_backend.url.removeprefix("http://").split(":")
    before = local_backend.log_path.read_text(errors="replace").count("unhandled error")
    request = (
        f"POST /xrpc/{NS}sandbox.exec?id=x HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {local_backend.token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{}"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert not answer.startswith(b"HTTP/1.1 5"), answer
    # The server is still fine, and what it logged for this was no crash.
    assert httpx.get(f"{local_backend.url}/", timeout=20).status_code == 200
    assert local_backend.log_path.read_text(errors="replace").count("unhandled error") == before
