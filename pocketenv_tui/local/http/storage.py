"""The copy storage routes: ``POST /cp`` (multipart field ``file``, a tar.gz) and ``GET /cp/{uuid}``.

For the local backend the storage URL is the API URL. Both routes need the login bearer
token (a terminal token is refused, see state/identity.py).

Both directions stream, so memory stays flat whatever the size (up to ``MAX_UPLOAD_BYTES``):
an upload is parsed as it arrives (:mod:`multipart`) and the ``file`` part goes to a temp
file in the cp dir in writes of at most ``WRITE_BATCH`` bytes, done off the event loop; the
body limit is enforced while reading (413 as soon as it is passed). Only then is the file
checked to be a gzip'd tar, cheaply: the first member's header is read, not the whole
archive. A good upload is renamed into place, anything else is deleted. A download is a
``FileResponse``, which sends the file in 64 KiB pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tarfile
import tempfile
import uuid as uuidlib
from pathlib import Path
from typing import BinaryIO

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from pocketenv_tui.local.http.handlers.transfer import check_uuid
from pocketenv_tui.local.http.multipart import (
    MultipartError,
    MultipartParser,
    PartEnd,
    PartStart,
    boundary_of,
)
from pocketenv_tui.local.http.validate import XrpcError
from pocketenv_tui.local.http.xrpc import TokenChecker, authenticate, error_response

MAX_UPLOAD_BYTES = 256 * 1024 * 1024
WRITE_BATCH = 1024 * 1024
FILE_FIELD = "file"
_ACCEPTED_ENCODINGS = ("", "binary", "8bit", "7bit")


def _too_large() -> XrpcError:
    return XrpcError(413, "PayloadTooLargeError", "request entity too large")


def _bad(message: str) -> XrpcError:
    return XrpcError(400, "InvalidRequest", message)


def check_tar_gz(path: Path) -> None:
    """400 unless ``path`` starts like a gzip'd tar (gzip header, then a valid tar header).

    ``tarfile.open`` reads just the first member's header; an empty archive is fine too.
    """
    try:
        with tarfile.open(path, mode="r:gz"):
            pass
    except (tarfile.TarError, OSError, EOFError):
        raise _bad("The 'file' field must be a tar.gz archive") from None


async def receive_file_field(request: Request, boundary: bytes, out: BinaryIO, limit: int) -> int:
    """Stream the body's ``file`` part into ``out``; its size. XrpcError 400/413 on bad input."""
    parser = MultipartParser(boundary)
    received = 0
    in_file = found = False
    pending = bytearray()
    written = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large()
        try:
            for event in parser.feed(chunk):
                if isinstance(event, PartStart):
                    in_file = event.name == FILE_FIELD and not found
                    if in_file:
                        encoding = event.headers.get("content-transfer-encoding", "").lower()
                        if encoding not in _ACCEPTED_ENCODINGS:
                            raise _bad(f"The 'file' field must be sent as binary (not {encoding})")
                        found = True
                elif isinstance(event, PartEnd):
                    in_file = False
                elif in_file:
                    pending += event
        except MultipartError as exc:
            raise _bad(str(exc)) from None
        if len(pending) >= WRITE_BATCH:
            await asyncio.to_thread(out.write, bytes(pending))
            written += len(pending)
            pending.clear()
    try:
        parser.close()
    except MultipartError as exc:
        raise _bad(str(exc)) from None
    if not found:
        raise _bad("The multipart body has no 'file' field")
    if pending:
        await asyncio.to_thread(out.write, bytes(pending))
        written += len(pending)
    return written


def storage_routes(data_dir: Path, tokens: TokenChecker) -> list[Route]:
    cp_dir = data_dir / "cp"

    async def upload(request: Request) -> Response:
        try:
            authenticate(request, tokens)
            try:
                boundary = boundary_of(request.headers.get("content-type", ""))
            except MultipartError:
                raise _bad("Expected a multipart/form-data body with a 'file' field") from None
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
                raise _too_large()
            copy_id = await _store(request, boundary)
        except XrpcError as exc:
            return error_response(exc.status, exc.error, exc.message)
        return JSONResponse({"uuid": copy_id})

    async def _store(request: Request, boundary: bytes) -> str:
        await asyncio.to_thread(cp_dir.mkdir, parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=cp_dir, suffix=".partial")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    await receive_file_field(request, boundary, out, MAX_UPLOAD_BYTES)
                except ClientDisconnect:
                    raise _bad("The upload was cut off before the body ended") from None
            await asyncio.to_thread(check_tar_gz, tmp)
            copy_id = str(uuidlib.uuid4())
            await asyncio.to_thread(os.replace, tmp, cp_dir / f"{copy_id}.tar.gz")
            return copy_id
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    async def download(request: Request) -> Response:
        try:
            authenticate(request, tokens)
            copy_id = check_uuid(request.path_params["uuid"], "uuid")
        except XrpcError as exc:
            return error_response(exc.status, exc.error, exc.message)
        path = cp_dir / f"{copy_id}.tar.gz"
        if not path.is_file():
            return error_response(404, "NotFound", f"No upload with uuid {copy_id}")
        return FileResponse(path, media_type="application/gzip", filename=f"{copy_id}.tar.gz")

    return [
        Route("/cp", upload, methods=["POST"]),
        Route("/cp/{uuid}", download, methods=["GET"]),
    ]
