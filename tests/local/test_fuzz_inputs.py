"""Random and hostile bodies and params never crash a route: the answer is a clean 4xx or a 2xx.

Besides the random bodies (Hypothesis), fixed shapes that once answered 500 are sent to every
XRPC method: JSON nested thousands deep (objects and arrays), lone UTF-16 surrogates (``"\\udcff"``)
in keys and values at any depth, huge arrays, and odd query strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pocketenv_tui.api.endpoints import ENDPOINTS

pytestmark = pytest.mark.timeout(300)

# MAX_JSON_DEPTH of local/http/xrpc.py (documented there).
DEPTH_LIMIT = 64
INPUT_NSIDS = sorted(e.nsid for e in ENDPOINTS.values() if e.has_input)
ALL_ENDPOINTS = sorted(ENDPOINTS.values(), key=lambda e: e.nsid)
# Answers a route may give to garbage; 501 only from the integration stubs.
CLEAN = (200, 400, 404, 409, 413)


def clean(nsid: str, response: httpx.Response) -> bool:
    allowed = (*CLEAN, 501) if "Integration" in nsid else CLEAN
    if response.status_code not in allowed:
        return False
    return response.status_code == 200 or set(response.json()) == {"error", "message"}


@pytest.fixture(scope="module")
def client(local_backend: Any) -> Iterator[httpx.Client]:
    """One keep-alive client for the module's many requests."""
    with httpx.Client(base_url=local_backend.url, headers=local_backend.headers, timeout=30) as c:
        yield c


def post_raw(client: httpx.Client, nsid: str, raw: bytes, **params: str) -> httpx.Response:
    return client.post(
        f"/xrpc/{nsid}", params={"id": "x", "sandboxId": "x", "serviceId": "x", **params},
        content=raw, headers={"Content-Type": "application/json"},
    )


lone = st.integers(0xD800, 0xDFFF).map(chr)
texts = st.text(st.characters() | lone, max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
KEYS = ["base", "name", "port", "secret", "variable", "file", "volume", "service", "command", "id", "sandboxId",
        "preferences", "directory", "directoryPath", "uuid", "ttl", "timeout", "privateKey", "publicKey", "authKey"]
bodies = st.dictionaries(st.sampled_from(KEYS) | texts, json_values, max_size=5)


@pytest.fixture(scope="module")
def stopped_sandbox(client: httpx.Client) -> Iterator[str]:
    """A real (stopped) sandbox, so random bodies also reach the code past "Sandbox not found"."""
    created = client.post("/xrpc/io.pocketenv.sandbox.createSandbox", json={"base": "shell"})
    assert created.status_code == 200, created.text
    sid = created.json()["id"]
    try:
        client.post("/xrpc/io.pocketenv.sandbox.stopSandbox", params={"id": sid}, timeout=60).raise_for_status()
        yield sid
    finally:
        client.post("/xrpc/io.pocketenv.sandbox.deleteSandbox", params={"id": sid}, timeout=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nsid=st.sampled_from(INPUT_NSIDS), body=bodies, ref=st.text(max_size=20), real=st.booleans())
def test_random_inputs_never_crash(client, stopped_sandbox, nsid, body, ref, real) -> None:
    ref = stopped_sandbox if real else (ref or "x")
    # json.dumps escapes lone surrogates as \\udXXX, which is what a hostile client would send.
    raw = json.dumps(body).encode()
    response = post_raw(client, nsid, raw, id=ref, sandboxId=ref, serviceId=ref)
    assert clean(nsid, response), (nsid, body, response.status_code, response.text)


def deep_object(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def deep_array(depth: int) -> str:
    return "[" * depth + "]" * depth


DEEP_SHAPES = {
    "object-5000": lambda: deep_object(5000),
    "array-5000": lambda: '{"command":' + deep_array(5000) + "}",
    "object-just-over": lambda: deep_object(DEPTH_LIMIT + 1),
    "array-just-over": lambda: '{"x":' + deep_array(DEPTH_LIMIT) + "}",
    "nested-in-a-field": lambda: '{"variable":{"name":"A","value":' + deep_array(3000) + "}}",
    "closing-brackets-in-strings-do-not-count": lambda: '{"a":"' + "]}" * 5000 + '",' + '"b":' + deep_object(DEPTH_LIMIT + 5) + "}",
}


@pytest.mark.parametrize("nsid", INPUT_NSIDS)
def test_deep_json_is_a_clean_400(client, nsid) -> None:
    for shape, make in DEEP_SHAPES.items():
        response = post_raw(client, nsid, make().encode())
        assert response.status_code == 400, (shape, response.text)
        assert response.json()["error"] == "InvalidRequest"
        assert f"nested deeper than {DEPTH_LIMIT}" in response.json()["message"], shape


def test_json_at_the_depth_limit_is_parsed(client) -> None:
    # 64 levels counting the top-level object: allowed, so the answer is about the content.
    body = '{"variable":' + deep_object(DEPTH_LIMIT - 2) + "}"
    response = post_raw(client, "io.pocketenv.variable.addVariable", body.encode())
    assert response.status_code == 400
    assert "nested" not in response.json()["message"]
    brackets_in_string = json.dumps({"variable": {"name": "B", "value": "[{" * 3000}}).encode()
    assert "nested" not in post_raw(client, "io.pocketenv.variable.addVariable", brackets_in_string).text


SURROGATE_BODIES = [
    (r'{"command":"\udcff"}', "Input/command"),
    (r'{"variable":{"name":"A","value":"x\ud800y"}}', "Input/variable/value"),
    (r'{"secret":{"name":"\udfff","value":"v"}}', "Input/secret/name"),
    (r'{"topics":["ok","\udbff"]}', "Input/topics/1"),
    (r'{"preferences":[{"$type":"t","deep":{"k":[1,{"z":"\udc00"}]}}]}', "Input/preferences/0/deep/k/1/z"),
    (r'{"variable":{"\udcff":"v"}}', "Input/variable"),
    (r'{"\ud800":1}', "Input"),
    (r'{"base":"shell","name":"ok\udcffok"}', "Input/name"),
]


@pytest.mark.parametrize("nsid", INPUT_NSIDS)
def test_lone_surrogates_are_refused(client, nsid) -> None:
    for raw, where in SURROGATE_BODIES:
        response = post_raw(client, nsid, raw.encode())
        assert response.status_code == 400, (raw, response.text)
        message = response.json()["message"]
        assert "lone surrogate" in message, (raw, message)
        assert message.startswith(where + " ") or message.startswith(where + ":"), (raw, message)


def test_surrogate_pairs_are_fine_and_raw_bad_utf8_is_refused(client) -> None:
    pair = r'{"variable":{"name":"EMOJI_PAIR","value":"\ud83d\ude00"}}'
    added = post_raw(client, "io.pocketenv.variable.addVariable", pair.encode())
    assert added.status_code == 200, added.text
    listing = client.get("/xrpc/io.pocketenv.variable.getVariables", params={"limit": 100}).json()
    mine = [v for v in listing["variables"] if v["name"] == "EMOJI_PAIR"]
    assert [v["value"] for v in mine] == ["\U0001f600"]
    for v in mine:
        client.post("/xrpc/io.pocketenv.variable.deleteVariable", params={"id": v["id"]})
    # A surrogate encoded directly as (invalid) UTF-8 bytes is not JSON text either.
    raw = b'{"command":"\xed\xb3\xbf"}'
    response = post_raw(client, "io.pocketenv.sandbox.exec", raw)
    assert response.status_code == 400 and "UTF-8" in response.json()["message"]
    # A leading byte order mark is tolerated (the body is still parsed and checked).
    with_bom = post_raw(client, "io.pocketenv.sandbox.exec", b'\xef\xbb\xbf{"command":"\\udcff"}')
    assert with_bom.status_code == 400 and "Input/command must not contain a lone surrogate" in with_bom.json()["message"]


HUGE = {
    "numbers": lambda: {"topics": [0] * 30_000, "ports": [1025] * 10_000},
    "objects": lambda: {"preferences": [{}] * 20_000},
    "strings": lambda: {"variable": {"name": "A", "value": ["x"] * 20_000}, "service": {"name": "s", "command": "c", "ports": [2000] * 15_000}},
    "top-level-array": lambda: [[]] * 40_000,
    "wide-object": lambda: {f"k{i}": i for i in range(8_000)},
}


@pytest.mark.parametrize("nsid", INPUT_NSIDS)
def test_huge_arrays_never_crash(client, nsid) -> None:
    for shape, make in HUGE.items():
        response = post_raw(client, nsid, json.dumps(make()).encode())
        assert clean(nsid, response), (shape, response.status_code, response.text)


ODD_PARAMS = ["%00", "%ED%B3%BF", "%FF%FE", "x" * 2100, "-1", "99999999999999999999999", "%0A%0D", "..%2F..%2Fetc", "null"]


@pytest.mark.parametrize("endpoint", ALL_ENDPOINTS, ids=lambda e: e.nsid)
def test_odd_query_params_never_crash(client, endpoint) -> None:
    for value in ODD_PARAMS:
        query = "&".join(f"{name}={value}" for name in ("id", "sandboxId", "serviceId", "did", "limit", "isRunning"))
        url = f"/xrpc/{endpoint.nsid}?{query}"
        # Nothing that changes state is sent a real id here, so even a 200 is harmless.
        if endpoint.method == "GET":
            response = client.get(url)
        elif endpoint.has_input:
            response = client.post(url, json={})
        else:
            response = client.post(url)
        assert clean(endpoint.nsid, response), (value[:20], response.status_code, response.text)
