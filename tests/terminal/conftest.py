"""Fixtures for terminal tests that need a real shell: one running sandbox per module."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest


def _sandbox_id(payload: dict) -> str:
    record = payload.get("sandbox", payload)
    return record["id"]


@pytest.fixture(scope="module")
def sandbox(local_backend) -> Iterator[str]:
    """One running `shell` sandbox for this module, deleted afterwards."""
    base = f"{local_backend.url}/xrpc/io.pocketenv.sandbox"
    with httpx.Client(headers=local_backend.headers, timeout=60) as client:
        created = client.post(
            f"{base}.createSandbox", json={"base": "shell", "name": f"term-{uuid.uuid4().hex[:8]}"}
        )
        created.raise_for_status()
        sandbox_id = _sandbox_id(created.json())
        status = None
        for _ in range(300):
            found = client.get(f"{base}.getSandbox", params={"id": sandbox_id})
            found.raise_for_status()
            status = found.json()["sandbox"]["status"]
            if status == "RUNNING":
                break
            if status == "STOPPED":
                client.post(f"{base}.startSandbox", params={"id": sandbox_id}, json={})
            time.sleep(0.2)
        assert status == "RUNNING", f"sandbox never reached RUNNING (last: {status})"
        try:
            yield sandbox_id
        finally:
            client.post(f"{base}.deleteSandbox", params={"id": sandbox_id})


def terminal_url(backend, sandbox_id: str, dialect: str, session: str) -> str:
    ws = backend.url.replace("http://", "ws://", 1)
    token = quote(backend.token)
    if dialect == "pty":
        return f"{ws}/pty/{sandbox_id}/ws?token={token}&sessionId={session}"
    return f"{ws}/v1/sandboxes/{sandbox_id}/ws/terminal?t={token}&session={session}"


