from __future__ import annotations

import pytest

from pocketenv_tui.api.crypto import generate_keypair
from tests.api.mock_api import MockApi


@pytest.fixture(scope="session")
def keypair() -> tuple[str, str]:
    return generate_keypair()


@pytest.fixture
def api() -> MockApi:
    return MockApi()


@pytest.fixture
async def client(api: MockApi, keypair: tuple[str, str]):
    async with api.client(keypair[0]) as client:
        yield client


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """No test reads the real ~/.pocketenv or the developer's POCKETENV_* settings."""
    for name in (
        "POCKETENV_TOKEN",
        "POCKETENV_API_URL",
        "POCKETENV_PUBLIC_KEY",
        "POCKETENV_STORAGE_URL",
        "POCKETENV_CF_URL",
        "POCKETENV_PTY_URL",
        "POCKETENV_TTY_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
