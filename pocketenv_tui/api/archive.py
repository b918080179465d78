"""tar.gz packing and safe unpacking for copies through cp storage."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path


def pack_path(source: Path | str) -> bytes:
    """A tar.gz of a directory's contents, or of a single file, with paths relative to it."""
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"nothing to copy at {source}")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        if source.is_dir():
            for child in sorted(source.iterdir()):
                tar.add(child, arcname=child.name)
        else:
            tar.add(source, arcname=source.name)
    return buffer.getvalue()


def unpack_into(archive: bytes, destination: Path | str) -> list[str]:
    """Extract a tar.gz into ``destination``; the member names written.

    Uses tarfile's ``data`` filter, which refuses absolute paths, ``..`` escapes, device files
    and links pointing outside the destination: the archive comes from a remote sandbox.
    """
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            names = tar.getnames()
            tar.extractall(destination, filter="data")
    except tarfile.TarError as exc:
        raise ValueError(f"the downloaded archive cannot be unpacked: {exc}") from None
    return names
