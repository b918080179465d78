"""Copies through cp storage: pack, upload, pull; push, download, unpack safely."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.api.mock_api import MockApi, ok


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def test_copy_to_sandbox(api: MockApi, client, tmp_path: Path) -> None:
    source = tmp_path / "project"
    (source / "src").mkdir(parents=True)
    (source / "README").write_text("hi")
    (source / "src" / "main.py").write_text("print(1)")
    api.on("/cp", ok({"uuid": "up-1"}))
    api.on("sandbox.pullDirectory", ok())

    assert await client.copy_to_sandbox("sbx_1", source, "/work") == "up-1"

    upload, pull = api.seen
    # Pull the tar.gz back out of the multipart body and check what was packed.
    boundary = upload.headers["content-type"].split("boundary=")[1].encode()
    part = next(p for p in upload.raw_body.split(b"--" + boundary) if b'name="file"' in p)
    payload = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["README", "src", "src/main.py"]
    assert pull.body == {"sandboxId": "sbx_1", "directoryPath": "/work", "uuid": "up-1"}


async def test_copy_from_sandbox(api: MockApi, client, tmp_path: Path) -> None:
    archive = tar_gz({"logs/app.log": b"line\n"})
    api.on("sandbox.pushDirectory", ok({"uuid": "down-1"}))
    api.on("/cp/down-1", httpx.Response(200, content=archive))

    names = await client.copy_from_sandbox("sbx_1", "/var/app", tmp_path / "out")

    assert names == ["logs/app.log"]
    assert (tmp_path / "out" / "logs" / "app.log").read_bytes() == b"line\n"
    assert api.seen[0].body == {"sandboxId": "sbx_1", "directoryPath": "/var/app"}


async def test_archive_escaping_the_destination_is_refused(
    api: MockApi, client, tmp_path: Path
) -> None:
    api.on("sandbox.pushDirectory", ok({"uuid": "evil"}))
    api.on("/cp/evil", httpx.Response(200, content=tar_gz({"../escaped.txt": b"x"})))
    with pytest.raises(ValueError, match="cannot be unpacked"):
        await client.copy_from_sandbox("sbx_1", "/", tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


async def test_copy_of_missing_path(client, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await client.copy_to_sandbox("sbx_1", tmp_path / "missing", "/work")
