"""Small helpers for driving the local backend over real HTTP with httpx."""

from __future__ import annotations

import asyncio
import io
import tarfile
from typing import Any

import httpx

from pocketenv_tui.api.crypto import seal

NS = "io.pocketenv."


class Api:
    """``await api.get("sandbox.getSandbox", id=...)`` / ``await api.post("sandbox.exec", {...}, id=...)``."""

    def __init__(self, client: httpx.AsyncClient, public_key: str) -> None:
        self.client = client
        self.public_key = public_key

    def seal(self, text: str) -> str:
        return seal(text, self.public_key)

    async def get(self, method: str, **params: Any) -> httpx.Response:
        return await self.client.get(f"/xrpc/{NS}{method}", params=params)

    async def post(self, method: str, body: dict[str, Any] | None = None, **params: Any) -> httpx.Response:
        if body is None:
            return await self.client.post(f"/xrpc/{NS}{method}", params=params)
        return await self.client.post(f"/xrpc/{NS}{method}", params=params, json=body)

    async def ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, f"{response.status_code}: {response.text}"
        return response.json() if response.content else None

    async def create_running(self, **fields: Any) -> dict[str, Any]:
        created = await self.ok(await self.post("sandbox.createSandbox", {"base": "shell", **fields}))
        return await self.wait_status(created["id"], "RUNNING")

    async def wait_status(self, sandbox_id: str, status: str, within: float = 60.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            data = await self.ok(await self.get("sandbox.getSandbox", id=sandbox_id))
            if data.get("sandbox", {}).get("status") == status:
                return data["sandbox"]
            if loop.time() > deadline:
                raise AssertionError(f"sandbox {sandbox_id} never became {status}: {data}")
            await asyncio.sleep(0.1)

    async def exec(self, sandbox_id: str, command: str, **extra: Any) -> dict[str, Any]:
        return await self.ok(await self.post("sandbox.exec", {"command": command, **extra}, id=sandbox_id))

    async def delete(self, sandbox_id: str) -> None:
        await self.ok(await self.post("sandbox.deleteSandbox", id=sandbox_id))


def make_tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_tar_gz(data: bytes) -> dict[str, bytes]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                handle = tar.extractfile(member)
                assert handle is not None
                out[member.name] = handle.read()
    return out
