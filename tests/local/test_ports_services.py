"""Services (supervised, with logs) and port previews proxied to a real HTTP server in a sandbox."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from tests.local.helpers import Api

pytestmark = pytest.mark.timeout(120)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_for(predicate, within: float = 30.0, interval: float = 0.2):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def test_service_lifecycle_and_logs(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    command = 'i=0; while true; do echo "tick $i $SERVICE_GREETING"; i=$((i+1)); sleep 0.2; done'
    await api.ok(await api.post("variable.addVariable", {"variable": {"sandboxId": sid, "name": "SERVICE_GREETING", "value": "hey"}}))
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
    await api.ok(await api.post("service.addService", {"service": {"name": "ticker", "command": command, "description": "d"}}, sandboxId=sid))
    dup = await api.post("service.addService", {"service": {"name": "ticker", "command": "true"}}, sandboxId=sid)
    assert dup.status_code == 409

    services = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"]
    assert [(s["name"], s["status"]) for s in services] == [("ticker", "RUNNING")]
    service_id = services[0]["id"]

    async def logged():
        data = await api.ok(await api.get("service.getServiceLogs", serviceId=service_id))
        return data if "tick 2 hey" in data["log"] else None

    logs = await wait_for(logged)
    assert logs["serviceId"] == service_id

    await api.ok(await api.post("service.stopService", serviceId=service_id))
    services = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"]
    assert services[0]["status"] == "STOPPED"
    await api.ok(await api.post("service.startService", serviceId=service_id))
    await api.ok(await api.post("service.restartService", serviceId=service_id))
    services = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"]
    assert services[0]["status"] == "RUNNING"

    await api.ok(await api.post("service.updateService", {"service": {"name": "ticker2", "command": "sleep 100"}}, serviceId=service_id))
    services = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"]
    assert services[0]["name"] == "ticker2" and services[0]["command"] == "sleep 100"

    # Stopping the sandbox stops its services; starting it starts them again.
    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    services = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"]
    assert services[0]["status"] == "STOPPED"
    await api.ok(await api.post("sandbox.startSandbox", {}, id=sid))
    services = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"]
    assert services[0]["status"] == "RUNNING"

    await api.ok(await api.post("service.deleteService", serviceId=service_id))
    assert (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"] == []
    assert (await api.post("service.startService", serviceId=service_id)).status_code == 404


async def test_crashed_service_shows_failed_with_its_exit_code(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    await api.ok(await api.post("service.addService", {"service": {"name": "oneshot", "command": "echo bye; exit 3"}}, sandboxId=sid))

    async def failed():
        services = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"]
        return services[0]["status"] == "FAILED" and services[0]["exitCode"] == 3

    await wait_for(failed)
    service_id = (await api.ok(await api.get("service.getServices", sandboxId=sid)))["services"][0]["id"]
    log = (await api.ok(await api.get("service.getServiceLogs", serviceId=service_id)))["log"]
    assert "bye" in log


async def test_port_preview_proxies_to_a_server_in_the_sandbox(api: Api, sandbox: dict) -> None:
    sid = sandbox["id"]
    port = free_port()
    await api.exec(sid, "mkdir -p ~/site && echo 'hello from the sandbox' > ~/site/index.html")
    await api.ok(await api.post("service.addService", {"service": {
        "name": "web", "command": f"cd ~/site && exec python3 -m http.server {port} --bind 127.0.0.1", "ports": [port],
    }}, sandboxId=sid))

    ports = (await api.ok(await api.get("sandbox.getExposedPorts", id=sid)))["ports"]
    assert [p["port"] for p in ports] == [port]
    assert ports[0]["description"] == f"Port {port} for service web"
    url = ports[0]["previewUrl"]

    async with httpx.AsyncClient(timeout=10) as browser:
        async def served():
            try:
                response = await browser.get(url + "index.html")
            except httpx.HTTPError:
                return None
            return response if response.status_code == 200 else None

        response = await wait_for(served)
        assert response.text == "hello from the sandbox\n"
        with_query = await browser.get(url + "?x=1")
        assert with_query.status_code == 200 and with_query.text == "hello from the sandbox\n"
        missing = await browser.get(url + "nope.html")
        assert missing.status_code == 404

    dup = await api.post("sandbox.exposePort", {"port": port}, id=sid)
    assert dup.status_code == 409
    other = free_port()
    exposed = await api.ok(await api.post("sandbox.exposePort", {"port": other, "description": "idle"}, id=sid))
    async with httpx.AsyncClient(timeout=10) as browser:
        nothing = await browser.get(exposed["previewUrl"])
        assert nothing.status_code == 502 and str(other) in nothing.text
    await api.ok(await api.post("sandbox.unexposePort", {"port": other}, id=sid))
    assert (await api.post("sandbox.unexposePort", {"port": other}, id=sid)).status_code == 404

    await api.ok(await api.post("sandbox.stopSandbox", id=sid))
    async with httpx.AsyncClient(timeout=10) as browser:
        assert (await browser.get(url)).status_code == 503


async def test_vscode_needs_code_server(api: Api, sandbox: dict) -> None:
    import shutil

    if shutil.which("code-server"):
        pytest.skip("code-server is installed here; this checks the message when it is missing")
    response = await api.post("sandbox.exposeVscode", id=sandbox["id"])
    assert response.status_code == 400
    assert "code-server" in response.json()["message"]
