"""One XRPC call over one ``httpx.AsyncClient``, following the server's body rules.

Every request goes through :meth:`XrpcTransport.call`, which looks the NSID up in
:mod:`pocketenv_tui.api.endpoints` so that the verb and body are always right: parameters in
the query string (for POST too), ``{}`` at least for a procedure with an input, and no body at
all for one without (the hosted server rejects ``{}`` there). Every failure leaves as a
:class:`~pocketenv_tui.api.errors.PocketenvError`; no httpx exception escapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from pocketenv_tui import __version__
from pocketenv_tui.api.endpoints import endpoint
from pocketenv_tui.api.errors import (
    PocketenvConnectionError,
    PocketenvError,
    PocketenvTimeoutError,
    error_from_response,
)

USER_AGENT = f"pocketenv-tui/{__version__}"


def encode_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """Query parameters as the server decodes them: None dropped, booleans as true/false."""
    encoded: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            encoded[key] = "true" if value else "false"
        else:
            encoded[key] = str(value)
    return encoded


def drop_none(body: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object without the keys whose value is None (optional fields left out)."""
    return {key: value for key, value in body.items() if value is not None}


class XrpcTransport:
    def __init__(
        self,
        api_url: str,
        token: str | None,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        plain_http_only: bool = False,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        # Loading the CA bundle costs tens of milliseconds at start-up; a client that only ever
        # talks plain http (the local backend) has no use for it.
        self.plain_http_only = plain_http_only
        self.timeout = timeout
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
            verify=not plain_http_only,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def closed(self) -> bool:
        return self.http.is_closed

    async def call(
        self,
        nsid: str,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - httpx's own per-request timeout
    ) -> Any:
        """Make one XRPC call; the decoded JSON answer, or None for an empty 200."""
        spec = endpoint(nsid)
        url = self.api_url + spec.path
        kwargs: dict[str, Any] = {"params": encode_params(params)}
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(timeout)
        if spec.method == "POST" and spec.has_input:
            kwargs["json"] = dict(body or {})
        elif body:
            raise ValueError(f"{spec.nsid} takes no input body")
        response = await self.send(spec.method, url, nsid=spec.nsid, **kwargs)
        return decode_json(response, spec.nsid)

    async def send(
        self, method: str, url: str, *, nsid: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request and raise :class:`PocketenvError` unless the answer is 2xx."""
        what = nsid.removeprefix("io.pocketenv.") if nsid else url
        if self.plain_http_only and url.startswith("https://"):
            # Never talk TLS without certificate checks.
            raise PocketenvConnectionError(f"{what}: {url} needs TLS, but this client was made for plain http only")
        try:
            response = await self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            limit = _timeout_of(kwargs.get("timeout"), self.timeout)
            raise PocketenvTimeoutError(
                f"{what}: no answer from {self.api_url} within {limit:g} s ({type(exc).__name__})",
                nsid=nsid,
            ) from None
        except httpx.ConnectError as exc:
            raise PocketenvConnectionError(
                f"cannot connect to {_origin(url)}: {_reason(exc)}", nsid=nsid
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise PocketenvConnectionError(
                f"{what}: request to {_origin(url)} failed: {_reason(exc)}", nsid=nsid
            ) from None
        except RuntimeError as exc:
            # httpx raises RuntimeError when the client was already closed.
            raise PocketenvConnectionError(f"{what}: {exc}", nsid=nsid) from None
        if not response.is_success:
            raise error_from_response(response, nsid)
        return response


def decode_json(response: httpx.Response, nsid: str | None) -> Any:
    """The JSON body of a 2xx answer; None when it is empty (a success with no output)."""
    content = response.content
    if not content or not content.strip():
        return None
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError):
        what = nsid.removeprefix("io.pocketenv.") if nsid else str(response.url)
        raise PocketenvError(
            response.status_code,
            "InvalidResponse",
            f"{what}: the server answered with something that is not JSON "
            f"({response.headers.get('content-type', 'no content type')}); is the API URL right?",
            nsid=nsid,
        ) from None


def _timeout_of(value: Any, default: float) -> float:
    if isinstance(value, httpx.Timeout) and value.read is not None:
        return value.read
    return default


def _origin(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii', 'replace')}"


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    # Connection errors wrap the OS error; its text is the readable part.
    if not text and exc.__context__ is not None:
        text = str(exc.__context__).strip()
    return text or type(exc).__name__
