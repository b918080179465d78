"""A scripted stand-in for the hosted Pocketenv API, on httpx.MockTransport.

Routes answer by NSID (or raw path); every request is recorded with its decoded query and body
so tests can check exactly what the client sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.crypto import unseal

API_URL = "http://api.test"
TOKEN = "test-token"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response] | BaseException


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    raw_body: bytes
    headers: httpx.Headers

    @property
    def nsid(self) -> str:
        return self.path.removeprefix("/xrpc/")

    @property
    def body(self) -> Any:
        return json.loads(self.raw_body) if self.raw_body else None


@dataclass
class MockApi:
    seen: list[Seen] = field(default_factory=list)
    routes: dict[str, list[Answer]] = field(default_factory=dict)

    def on(self, name: str, *answers: Answer) -> MockApi:
        """Answer requests to ``name`` (an NSID without prefix, or a path) in turn; the last repeats."""
        key = name if name.startswith("/") else "/xrpc/io.pocketenv." + name
        self.routes[key] = list(answers)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            Seen(
                method=request.method,
                path=request.url.path,
                query=dict(request.url.params),
                raw_body=request.read(),
                headers=request.headers,
            )
        )
        answers = self.routes.get(request.url.path)
        if not answers:
            # What Express says for a path nobody handles.
            return httpx.Response(
                404,
                text="<!DOCTYPE html><pre>Cannot GET</pre>",
                headers={"content-type": "text/html"},
            )
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def client(self, public_key: str, **kwargs: Any) -> PocketenvClient:
        kwargs.setdefault("api_url", API_URL)
        kwargs.setdefault("token", TOKEN)
        return PocketenvClient(public_key=public_key, transport=self.transport(), **kwargs)

    @property
    def last(self) -> Seen:
        return self.seen[-1]


def ok(data: Any = None) -> httpx.Response:
    """200 with JSON, or 200 with an empty body when ``data`` is None (as the server does)."""
    if data is None:
        return httpx.Response(200, content=b"")
    return httpx.Response(200, json=data)


def fail(status: int, error: str | None = None, message: str | None = None, **headers: str):
    body: dict[str, str] = {}
    if error is not None:
        body["error"] = error
    if message is not None:
        body["message"] = message
    return httpx.Response(status, json=body, headers=headers)


class Sealed:
    """Equal to any string that opens, with the private key, to ``plaintext``."""

    def __init__(self, plaintext: str, private_key: str) -> None:
        self.plaintext = plaintext
        self.private_key = private_key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, str) or "=" in other or "+" in other or "/" in other:
            return False  # sealed values are unpadded URL-safe base64
        try:
            return unseal(other, self.private_key) == self.plaintext
        except Exception:
            return False

    def __repr__(self) -> str:
        return f"Sealed({self.plaintext!r})"

    __hash__ = None  # type: ignore[assignment]
