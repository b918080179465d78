from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.local.helpers import Api


@pytest.fixture
async def api(local_backend) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=local_backend.url, headers=local_backend.headers, timeout=60) as client:
        yield Api(client, local_backend.public_key)


@pytest.fixture
async def sandbox(api: Api) -> AsyncIterator[dict]:
    """A RUNNING sandbox, deleted afterwards."""
    row = await api.create_running()
    try:
        yield row
    finally:
        await api.post("sandbox.deleteSandbox", id=row["id"])
