"""Own network: nothing on the host's loopback and no other sandbox can be reached.

Every listener here is one the test starts itself, on the host's loopback (to prove it is
out of reach) or inside a sandbox. Nothing is sent to any address outside this machine:
10.0.2.2 is slirp4netns' alias for the host, refused with host loopback disabled.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.local.escape.conftest import inside_python, require
from tests.local.helpers import Api

CONNECT = """
import json, socket, sys
out = {}
for name, family, address in json.loads(sys.argv[1]):
    sock = socket.socket(getattr(socket, family), socket.SOCK_STREAM)
    sock.settimeout(3)
    try:
        sock.connect(address if family == "AF_UNIX" else tuple(address))
        out[name] = "CONNECTED"
    except OSError as exc:
        out[name] = type(exc).__name__ + ":" + str(exc.errno)
    finally:
        sock.close()
print(json.dumps(out))
"""


async def try_connect(api: Api, sandbox_id: str, targets: list[tuple[str, str, object]]) -> dict[str, str]:
    code = CONNECT.replace("json.loads(sys.argv[1])", repr(json.loads(json.dumps(targets))))
    result = await inside_python(api, sandbox_id, code)
    assert result["exitCode"] == 0, result["stderr"]
    return json.loads(result["stdout"])


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP listener on the host's loopback, accepting and closing connections."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def abstract_listener() -> Iterator[str]:
    name = "pocketenv-test-" + os.urandom(4).hex()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0" + name)
    server.listen(4)
    try:
        yield name
    finally:
        server.close()


async def test_host_loopback_and_the_backend_are_out_of_reach(
    api: Api, sandbox: dict, local_backend, host_listener: int, abstract_listener: str
) -> None:
    require(sandbox, "network")
    backend_port = urlsplit(local_backend.url).port
    results = await try_connect(api, sandbox["id"], [
        ("listener", "AF_INET", ["127.0.0.1", host_listener]),
        ("backend", "AF_INET", ["127.0.0.1", backend_port]),
        ("listener via slirp host alias", "AF_INET", ["10.0.2.2", host_listener]),
        ("backend via slirp host alias", "AF_INET", ["10.0.2.2", backend_port]),
        ("abstract unix socket", "AF_UNIX", "\0" + abstract_listener),
    ])
    assert "CONNECTED" not in results.values(), results
    # The same listener answers from the host, so the refusals above are the boundary's doing.
    with socket.create_connection(("127.0.0.1", host_listener), timeout=3):
        pass


async def test_another_sandboxs_service_is_unreachable_but_its_preview_works(api: Api, sandbox: dict) -> None:
    require(sandbox, "network")
    other = await api.create_running()
    try:
        port = 8731
        started = await api.exec(other["id"], f"python3 -m http.server {port} --bind 0.0.0.0 >/dev/null 2>&1 & echo ok")
        assert started["stdout"] == "ok\n"
        for _ in range(100):  # the server is up once it answers from inside its own sandbox
            if (await api.exec(other["id"], f"curl -s -o /dev/null -w %{{http_code}} http://127.0.0.1:{port}/"))["stdout"] == "200":
                break
            await asyncio.sleep(0.1)
        results = await try_connect(api, sandbox["id"], [
            ("its port on my loopback", "AF_INET", ["127.0.0.1", port]),
            ("its port on my tap address", "AF_INET", ["10.0.2.100", port]),
            ("its port via the host alias", "AF_INET", ["10.0.2.2", port]),
        ])
        assert "CONNECTED" not in results.values(), results
        exposed = await api.ok(await api.post("sandbox.exposePort", {"port": port}, id=other["id"]))
        async with httpx.AsyncClient(timeout=10) as client:
            assert (await client.get(exposed["previewUrl"])).status_code == 200
    finally:
        await api.delete(other["id"])


async def test_outbound_network_is_up(api: Api, sandbox: dict) -> None:
    """The sandbox has slirp4netns' interface and DNS setting (no traffic is sent)."""
    require(sandbox, "network", "outboundNetwork")
    result = await api.exec(sandbox["id"], "cat /sys/class/net/tap0/operstate 2>/dev/null; ip -4 -o addr show tap0; cat /etc/resolv.conf")
    assert "10.0.2.100/24" in result["stdout"]
    assert "nameserver 10.0.2.3" in result["stdout"]
