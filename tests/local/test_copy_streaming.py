"""Copy storage streams: the multipart parser on its own, and a 200 MiB round trip in flat memory."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pocketenv_tui.local.http.multipart import (
    MAX_HEADER_BYTES,
    MultipartError,
    MultipartParser,
    PartEnd,
    PartStart,
    boundary_of,
)
from tests.local.helpers import make_tar_gz

pytestmark = pytest.mark.timeout(300)

BOUNDARY = "b0undary-XYZ"
MiB = 1024 * 1024


def form(parts: list[tuple[str, bytes]], boundary: str = BOUNDARY, *, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    out = preamble
    for name, data in parts:
        out += (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode() + epilogue


def parse(body: bytes, cuts: list[int], boundary: str = BOUNDARY) -> list[tuple[str | None, bytes]]:
    """Feed ``body`` cut at ``cuts``; the (name, content) of every part."""
    parser = MultipartParser(boundary.encode())
    parts: list[tuple[str | None, bytes]] = []
    content = b""
    name: str | None = None
    edges = [0, *cuts, len(body)]
    for start, end in zip(edges, edges[1:], strict=False):
        for event in parser.feed(body[start:end]):
            if isinstance(event, PartStart):
                name, content = event.name, b""
            elif isinstance(event, PartEnd):
                parts.append((name, content))
            else:
                assert len(event) <= max(end - start, 1) + len(BOUNDARY) + 4  # bounded pieces
                content += event
    parser.close()
    return parts


TRICKY = b"line one\r\nline two\r\n--b0undary-XY not quite\r\n--\r\n\r\n\r\n-" + b"\r\n--b0undar"


def test_boundary_split_across_chunks_at_every_position() -> None:
    body = form([("other", b"o" * 10), ("file", TRICKY)])
    expected = [("other", b"o" * 10), ("file", TRICKY)]
    for cut in range(1, len(body)):
        assert parse(body, [cut]) == expected, cut
    assert parse(body, list(range(1, len(body)))) == expected  # one byte at a time


def test_crlf_and_boundary_lookalikes_inside_content() -> None:
    for data in (b"\r\n", b"\r\n\r\n", b"--" + BOUNDARY.encode(), b"\r\n--" + BOUNDARY.encode()[:-1], b"\r", b"\n--"):
        assert parse(form([("file", data)]), []) == [("file", data)], data


# Content made mostly of delimiter fragments, the hardest case for a streaming parser.
fragments = st.lists(st.sampled_from([b"\r", b"\n", b"-", b"--", b"\r\n--", BOUNDARY.encode()[:5], BOUNDARY.encode(), b"x"]), max_size=30).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.tuples(st.sampled_from(["file", "a", "b"]), fragments), min_size=1, max_size=3),
    cuts=st.lists(st.integers(1, 400), max_size=8),
)
def test_any_content_and_any_chunking_round_trip(parts, cuts) -> None:
    # A body whose content would contain a real delimiter is not valid multipart; skip those.
    delimiter = b"\r\n--" + BOUNDARY.encode()
    if any(delimiter in b"\r\n" + data + b"\r\n--" + BOUNDARY.encode()[:-1] for _, data in parts):
        return
    body = form(parts)
    assert parse(body, sorted({c for c in cuts if c < len(body)})) == parts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(st.sampled_from([
    f"--{BOUNDARY}\r\n".encode(), f"--{BOUNDARY}--\r\n".encode(), b'Content-Disposition: form-data; name="file"\r\n',
    b"Content-Transfer-Encoding: base64\r\n", b"\r\n", b"\x1f\x8b\x08\x00", b"junk", f"\r\n--{BOUNDARY}".encode(),
]), max_size=12).map(b"".join))
def test_random_upload_bodies_never_crash(local_backend: Any, body: bytes) -> None:
    response = httpx.post(
        f"{local_backend.url}/cp", content=body, headers={**local_backend.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        timeout=30,
    )
    assert response.status_code in (200, 400), response.text
    assert set(response.json()) == ({"uuid"} if response.status_code == 200 else {"error", "message"})


def test_real_clients_preamble_epilogue_and_quoted_boundary() -> None:
    request = httpx.Request("POST", "http://x/cp", files={"file": ("a.tar.gz", b"\x1f\x8b payload \r\n")}, data={"k": "v"})
    body = request.read()
    boundary = boundary_of(request.headers["content-type"]).decode()
    assert dict(parse(body, [7, 50], boundary)) == {"k": b"v", "file": b"\x1f\x8b payload \r\n"}
    assert boundary_of('multipart/form-data; boundary="a b;c"') == b"a b;c"
    wrapped = form([("file", b"x")], preamble=b"ignored preamble\r\n", epilogue=b"ignored epilogue")
    assert parse(wrapped, [3]) == [("file", b"x")]
    for bad in ("text/plain", "multipart/form-data", "multipart/form-data; boundary="):
        with pytest.raises(MultipartError):
            boundary_of(bad)


def test_missing_file_field_and_truncated_or_malformed_bodies() -> None:
    assert [name for name, _ in parse(form([("notfile", b"x")]), [])] == ["notfile"]
    body = form([("file", b"abc" * 100)])
    for cut in (10, len(body) // 2, len(body) - 5, len(body) - len(BOUNDARY)):
        parser = MultipartParser(BOUNDARY.encode())
        list(parser.feed(body[:cut]))
        with pytest.raises(MultipartError, match="truncated"):
            parser.close()
    with pytest.raises(MultipartError, match="truncated"):
        MultipartParser(BOUNDARY.encode()).close()  # an empty body
    huge_headers = f"--{BOUNDARY}\r\nX-Pad: {'p' * (MAX_HEADER_BYTES + 10)}\r\n\r\nx".encode()
    with pytest.raises(MultipartError, match="headers are longer"):
        list(MultipartParser(BOUNDARY.encode()).feed(huge_headers))
    with pytest.raises(MultipartError, match="delimiter"):
        list(MultipartParser(BOUNDARY.encode()).feed(f"--{BOUNDARY}junk\r\n\r\n".encode()))


def test_upload_errors_over_http(local_backend: Any) -> None:
    url, headers = f"{local_backend.url}/cp", local_backend.headers
    content_type = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    archive = make_tar_gz({"a.txt": b"a"})
    full = form([("file", archive)])
    with httpx.Client(timeout=30, headers=headers) as client:
        assert client.post(url, content=full, headers=content_type).status_code == 200
        truncated = client.post(url, content=full[:-10], headers=content_type)
        assert truncated.status_code == 400 and "truncated" in truncated.json()["message"]
        missing = client.post(url, content=form([("other", archive)]), headers=content_type)
        assert missing.status_code == 400 and missing.json()["message"] == "The multipart body has no 'file' field"
        gzip_not_tar = client.post(url, content=form([("file", zlib.compress(b"x" * 2000, wbits=31))]), headers=content_type)
        assert gzip_not_tar.status_code == 400 and "tar.gz" in gzip_not_tar.json()["message"]
        empty_tar = io.BytesIO()
        with tarfile.open(fileobj=empty_tar, mode="w:gz"):
            pass
        assert client.post(url, content=form([("file", empty_tar.getvalue())]), headers=content_type).status_code == 200
        not_multipart = client.post(url, content=b"x", headers={"Content-Type": "application/json"})
        assert not_multipart.status_code == 400
    leftovers = list((local_backend.data_dir / "cp").glob("*.partial"))
    assert leftovers == []


# -- a 200 MiB round trip ----------------------------------------------------------------------


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid``, in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


class BigUpload:
    """A multipart body carrying a gzip'd tar of ``size`` bytes, made as it is sent."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent_archive = hashlib.sha256()
        self.archive_bytes = 0

    def archive(self) -> Iterator[bytes]:
        block = os.urandom(MiB)  # incompressible, so the archive is as big as its content
        info = tarfile.TarInfo("big.bin")
        info.size = self.size
        deflate = zlib.compressobj(0, zlib.DEFLATED, 31)  # stored blocks: fast, gzip format
        yield deflate.compress(info.tobuf())
        for _ in range(self.size // MiB):
            yield deflate.compress(block)
        yield deflate.compress(b"\0" * (1024 + (-self.size % 512)))
        yield deflate.flush()

    def body(self) -> Iterator[bytes]:
        yield (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.tar.gz"\r\n'
               "Content-Type: application/gzip\r\n\r\n").encode()
        for piece in self.archive():
            if piece:
                self.sent_archive.update(piece)
                self.archive_bytes += len(piece)
                yield piece
        yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_200_mib_upload_and_download_stay_in_flat_memory(make_backend: Callable[..., Any]) -> None:
    backend = make_backend()
    pid = backend.process.pid
    with httpx.Client(base_url=backend.url, headers=backend.headers, timeout=120) as client:
        client.get("/")  # let the server settle past its first request
        idle = memory(pid)
        budget = max(idle["VmRSS"], idle["VmHWM"]) + 64 * MiB

        upload = BigUpload(200 * MiB)
        response = client.post(
            "/cp", content=upload.body(), headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        assert response.status_code == 200, response.text
        assert upload.archive_bytes >= 200 * MiB
        after_upload = memory(pid)
        assert after_upload["VmHWM"] < budget, (idle, after_upload)

        stored = backend.data_dir / "cp" / f"{response.json()['uuid']}.tar.gz"
        assert stored.stat().st_size == upload.archive_bytes

        received = hashlib.sha256()
        size = 0
        with client.stream("GET", f"/cp/{response.json()['uuid']}") as download:
            assert download.status_code == 200
            for chunk in download.iter_bytes():
                received.update(chunk)
                size += len(chunk)
        assert (size, received.hexdigest()) == (upload.archive_bytes, upload.sent_archive.hexdigest())
        after_download = memory(pid)
        assert after_download["VmHWM"] < budget, (idle, after_download)
