"""Copy storage lives at POCKETENV_STORAGE_URL; a URL with no /cp behind it, or nothing
listening, fails with a message that names the variable (real HTTP to the local backend)."""

from __future__ import annotations

import socket

import pytest

from pocketenv_tui.api import PocketenvClient, PocketenvError
from pocketenv_tui.api.config import DEFAULT_API_URL, DEFAULT_STORAGE_URL, resolve_config
from tests.local.helpers import make_tar_gz


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_server_without_copy_storage_names_the_variable(local_backend) -> None:
    # The local backend answers 404 for every path under /nothing: a server with no /cp there.
    storage = f"{local_backend.url}/nothing"
    async with PocketenvClient(local_backend.url, local_backend.token, local_backend.public_key,
                               storage_url=storage) as client:
        with pytest.raises(PocketenvError) as upload:
            await client.storage.upload(make_tar_gz({"a.txt": b"a"}))
        with pytest.raises(PocketenvError) as download:
            await client.storage.download("0e4b2c55-1f7a-4d8e-9b1a-3c2d1e0f9a8b")
    assert upload.value.status == 404
    assert f"{storage} has no copy storage" in upload.value.message
    assert "set POCKETENV_STORAGE_URL" in upload.value.message
    assert "POCKETENV_STORAGE_URL" in download.value.message and download.value.status == 404


async def test_nothing_listening_at_the_storage_url_names_the_variable(local_backend) -> None:
    storage = f"http://127.0.0.1:{free_port()}"
    async with PocketenvClient(local_backend.url, local_backend.token, local_backend.public_key,
                               storage_url=storage) as client:
        with pytest.raises(PocketenvError) as upload:
            await client.storage.upload(make_tar_gz({"a.txt": b"a"}))
    assert upload.value.status == 0
    assert f"the copy storage at {storage} cannot be reached" in upload.value.message
    assert "POCKETENV_STORAGE_URL" in upload.value.message


async def test_the_storage_variable_is_honoured(local_backend, monkeypatch) -> None:
    monkeypatch.setenv("POCKETENV_STORAGE_URL", local_backend.url)
    async with PocketenvClient("http://127.0.0.1:1", local_backend.token, local_backend.public_key) as client:
        uuid = await client.storage.upload(make_tar_gz({"a.txt": b"stored"}))
        assert await client.storage.download(uuid)


def test_storage_defaults() -> None:
    assert resolve_config(token="t").storage_url == DEFAULT_STORAGE_URL  # the hosted API
    assert resolve_config(token="t", api_url="http://127.0.0.1:9").storage_url == "http://127.0.0.1:9"
    assert DEFAULT_API_URL.startswith("https://")
