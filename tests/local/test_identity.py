"""Unit tests: HS256 tokens and identity files."""

from __future__ import annotations

import time

import pytest

from pocketenv_tui.api.crypto import seal
from pocketenv_tui.local.state.identity import decode_jwt, load_or_create_identity, sign_jwt


def test_jwt_round_trip_tamper_and_expiry() -> None:
    secret = b"k" * 32
    token = sign_jwt({"did": "did:local:x", "iat": 1, "exp": int(time.time()) + 60}, secret)
    assert decode_jwt(token, secret)["did"] == "did:local:x"
    head, body, sig = token.split(".")
    assert decode_jwt(f"{head}.{body}.{sig[:-2]}AA", secret) is None
    assert decode_jwt(token, b"other") is None
    assert decode_jwt("not-a-jwt", secret) is None
    assert decode_jwt(token, secret, now=time.time() + 120) is None
    none_alg = sign_jwt({"did": "x"}, secret).replace(head, "eyJhbGciOiJub25lIn0")
    assert decode_jwt(none_alg, secret) is None


def test_identity_is_created_once_and_opens_sealed_values(tmp_path) -> None:
    first = load_or_create_identity(tmp_path)
    second = load_or_create_identity(tmp_path)
    assert first == second
    assert first.verify_token(first.token) == first.did
    assert first.verify_token(first.mint_terminal_token()) == first.did
    assert first.verify_token(None) is None and first.verify_token("null") is None
    assert first.open_sealed(seal("plain", first.public_key)) == "plain"
    with pytest.raises(ValueError):
        first.open_sealed("garbage")
