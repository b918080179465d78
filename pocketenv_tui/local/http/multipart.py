"""A small streaming ``multipart/form-data`` parser (RFC 7578 over RFC 2046), bounded memory.

Copy uploads (``POST /cp``) are up to 256 MiB; parsing them whole (the standard library's
``email`` parser) held several copies of the body at once. :class:`MultipartParser` is fed
the body chunk by chunk and yields events instead:

- :class:`PartStart` with the part's headers and its ``Content-Disposition`` name/filename,
- ``bytes`` of that part's content, in pieces as they arrive,
- :class:`PartEnd`.

What it keeps between chunks is bounded: at most one chunk plus the delimiter's length while
in a part's content, and at most ``MAX_HEADER_BYTES`` while reading a part's headers. The
body must end with the closing delimiter: :meth:`MultipartParser.close` raises
:class:`MultipartError` for a truncated one. No dependency beyond the standard library
(Starlette's own parser needs python-multipart).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_HEADER_BYTES = 16 * 1024
MAX_BOUNDARY = 200  # RFC 2046 allows 70; a little slack for odd clients

_BOUNDARY_PARAM = re.compile(r';\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', re.I)
_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


class MultipartError(ValueError):
    """The body is not well-formed multipart; the message says how."""


@dataclass
class PartStart:
    headers: dict[str, str]
    name: str | None = None
    filename: str | None = None


@dataclass
class PartEnd:
    pass


Event = PartStart | bytes | PartEnd


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type; MultipartError otherwise."""
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        raise MultipartError("Expected a multipart/form-data body")
    match = _BOUNDARY_PARAM.search(content_type)
    if match is None:
        raise MultipartError("The multipart/form-data Content-Type has no boundary")
    boundary = match.group(1) if match.group(1) is not None else match.group(2)
    boundary = re.sub(r"\\(.)", r"\1", boundary)
    if not 1 <= len(boundary) <= MAX_BOUNDARY or not boundary.isascii():
        raise MultipartError("The multipart boundary must be 1 to 70 ASCII characters")
    return boundary.encode("ascii")


def _unquote(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _parse_headers(block: bytes) -> PartStart:
    headers: dict[str, str] = {}
    # Header bytes are latin-1 on the wire; browsers put UTF-8 file names in them, so decode
    # as UTF-8 where that works.
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("latin-1")
    for line in text.split("\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise MultipartError(f"Malformed part header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    part = PartStart(headers=headers)
    disposition = headers.get("content-disposition", "")
    if disposition:
        for key, quoted, bare in _DISPOSITION_PARAM.findall(disposition):
            value = _unquote(quoted) if quoted else bare
            if key.lower() == "name":
                part.name = value
            elif key.lower() == "filename":
                part.filename = value
    return part


@dataclass
class MultipartParser:
    """Push parser: ``for event in parser.feed(chunk)``, then ``parser.close()``."""

    boundary: bytes
    _buffer: bytearray = field(default_factory=lambda: bytearray(b"\r\n"))
    _state: str = "preamble"  # preamble | after_delimiter | headers | body | epilogue

    def __post_init__(self) -> None:
        # Every delimiter is CRLF "--" boundary; the buffer starts with a CRLF so that a
        # delimiter at the very start of the body is found the same way.
        self._delimiter = b"\r\n--" + self.boundary

    @property
    def done(self) -> bool:
        return self._state == "epilogue"

    def feed(self, data: bytes) -> Iterator[Event]:
        if self._state == "epilogue":
            return  # anything after the closing delimiter is ignored (RFC 2046)
        self._buffer += data
        yield from self._parse()

    def close(self) -> None:
        """Check the body ended properly; MultipartError if it was cut short."""
        if self._state != "epilogue":
            raise MultipartError("The multipart body is truncated (it ends before the closing boundary)")

    def _parse(self) -> Iterator[Event]:
        delimiter = self._delimiter
        buf = self._buffer
        while True:
            if self._state == "preamble":
                at = buf.find(delimiter)
                if at < 0:
                    del buf[: max(0, len(buf) - len(delimiter) + 1)]
                    return
                del buf[: at + len(delimiter)]
                self._state = "after_delimiter"
            elif self._state == "after_delimiter":
                if buf.startswith(b"--"):
                    self._state = "epilogue"
                    buf.clear()
                    return
                end = buf.find(b"\r\n")
                # Only transport padding (spaces, tabs) may sit between a delimiter and its CRLF.
                line = bytes(buf) if end < 0 else bytes(buf[:end])
                if end < 0 and line in (b"", b"-"):
                    return  # wait: this may still become "--" or padding
                if line.rstrip(b"\r").strip(b" \t") or len(line) > 1024:
                    raise MultipartError("Malformed multipart delimiter line")
                if end < 0:
                    return
                del buf[: end + 2]
                self._state = "headers"
            elif self._state == "headers":
                if buf.startswith(b"\r\n"):  # a part without headers
                    del buf[:2]
                    yield PartStart(headers={})
                    self._state = "body"
                    continue
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEADER_BYTES:
                        raise MultipartError(f"A part's headers are longer than {MAX_HEADER_BYTES} bytes")
                    return
                if end > MAX_HEADER_BYTES:
                    raise MultipartError(f"A part's headers are longer than {MAX_HEADER_BYTES} bytes")
                part = _parse_headers(bytes(buf[:end]))
                del buf[: end + 4]
                yield part
                self._state = "body"
            elif self._state == "body":
                at = buf.find(delimiter)
                if at < 0:
                    # Keep what could be the start of a delimiter; the rest is content.
                    keep = len(delimiter) - 1
                    if len(buf) > keep:
                        yield bytes(buf[: len(buf) - keep])
                        del buf[: len(buf) - keep]
                    return
                if at:
                    yield bytes(buf[:at])
                yield PartEnd()
                del buf[: at + len(delimiter)]
                self._state = "after_delimiter"
            else:
                buf.clear()
                return
