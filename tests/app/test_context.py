"""The start-up rule: a configured token selects that API, otherwise the local backend."""

from pathlib import Path

import pytest

from pocketenv_tui.app.contexts.resolve import (
    AppContext,
    ContextError,
    available_contexts,
    resolve_context,
)

PUBLIC_KEY = "2bf96e12d109e6948046a7803ef1696e12c11f04f20a6ce64dbd4bcd93db9341"


@pytest.fixture(autouse=True)
def no_token(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pocketenv/token.json
    for name in ("POCKETENV_TOKEN", "POCKETENV_API_URL", "POCKETENV_PUBLIC_KEY", "POCKETENV_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)


class LocalStarter:
    """Records the calls the resolver makes instead of starting a server."""

    def __init__(self) -> None:
        self.calls: list[Path | None] = []

    def __call__(self, data_dir: Path | None) -> AppContext:
        self.calls.append(data_dir)
        return AppContext("local", "http://127.0.0.1:1", "tok", PUBLIC_KEY, data_dir=data_dir)


def test_no_token_uses_the_local_backend():
    starter = LocalStarter()
    context = resolve_context(start_local=starter)
    assert context.kind == "local" and starter.calls == [None]
    assert "local backend at http://127.0.0.1:1" in context.label


def test_a_token_selects_its_api(monkeypatch):
    monkeypatch.setenv("POCKETENV_TOKEN", "secret-token")
    monkeypatch.setenv("POCKETENV_API_URL", "http://127.0.0.1:5/")
    starter = LocalStarter()
    context = resolve_context(start_local=starter)
    assert starter.calls == []
    assert context.kind == "api" and context.api_url == "http://127.0.0.1:5"
    assert context.token == "secret-token"
    assert "secret-token" not in context.label and "secret-token" not in repr(context)


def test_token_file_counts_as_configured(tmp_path):
    (tmp_path / ".pocketenv").mkdir()
    (tmp_path / ".pocketenv" / "token.json").write_text('{"token": "from-file"}')
    context = resolve_context(start_local=LocalStarter())
    assert context.kind == "api" and context.token == "from-file"
    assert available_contexts() == ["local", "api"]


def test_local_flag_and_data_dir_override_a_token(monkeypatch, tmp_path):
    monkeypatch.setenv("POCKETENV_TOKEN", "secret-token")
    starter = LocalStarter()
    assert resolve_context(local=True, start_local=starter).kind == "local"
    assert resolve_context(data_dir=tmp_path, start_local=starter).kind == "local"
    assert starter.calls == [None, tmp_path]


def test_api_url_without_a_token_explains_the_fix():
    with pytest.raises(ContextError, match="POCKETENV_TOKEN"):
        resolve_context(api_url="http://127.0.0.1:5", start_local=LocalStarter())
    assert available_contexts() == ["local"]
