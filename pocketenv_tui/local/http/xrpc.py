"""XRPC dispatch: ``/xrpc/{nsid}`` routed through a table of methods.

It reproduces the hosted server's transport rules (api.md §1.1): queries are GET and
procedures POST, params travel in the query string, procedures with an input need a JSON
body (an empty one counts as ``{}``), methods without one refuse a body, bodies over
100 KB are 413, an NSID with a lexicon but no handler is 404 and an unknown NSID is 501.
Where the hosted server is wrong it does the right thing and keeps the shape: every request
needs a valid token (401 otherwise, before anything else is looked at), params are validated
instead of coerced, and errors keep their message.

Bodies a handler could choke on are a 400 before any handler sees them (never a 500):

- not UTF-8 (RFC 8259 §8.1; it also keeps the depth scan below byte-exact);
- arrays and objects nested deeper than ``MAX_JSON_DEPTH``, found by a scan of the brackets
  outside strings *before* parsing, so the parser's recursion is never reached;
- any string, property names included, holding a lone UTF-16 surrogate (JSON ``"\\udcff"``):
  Python keeps those as unpaired code points that SQLite, the sandbox's environment and the
  JSON encoder of our own answers all refuse. The message names the field, e.g.
  ``Input/variable/value``. Query params cannot carry them (percent-decoding replaces bad
  UTF-8 with U+FFFD).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from pocketenv_tui.local.http.validate import XrpcError, invalid
from pocketenv_tui.local.state.identity import TERMINAL_ONLY_MESSAGE
from pocketenv_tui.local.state.store import Conflict

log = logging.getLogger("pocketenv_tui.local")

MAX_BODY_BYTES = 100 * 1024
# Deepest nesting of arrays/objects a body may have (the top-level object counts as 1). Real
# inputs nest 4 deep at most (putPreferences); 64 leaves room and stays far below recursion limits.
MAX_JSON_DEPTH = 64

# Lexicons that exist but that the hosted API has no handler for (it answers 404).
UNSERVED_NSIDS = frozenset({
    "io.pocketenv.sandbox.getTailscaleToken",
    "io.pocketenv.sandbox.putTailscaleToken",
    "io.pocketenv.sandbox.updateSandboxSettings",
})

# A JSON string literal (escapes included), and what is left to count outside them.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHOWN_KEY = 60  # longest property name quoted in a message

_DID_OR_HANDLE = re.compile(r"^(did:[a-z]+:[A-Za-z0-9._:%-]+|[A-Za-z0-9][A-Za-z0-9.-]{0,252})$")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str = "string"  # "string" | "integer" | "boolean" | "did"
    required: bool = False
    minimum: int | None = None
    maximum: int | None = None
    default: Any = None


@dataclass
class Call:
    """One XRPC request as a handler sees it."""

    request: Request
    did: str
    params: dict[str, Any]
    body: dict[str, Any] | None

    @property
    def input(self) -> dict[str, Any]:
        return self.body if self.body is not None else {}


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Method:
    nsid: str
    verb: str  # "GET" (query) or "POST" (procedure)
    handler: Handler
    params: tuple[Param, ...] = ()
    has_input: bool = False


@dataclass
class Registry:
    methods: dict[str, Method] = field(default_factory=dict)

    def add(self, method: Method) -> None:
        self.methods[method.nsid] = method


class NoContent:
    """A handler result meaning "200 with an empty body" (what the hosted API sends for void procedures)."""


NO_CONTENT = NoContent()


def error_response(status: int, error: str, message: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status_code=status)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class TokenChecker(Protocol):
    """What the HTTP routes need of the identity (state/identity.py ``Identity``)."""

    def verify_token(self, token: str | None) -> str | None: ...

    def is_terminal_only(self, token: str | None) -> bool: ...


def authenticate(request: Request, tokens: TokenChecker) -> str:
    """The DID of an API request's bearer token; XrpcError 401 saying why otherwise.

    Terminal tokens (actor.getTerminalToken) are refused here with their own message: they
    open the terminal WebSockets only.
    """
    token = bearer_token(request)
    if token is None or token == "null":
        raise XrpcError(401, "AuthenticationRequired", "Unauthorized")
    did = tokens.verify_token(token)
    if did is not None:
        return did
    if tokens.is_terminal_only(token):
        raise XrpcError(401, "AuthenticationRequired", TERMINAL_ONLY_MESSAGE)
    raise XrpcError(401, "AuthenticationRequired", "Invalid token")


def parse_params(method: Method, request: Request) -> dict[str, Any]:
    """Only declared params are read; an empty value counts as absent."""
    query = request.query_params
    out: dict[str, Any] = {}
    for p in method.params:
        raw = query.get(p.name)
        if raw is None or raw == "":
            if p.required:
                raise invalid(f'Params must have the property "{p.name}"')
            out[p.name] = p.default
            continue
        if p.kind == "integer":
            try:
                value: Any = int(raw, 10)
            except ValueError:
                raise invalid(f"Error: {p.name} must be an integer") from None
            if p.minimum is not None and value < p.minimum:
                raise invalid(f"Error: {p.name} can not be less than {p.minimum}")
            if p.maximum is not None and value > p.maximum:
                raise invalid(f"Error: {p.name} can not be greater than {p.maximum}")
        elif p.kind == "boolean":
            value = raw == "true"
        elif p.kind == "did":
            if not _DID_OR_HANDLE.match(raw):
                raise invalid(f"Error: {p.name} must be a valid did or a handle")
            value = raw
        else:
            if len(raw) > 2048:
                raise invalid(f"Error: {p.name} must not be longer than 2048 characters")
            value = raw
        out[p.name] = value
    return out


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON; Python's parser would accept them otherwise."""
    raise ValueError(f"{name} is not valid JSON")


def nesting_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of JSON ``text`` nest deeper than ``limit``.

    Brackets inside string literals are not counted. Malformed text gives some answer and is
    refused by the parser afterwards, so only well-formed deep input matters here.
    """
    depth = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _shown(key: str) -> str:
    return key if len(key) <= _SHOWN_KEY else key[:_SHOWN_KEY] + "..."


def find_lone_surrogate(value: Any, path: str = "Input") -> str | None:
    """A message naming where ``value`` (parsed JSON) holds a lone surrogate, else None.

    Iterative, so it is safe at any depth. Property names are checked before their values,
    so a path quoted in the message never itself carries a surrogate.
    """
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if (found := _SURROGATE.search(item)) is not None:
                return (
                    f"{where} must not contain a lone surrogate (U+{ord(found.group()):04X}): "
                    "strings must be valid Unicode"
                )
        elif isinstance(item, dict):
            for key in item:
                if (found := _SURROGATE.search(key)) is not None:
                    return (
                        f"{where} has a property name with a lone surrogate (U+{ord(found.group()):04X}): "
                        "strings must be valid Unicode"
                    )
            stack.extend((child, f"{where}/{_shown(key)}") for key, child in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((child, f"{where}/{i}") for i, child in reversed(list(enumerate(item))))
    return None


def parse_json_body(raw: bytes) -> Any:
    """Parse a request body, refusing (400) what is not UTF-8, too deep or not valid JSON."""
    try:
        text = raw.decode("utf-8-sig")  # a leading BOM is tolerated, as json.loads(bytes) did
    except UnicodeDecodeError as exc:
        raise invalid(f"Request body is not valid UTF-8 (byte {exc.start})") from None
    if nesting_exceeds(text):
        raise invalid(f"Request body is nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:  # unreachable after the scan; kept so a deep body can never be a 500
        raise invalid(f"Request body is nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects") from None
    except ValueError:
        raise invalid("Request body is not valid JSON") from None


async def read_body(method: Method, request: Request) -> dict[str, Any] | None:
    headers = request.headers
    length_header = headers.get("content-length")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    try:
        declared = int(length_header) if length_header is not None else None
    except ValueError:
        raise invalid("Invalid Content-Length header") from None
    has_body = chunked or (declared is not None and declared > 0)

    if not method.has_input:
        if has_body:
            raise invalid("A request body was provided when none was expected")
        return None
    if declared is None and not chunked:
        raise invalid("A request body is expected but none was provided")
    content_type = headers.get("content-type")
    if not content_type:
        raise invalid("Request encoding (Content-Type) required but not provided")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise invalid(f"Wrong request encoding (Content-Type): {content_type}")
    if declared is not None and declared > MAX_BODY_BYTES:
        raise XrpcError(413, "PayloadTooLargeError", "request entity too large")

    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise XrpcError(413, "PayloadTooLargeError", "request entity too large")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    body = parse_json_body(raw)
    if not isinstance(body, dict):
        raise invalid("Input must be an object")
    if (problem := find_lone_surrogate(body)) is not None:
        raise invalid(problem)
    return body


def render(result: Any) -> Response:
    if isinstance(result, NoContent):
        return Response(status_code=200)
    if isinstance(result, Response):  # a handler that answers in its own way (execStream)
        return result
    return JSONResponse(result)


def make_endpoint(
    registry: Registry,
    tokens: TokenChecker,
    runtime_error: type[Exception],
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for ``/xrpc/{nsid}``."""

    async def endpoint(request: Request) -> Response:
        nsid = request.path_params["nsid"]
        try:
            did = authenticate(request, tokens)
        except XrpcError as exc:
            return error_response(exc.status, exc.error, exc.message)

        method = registry.methods.get(nsid)
        if method is None:
            if nsid in UNSERVED_NSIDS:
                return error_response(404, "XRPCNotSupported", f"{nsid} is not served by this server")
            return error_response(501, "MethodNotImplemented", "Method Not Implemented")
        if request.method != method.verb:
            return error_response(400, "InvalidRequest", f"Incorrect HTTP method ({request.method}) expected {method.verb}")

        try:
            params = parse_params(method, request)
            body = await read_body(method, request)
            result = await method.handler(Call(request=request, did=did, params=params, body=body))
        except XrpcError as exc:
            return error_response(exc.status, exc.error, exc.message)
        except ClientDisconnect:
            # The client left mid-body: nobody will read this answer, and it is not our error.
            return error_response(400, "InvalidRequest", "The request body was cut off (the client disconnected)")
        except Conflict:
            return error_response(409, "Conflict", "That already exists (duplicate name, path or port)")
        except runtime_error as exc:
            return error_response(502, "SandboxProviderError", str(exc) or "The sandbox runtime failed")
        except Exception:
            log.exception("unhandled error in %s", nsid)
            return error_response(500, "InternalServerError", "Internal Server Error")
        return render(result)

    return endpoint
