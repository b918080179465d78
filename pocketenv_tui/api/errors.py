"""The errors the client raises: one type for every failed call.

The hosted server's error names are inconsistent (a 404 is ``XRPCNotSupported`` unless a
handler names it, every 500 hides its message), so callers should branch on ``status``; the
name and message are kept for display.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

# What the server calls an error when its body does not say (reference/api.md §1.5).
DEFAULT_ERROR_NAMES: dict[int, str] = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "XRPCNotSupported",
    413: "PayloadTooLargeError",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    501: "MethodNotImplemented",
    502: "UpstreamFailure",
}


class PocketenvError(Exception):
    """A call that did not succeed: HTTP status, XRPC error name and a readable message."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        nsid: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, error, message)
        self.status = status
        self.error = error
        self.message = message
        self.nsid = nsid
        # Seconds to wait before trying again; set on 429 answers.
        self.retry_after = retry_after

    @property
    def not_found(self) -> bool:
        return self.status == 404

    def __str__(self) -> str:
        if self.status == 0:
            return self.message
        return f"{self.message} (HTTP {self.status} {self.error})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status!r}, {self.error!r}, {self.message!r})"


class PocketenvConnectionError(PocketenvError):
    """The server could not be reached, or did not answer in time (status 0)."""

    def __init__(self, message: str, *, error: str = "ConnectionError", nsid: str | None = None):
        super().__init__(0, error, message, nsid=nsid)


class PocketenvTimeoutError(PocketenvConnectionError):
    """A request, or a wait for a sandbox, ran past its time limit."""

    def __init__(self, message: str, *, nsid: str | None = None):
        super().__init__(message, error="Timeout", nsid=nsid)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import email.utils  # only for an HTTP-date Retry-After, which is rare

        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_from_response(response: httpx.Response, nsid: str | None = None) -> PocketenvError:
    """Build the error for a non-2xx answer, whatever shape its body has."""
    status = response.status_code
    name = DEFAULT_ERROR_NAMES.get(status, f"HTTP{status}")
    message = ""
    body: object = None
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        raw_error = body.get("error")
        raw_message = body.get("message")
        if isinstance(raw_message, str) and raw_message:
            message = raw_message
            if isinstance(raw_error, str) and raw_error:
                name = raw_error
        elif isinstance(raw_error, str) and raw_error:
            # The rate limiter and body-parser put prose in "error" and send no message;
            # an identifier-like word is a name, anything else is the message.
            if raw_error.isidentifier():
                name = raw_error
            else:
                message = raw_error
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if status == 429 else None
    if not message:
        message = _fallback_message(status, nsid, response)
    if status == 429 and retry_after is not None:
        message = f"{message.rstrip('.')}; retry after {retry_after:g} s"
    return PocketenvError(status, name, message, nsid=nsid, retry_after=retry_after)


def _fallback_message(status: int, nsid: str | None, response: httpx.Response) -> str:
    what = nsid.removeprefix("io.pocketenv.") if nsid else str(response.request.url.path)
    if status == 404:
        return f"the server does not provide {what} (not found)"
    if status == 429:
        return "too many requests to the Pocketenv API"
    if status == 401:
        return "authentication required: the token is missing or not accepted"
    reason = response.reason_phrase or "error"
    text = ""
    content_type = response.headers.get("content-type", "")
    if response.content and "html" not in content_type:
        try:
            text = _short(response.text)
        except UnicodeDecodeError:
            text = ""
    return f"{what} failed: {reason}" + (f": {text}" if text else "")
