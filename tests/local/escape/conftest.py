"""The escape suite: code inside a local sandbox trying each way out that was found open.

Every test runs against a real server with real bubblewrap, and is skipped (saying so) on a
machine where the protection it checks is reported missing. No test changes the host: a
kernel setting is opened for writing to prove that the open is refused, and never written.
"""

from __future__ import annotations

import shlex

import pytest

from tests.local.helpers import Api


async def inside_python(api: Api, sandbox_id: str, code: str, seconds: float = 60) -> dict:
    """Run ``code`` with the sandbox's python3; returns the exec result."""
    return await api.exec(sandbox_id, f"python3 -c {shlex.quote(code)}", timeout=seconds)


def require(sandbox: dict, *protections: str) -> None:
    """Skip unless the sandbox's record says these protections are in force."""
    if sandbox.get("isolation") != "bwrap":
        pytest.skip("this backend runs without bubblewrap (isolation: none)")
    missing = [p for p in protections if p not in sandbox.get("protections", [])]
    if missing:
        pytest.skip(f"this machine cannot provide {', '.join(missing)}: {sandbox.get('missingProtections')}")
