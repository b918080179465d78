"""Security: every route needs the token, sealed values never sit in plaintext, no path escapes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import httpx
import pytest

from pocketenv_tui.local.http.handlers import MODULES
from pocketenv_tui.local.state.identity import sign_jwt
from tests.local.helpers import NS, Api, make_tar_gz

pytestmark = pytest.mark.timeout(120)


def all_methods():
    # The handler tables only close over the backend; building them needs no live one.
    modules = MODULES
    return [m for module in modules for m in module.methods(None)]  # type: ignore[arg-type]


async def test_no_route_answers_without_a_valid_token(local_backend) -> None:
    forged = sign_jwt({"did": "did:local:someone", "iat": 0, "exp": int(time.time()) + 3600}, b"not-the-secret")
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        assert (await client.get("/")).status_code == 200
        methods = all_methods()
        assert len(methods) >= 50
        for headers, message in (({}, "Unauthorized"), ({"Authorization": f"Bearer {forged}"}, "Invalid token"),
                                 ({"Authorization": "Bearer null"}, "Unauthorized"),
                                 ({"Authorization": "Bearer a.b.c"}, "Invalid token")):
            for method in methods:
                kwargs = {"json": {}} if method.has_input else {}
                response = await client.request(method.verb, f"/xrpc/{method.nsid}", params={"id": "x", "sandboxId": "x", "serviceId": "x", "did": "local"}, headers=headers, **kwargs)
                assert response.status_code == 401, (method.nsid, response.text)
                assert response.json() == {"error": "AuthenticationRequired", "message": message}
            for nsid in ("io.pocketenv.nope.nothing", "io.pocketenv.sandbox.getTailscaleToken"):
                assert (await client.get(f"/xrpc/{nsid}", headers=headers)).status_code == 401
            upload = await client.post("/cp", files={"file": ("a.tar.gz", make_tar_gz({"a": b"1"}))}, headers=headers)
            assert upload.status_code == 401
            assert (await client.get(f"/cp/{uuid.uuid4()}", headers=headers)).status_code == 401


async def test_expired_token_is_rejected(local_backend) -> None:
    secret = bytes.fromhex((local_backend.data_dir / "jwt_secret").read_text().strip())
    did = json.loads((local_backend.data_dir / "identity.json").read_text())["did"]
    expired = sign_jwt({"did": did, "iat": 0, "exp": int(time.time()) - 10}, secret)
    fresh = sign_jwt({"did": did, "iat": 0, "exp": int(time.time()) + 60}, secret)
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        url = "/xrpc/io.pocketenv.actor.getProfile"
        assert (await client.get(url, headers={"Authorization": f"Bearer {expired}"})).status_code == 401
        assert (await client.get(url, headers={"Authorization": f"Bearer {fresh}"})).status_code == 200


def _claims(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


async def test_terminal_token_opens_terminals_only(api: Api, sandbox: dict, local_backend) -> None:
    token = (await api.ok(await api.get("actor.getTerminalToken")))["token"]
    claims = _claims(token)
    assert claims["scope"] == "terminal"
    assert 3600 <= claims["exp"] - claims["iat"] <= 24 * 3600  # hours, not years
    assert claims["exp"] <= time.time() + 24 * 3600
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=local_backend.url, timeout=30) as client:
        refused = [
            await client.post(f"/xrpc/{NS}sandbox.exec", params={"id": sandbox["id"]}, json={"command": "true"}, headers=bearer),
            await client.get(f"/xrpc/{NS}actor.getProfile", headers=bearer),
            await client.get(f"/xrpc/{NS}actor.getTerminalToken", headers=bearer),
            await client.post(f"/xrpc/{NS}sandbox.stopSandbox", params={"id": sandbox["id"]}, headers=bearer),
            await client.get(f"/xrpc/{NS}nope.nothing", headers=bearer),
            await client.post("/cp", files={"file": ("a.tar.gz", make_tar_gz({"a": b"1"}))}, headers=bearer),
            await client.get(f"/cp/{uuid.uuid4()}", headers=bearer),
        ]
        for method in all_methods():  # every XRPC route, with real ids
            kwargs = {"json": {}} if method.has_input else {}
            ids = {"id": sandbox["id"], "sandboxId": sandbox["id"], "serviceId": "x", "did": "local"}
            refused.append(await client.request(method.verb, f"/xrpc/{method.nsid}", params=ids, headers=bearer, **kwargs))
    for response in refused:
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "AuthenticationRequired"
        assert "only opens terminals" in response.json()["message"]
    assert (await api.get("sandbox.getSandbox", id=sandbox["id"])).json()["sandbox"]["status"] == "RUNNING"


async def test_sealed_values_never_stored_in_plaintext(api: Api, sandbox: dict, local_backend) -> None:
    secret_value = "SECRET-" + uuid.uuid4().hex
    file_value = "FILE-" + uuid.uuid4().hex
    ssh_body = "SSHBODY" + uuid.uuid4().hex * 3
    ssh_key = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{ssh_body}\n-----END OPENSSH PRIVATE KEY-----\n"
    tail_key = "tskey-auth-" + uuid.uuid4().hex
    short_secret = "short-" + uuid.uuid4().hex[:6]  # <= 14 chars: the client rules would not redact it
    sid = sandbox["id"]
    await api.ok(await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": "TOP", "value": api.seal(secret_value)}, "redacted": short_secret}))
    await api.ok(await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": "SHORT", "value": api.seal(short_secret)}}))
    await api.ok(await api.post("file.addFile", {"file": {"sandboxId": sid, "path": "/tmp/f.txt", "content": api.seal(file_value)}}))
    await api.ok(await api.post("sandbox.putSshKeys", {"id": sid, "privateKey": api.seal(ssh_key), "publicKey": "ssh-ed25519 AAAA test", "redacted": ssh_key}))
    await api.ok(await api.post("sandbox.putTailscaleAuthKey", {"id": sid, "authKey": api.seal(tail_key), "redacted": tail_key}))

    keys = await api.ok(await api.get("sandbox.getSshKeys", id=sid))
    assert ssh_body not in keys["privateKey"] and "*" in keys["privateKey"]
    tail = await api.ok(await api.get("sandbox.getTailscaleAuthKey", id=sid))
    assert tail["authKey"] != tail_key and tail["authKey"].startswith("tskey-auth-")
    secrets = await api.ok(await api.get("secret.getSecrets", sandboxId=sid))
    assert secret_value not in json.dumps(secrets)

    # Plaintext must not be in the database, its WAL or its shared memory file.
    blobs = b"".join(
        p.read_bytes() for p in local_backend.data_dir.glob("state.db*") if p.is_file()
    )
    for plain in (secret_value, file_value, ssh_body, tail_key, short_secret):
        assert plain.encode() not in blobs, plain

    unsealed = await api.post("secret.addSecret", {"secret": {"sandboxId": sid, "name": "PLAIN", "value": "not-sealed-at-all"}})
    assert unsealed.status_code == 400
    assert "secret/value" in unsealed.json()["message"]


async def test_copy_paths_cannot_escape_the_sandbox(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    for path in ("/../../etc", "/tmp/../../..", "relative/dir"):
        response = await api.post("sandbox.pushDirectory", {"sandboxId": sid, "directoryPath": path})
        assert response.status_code == 400, path
        assert "directoryPath" in response.json()["message"]
    response = await api.post("sandbox.createBackup", {"directory": "/../.."}, id=sid)
    assert response.status_code == 400

    evil = make_tar_gz({"../../escaped.txt": b"x"})
    upload = await api.client.post("/cp", files={"file": ("e.tar.gz", evil)})
    assert upload.status_code == 200
    pulled = await api.post("sandbox.pullDirectory", {"sandboxId": sid, "directoryPath": "/tmp/in", "uuid": upload.json()["uuid"]})
    assert pulled.status_code == 400
    assert (await api.exec(sid, "ls /tmp/in 2>/dev/null | wc -l; test -e /tmp/escaped.txt && echo LEAK"))["stdout"].split() == ["0"]

    traversal_uuid = await api.post("sandbox.pullDirectory", {"sandboxId": sid, "directoryPath": "/tmp", "uuid": "../state"})
    assert traversal_uuid.status_code == 400
    assert (await api.client.get("/cp/..%2Fstate.db")).status_code in (400, 404)


async def test_preview_token_is_the_only_credential(api: Api, sandbox: dict, local_backend) -> None:
    preview = await api.ok(await api.post("sandbox.exposePort", {"port": 40123}, id=sandbox["id"]))
    url = preview["previewUrl"]
    assert url.startswith(local_backend.url + "/preview/")
    async with httpx.AsyncClient(timeout=30) as anonymous:
        guessed = await anonymous.get(local_backend.url + "/preview/guess/")
        assert guessed.status_code == 404
    await api.ok(await api.post("sandbox.unexposePort", {"port": 40123}, id=sandbox["id"]))
    async with httpx.AsyncClient(timeout=30) as anonymous:
        assert (await anonymous.get(url)).status_code == 404


async def test_terminal_websockets_need_the_token(api: Api, sandbox: dict, local_backend) -> None:
    import websockets

    ws_base = local_backend.url.replace("http://", "ws://")
    sid = sandbox["id"]
    for url in (f"{ws_base}/pty/{sid}/ws", f"{ws_base}/pty/{sid}/ws?token=forged",
                f"{ws_base}/v1/sandboxes/{sid}/ws/terminal", f"{ws_base}/v1/sandboxes/{sid}/ws/terminal?t=forged"):
        try:
            async with websockets.connect(url, open_timeout=10) as ws:
                frames = []
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        frames.append(await ws.recv())
                # The binary dialect may say why in an error status; nothing from a shell arrives.
                assert all(isinstance(f, str) and '"error"' in f for f in frames), frames
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        except websockets.InvalidStatus as refused:
            assert refused.response.status_code in (401, 403)

    # With the token the same route gives a shell of the caller's sandbox.
    async with websockets.connect(f"{ws_base}/pty/{sid}/ws?token={local_backend.token}&sessionId=sec-test", open_timeout=20) as ws:
        await ws.send("echo marker-$((6*7))\n")
        seen = ""
        async with asyncio.timeout(20):
            while "marker-42" not in seen:
                seen += await ws.recv()


async def test_sandbox_cannot_read_the_data_dir(api: Api, sandbox: dict, local_backend) -> None:
    if sandbox["isolation"] != "bwrap":
        pytest.skip("without bubblewrap the sandbox runs as plain processes (its record says so)")
    result = await api.exec(sandbox["id"], f"cat {local_backend.data_dir}/token.json {local_backend.data_dir}/private_key")
    assert result["exitCode"] != 0
    assert local_backend.token not in result["stdout"]
