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
    terminal = first.mint_terminal_token()
    assert first.verify_token(terminal) is None  # terminal tokens open terminals only
    assert first.verify_terminal_token(terminal) == first.did
    assert first.verify_terminal_token(first.token) == first.did
    assert first.is_terminal_only(terminal) and not first.is_terminal_only(first.token)
    assert first.verify_token(None) is None and first.verify_token("null") is None
    assert first.open_sealed(seal("plain", first.public_key)) == "plain"
    with pytest.raises(ValueError):
        first.open_sealed("garbage")


def test_terminal_tokens_are_scoped_and_short_lived(tmp_path) -> None:
    from pocketenv_tui.local.state.identity import TERMINAL_SCOPE, TERMINAL_TOKEN_LIFETIME_SECONDS

    ident = load_or_create_identity(tmp_path)
    assert TERMINAL_TOKEN_LIFETIME_SECONDS == 8 * 3600
    payload = decode_jwt(ident.mint_terminal_token(), ident.jwt_secret)
    assert payload["scope"] == TERMINAL_SCOPE and payload["sub"] == ident.did
    assert payload["exp"] - payload["iat"] == TERMINAL_TOKEN_LIFETIME_SECONDS
    # Minted nine hours ago: expired.
    stale = ident.mint_terminal_token(now=int(time.time()) - 9 * 3600)
    assert ident.verify_terminal_token(stale) is None and not ident.is_terminal_only(stale)
    # What older versions minted ({sub, iat, exp} for 100 years, no scope) opens nothing now.
    now = int(time.time())
    legacy = sign_jwt({"sub": ident.did, "iat": now, "exp": now + 100 * 365 * 86400}, ident.jwt_secret)
    assert ident.verify_token(legacy) is None and ident.verify_terminal_token(legacy) is None
    # A terminal scope with a lifetime longer than allowed is not honoured either.
    long = sign_jwt({"sub": ident.did, "scope": "terminal", "iat": now, "exp": now + 86400}, ident.jwt_secret)
    assert ident.verify_terminal_token(long) is None
    # The scope cannot be dropped by adding a did claim to a terminal token.
    mixed = sign_jwt({"did": ident.did, "sub": ident.did, "scope": "terminal", "iat": now, "exp": now + 60}, ident.jwt_secret)
    assert ident.verify_token(mixed) is None
