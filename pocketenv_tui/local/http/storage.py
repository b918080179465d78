"""The copy storage routes: ``POST /cp`` (multipart field ``file``, a tar.gz) and ``GET /cp/{uuid}``.

For the local backend the storage URL is the API URL. Both routes need the login bearer
token (a terminal token is refused, see state/identity.py).
Multipart bodies are parsed with the standard library's MIME parser (Starlette's own form
parser would need the python-multipart package, which this project does not depend on).
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import io
import os
import tarfile
import tempfile
import uuid as uuidlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from pocketenv_tui.local.http.handlers.transfer import check_uuid
from pocketenv_tui.local.http.validate import XrpcError
from pocketenv_tui.local.http.xrpc import TokenChecker, authenticate, error_response

MAX_UPLOAD_BYTES = 256 * 1024 * 1024


def _extract_file_field(content_type: str, body: bytes) -> bytes:
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise XrpcError(400, "InvalidRequest", "Expected a multipart/form-data body with a 'file' field")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise XrpcError(400, "InvalidRequest", "The multipart body could not be parsed")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise XrpcError(400, "InvalidRequest", "The multipart body has no 'file' field")


def _check_tar_gz(data: bytes) -> None:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.getmembers()
    except (tarfile.TarError, OSError, EOFError):
        raise XrpcError(400, "InvalidRequest", "The 'file' field must be a tar.gz archive") from None


def _store_upload(content_type: str, body: bytes, target_dir: Path) -> str:
    data = _extract_file_field(content_type, body)
    _check_tar_gz(data)
    target_dir.mkdir(parents=True, exist_ok=True)
    copy_id = str(uuidlib.uuid4())
    fd, tmp = tempfile.mkstemp(dir=target_dir, suffix=".partial")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target_dir / f"{copy_id}.tar.gz")
    return copy_id


def storage_routes(data_dir: Path, tokens: TokenChecker) -> list[Route]:
    cp_dir = data_dir / "cp"

    def auth_error(request: Request) -> Response | None:
        try:
            authenticate(request, tokens)
        except XrpcError as exc:
            return error_response(exc.status, exc.error, exc.message)
        return None

    async def upload(request: Request) -> Response:
        if (denied := auth_error(request)) is not None:
            return denied
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
            return error_response(413, "PayloadTooLargeError", "request entity too large")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                return error_response(413, "PayloadTooLargeError", "request entity too large")
            chunks.append(chunk)
        try:
            copy_id = await asyncio.to_thread(
                _store_upload, request.headers.get("content-type", ""), b"".join(chunks), cp_dir
            )
        except XrpcError as exc:
            return error_response(exc.status, exc.error, exc.message)
        return JSONResponse({"uuid": copy_id})

    async def download(request: Request) -> Response:
        if (denied := auth_error(request)) is not None:
            return denied
        try:
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
