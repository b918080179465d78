"""Fixtures for terminal tests that need a real shell: one running sandbox per module.

Also :class:`TcpProxy`, a real TCP hop between a terminal client and the backend that a test
can cut, to drop a live WebSocket the way a network does (both ends see the connection die).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote, urlsplit

import httpx
import pytest


def _sandbox_id(payload: dict) -> str:
    record = payload.get("sandbox", payload)
    return record["id"]


@pytest.fixture(scope="module")
def sandbox(local_backend) -> Iterator[str]:
    """One running `shell` sandbox for this module, deleted afterwards."""
    sandbox_id = create_running_sandbox(local_backend)
    try:
        yield sandbox_id
    finally:
        delete_sandbox(local_backend, sandbox_id)


def terminal_url(backend, sandbox_id: str, dialect: str, session: str) -> str:
    ws = backend.url.replace("http://", "ws://", 1)
    token = quote(backend.token)
    if dialect in ("pty", "tty"):
        return f"{ws}/{dialect}/{sandbox_id}/ws?token={token}&sessionId={session}"
    return f"{ws}/v1/sandboxes/{sandbox_id}/ws/terminal?t={token}&session={session}"


def create_running_sandbox(backend, provider: str | None = None, name: str = "term") -> str:
    """A running ``shell`` sandbox (recorded with ``provider`` when given); its id."""
    base = f"{backend.url}/xrpc/io.pocketenv.sandbox"
    body = {"base": "shell", "name": f"{name}-{uuid.uuid4().hex[:8]}"}
    if provider is not None:
        body["provider"] = provider
    with httpx.Client(headers=backend.headers, timeout=60) as client:
        created = client.post(f"{base}.createSandbox", json=body)
        created.raise_for_status()
        sandbox_id = _sandbox_id(created.json())
        status = None
        for _ in range(300):
            found = client.get(f"{base}.getSandbox", params={"id": sandbox_id})
            found.raise_for_status()
            status = found.json()["sandbox"]["status"]
            if status == "RUNNING":
                return sandbox_id
            if status == "STOPPED":  # a start that failed under load: try again
                client.post(f"{base}.startSandbox", params={"id": sandbox_id}, json={})
            time.sleep(0.2)
    raise AssertionError(f"sandbox never reached RUNNING (last: {status})")


def delete_sandbox(backend, sandbox_id: str) -> None:
    with httpx.Client(headers=backend.headers, timeout=60) as client:
        client.post(f"{backend.url}/xrpc/io.pocketenv.sandbox.deleteSandbox", params={"id": sandbox_id})


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the backend; :meth:`drop` cuts every live connection.

    New connections keep being accepted after a drop, so a client that reconnects reaches
    the backend again through the same address.
    """

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.url = ""

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    @property
    def live(self) -> int:
        return len(self._links)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        link = (writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._links.discard(link)
            for end in link:
                end.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    def drop(self) -> int:
        """Cut every connection now (an abortive close, as a dead link looks); how many."""
        links = list(self._links)
        for link in links:
            for end in link:
                end.transport.abort()
        return len(links)

    async def close(self) -> None:
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture
async def tcp_proxy(local_backend) -> AsyncIterator[TcpProxy]:
    """A cuttable hop to the shared backend, closed after the test."""
    proxy = TcpProxy(local_backend.url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


