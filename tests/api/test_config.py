"""Configuration resolution order, the token file and its permissions."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.config import (
    DEFAULT_API_URL,
    DEFAULT_PUBLIC_KEY,
    DEFAULT_STORAGE_URL,
    ConfigError,
    TokenMissingError,
    delete_token_file,
    read_token_file,
    resolve_config,
    token_file_path,
    write_token_file,
)

OTHER_KEY = "11" * 32


def home() -> Path:
    return Path(os.environ["HOME"])


def test_token_file_path_follows_home() -> None:
    assert token_file_path() == home() / ".pocketenv" / "token.json"


def test_defaults_with_a_token_file() -> None:
    write_token_file(None, "file-token")
    config = resolve_config()
    assert config.token == "file-token"
    assert config.api_url == DEFAULT_API_URL and config.is_hosted
    assert config.public_key == DEFAULT_PUBLIC_KEY
    assert config.storage_url == DEFAULT_STORAGE_URL


def test_environment_beats_file(monkeypatch: pytest.MonkeyPatch) -> None:
    write_token_file(None, "file-token")
    monkeypatch.setenv("POCKETENV_TOKEN", "env-token")
    monkeypatch.setenv("POCKETENV_API_URL", "http://127.0.0.1:8789/")
    monkeypatch.setenv("POCKETENV_PUBLIC_KEY", OTHER_KEY.upper())
    config = resolve_config()
    assert config.token == "env-token"
    assert config.api_url == "http://127.0.0.1:8789"
    assert config.public_key == OTHER_KEY
    assert config.storage_url == "http://127.0.0.1:8789"  # not hosted: storage is the API


def test_explicit_arguments_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETENV_TOKEN", "env-token")
    monkeypatch.setenv("POCKETENV_API_URL", "http://env.test")
    monkeypatch.setenv("POCKETENV_STORAGE_URL", "http://env-storage.test")
    config = resolve_config("arg-token", "http://arg.test", OTHER_KEY, "http://arg-storage.test/")
    assert (config.token, config.api_url, config.public_key, config.storage_url) == (
        "arg-token",
        "http://arg.test",
        OTHER_KEY,
        "http://arg-storage.test",
    )


def test_empty_environment_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETENV_TOKEN", "")
    monkeypatch.setenv("POCKETENV_API_URL", "")
    write_token_file(None, "file-token")
    config = resolve_config()
    assert config.token == "file-token" and config.api_url == DEFAULT_API_URL


def test_missing_token_says_how_to_get_one() -> None:
    with pytest.raises(TokenMissingError) as caught:
        resolve_config()
    text = str(caught.value)
    assert "pocketenv login" in text
    assert "POCKETENV_TOKEN" in text
    assert "pocketenv-tui --local" in text
    assert str(token_file_path()) in text
    with pytest.raises(TokenMissingError):
        PocketenvClient()


def test_token_optional_when_not_required() -> None:
    assert resolve_config(require_token=False).token is None
    assert PocketenvClient(require_token=False).config.token is None


def test_bad_values_give_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="must start with http"):
        resolve_config("t", api_url="api.pocketenv.io")
    monkeypatch.setenv("POCKETENV_PUBLIC_KEY", "not-hex")
    with pytest.raises(ConfigError, match="POCKETENV_PUBLIC_KEY is not usable"):
        resolve_config("t")


def test_token_file_written_0600_and_pretty(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "token.json"
    old_umask = os.umask(0)  # even with a permissive umask the file is private
    try:
        write_token_file(target, "jwt-1")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == '{\n  "token": "jwt-1"\n}\n'
    assert read_token_file(target) == "jwt-1"


def test_rewriting_tightens_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "dir" / "token.json"
    target.parent.mkdir()
    target.write_text(json.dumps({"token": "old"}))
    target.chmod(0o644)
    write_token_file(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert read_token_file(target) == "new"
    assert [p.name for p in target.parent.iterdir()] == ["token.json"]  # no temporary left over


def test_token_file_content_problems(tmp_path: Path) -> None:
    target = tmp_path / "token.json"
    assert read_token_file(target) is None
    target.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_token_file(target)
    target.write_text('{"token": ""}')
    assert read_token_file(target) is None
    target.write_text('["token"]')
    assert read_token_file(target) is None


def test_delete_token_file() -> None:
    write_token_file(None, "x")
    assert delete_token_file() is True
    assert delete_token_file() is False


def test_config_repr_hides_the_token() -> None:
    assert "secret-jwt" not in repr(resolve_config("secret-jwt"))
