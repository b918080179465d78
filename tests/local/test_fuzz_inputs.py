"""Random bodies and params never crash a route: the answer is always a clean 4xx or a 2xx."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.timeout(300)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
KEYS = ["base", "name", "port", "secret", "variable", "file", "volume", "service", "command", "id", "sandboxId",
        "preferences", "directory", "directoryPath", "uuid", "ttl", "timeout", "privateKey", "publicKey", "authKey"]
bodies = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=5)
METHODS = [
    "sandbox.exposePort", "sandbox.unexposePort", "secret.addSecret", "variable.addVariable", "file.addFile",
    "volume.addVolume", "volume.updateVolume", "service.addService", "sandbox.putPreferences", "sandbox.putSshKeys",
    "sandbox.putTailscaleAuthKey", "sandbox.createBackup", "sandbox.restoreBackup", "sandbox.pullDirectory",
    "sandbox.exec", "secret.updateSecret",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(METHODS), body=bodies, ref=st.text(max_size=20))
def test_random_inputs_never_crash(local_backend, method, body, ref) -> None:
    response = httpx.post(
        f"{local_backend.url}/xrpc/io.pocketenv.{method}",
        params={"id": ref or "x", "sandboxId": ref or "x", "serviceId": ref or "x"},
        json=body, headers=local_backend.headers, timeout=30,
    )
    assert response.status_code in (200, 400, 404, 409, 413), (method, body, response.text)
    if response.status_code != 200:
        assert set(response.json()) == {"error", "message"}
