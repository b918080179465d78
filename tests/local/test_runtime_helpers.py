"""Helpers for the runtime tests (no tests here): a runtime per isolation level, deadline waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pocketenv_tui.local.sandbox.facilities import bwrap_usable
from pocketenv_tui.local.sandbox.proc import pids_with_env
from pocketenv_tui.local.sandbox.runtime import SANDBOX_MARKER, SandboxRuntime, SandboxSpec
from pocketenv_tui.local.sandbox.shell_output import Attachment

ISOLATIONS = ["none", pytest.param("bwrap", marks=pytest.mark.skipif(not bwrap_usable(), reason="bwrap unusable"))]


def spec(sandbox_id: str = "sbx1", **fields: object) -> SandboxSpec:
    values: dict[str, object] = {"id": sandbox_id, "name": "box-" + sandbox_id, "env": {}, "files": []}
    values.update(fields)
    return SandboxSpec(**values)  # type: ignore[arg-type]


def describe(pids: list[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out.append(f"{pid} [{stat.rsplit(')', 1)[1].split()[0]}] {cmdline[:120]}")
    return out


def sandbox_pids(sandbox_id: str) -> list[int]:
    return pids_with_env(f"{SANDBOX_MARKER}={sandbox_id}".encode())


@pytest.fixture(params=ISOLATIONS)
async def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SandboxRuntime]:
    rt = SandboxRuntime(tmp_path / "data", isolation=request.param, shell_grace=30.0)
    try:
        yield rt
    finally:
        ids = list(rt._boxes)
        await rt.shutdown()
        for sandbox_id in ids:
            left = sandbox_pids(sandbox_id)
            assert left == [], f"processes survived the runtime's shutdown: {describe(left)}"


async def read_until(attachment: Attachment, needle: bytes, within: float = 10.0) -> bytes:
    """Output of ``attachment`` up to and including ``needle`` (fails after ``within`` s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    seen = bytearray()
    while needle not in seen[-(len(needle) + 65536) :]:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"{needle!r} never came; output so far: {seen[-2000:]!r}")
        try:
            chunk = await asyncio.wait_for(attachment.next(), remaining)
        except TimeoutError:
            continue
        if chunk is None:
            raise AssertionError(f"shell ended before {needle!r}; output: {seen[-2000:]!r}")
        seen += chunk
    return bytes(seen)


async def eventually(check, within: float = 10.0, step: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``check()`` (sync or async) until it returns something truthy."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)
