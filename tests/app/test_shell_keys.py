"""The remembered shell keys file: its place, privacy, atomic writes and bad contents."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pocketenv_tui.app.contexts.resolve import AppContext
from pocketenv_tui.app.shell_keys import (
    MAX_KEYS_PER_SANDBOX,
    STATE_DIR_ENV,
    ShellKeys,
    ShellKeysError,
    default_state_path,
    new_session_key,
)

WHEN = datetime(2026, 4, 15, 9, 30, tzinfo=UTC)
CTX = "local:/data"


def test_the_file_lives_in_the_state_dir(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(STATE_DIR_ENV)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_path() == tmp_path / "xdg" / "pocketenv-tui" / "shells.json"
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "elsewhere"))
    assert default_state_path() == tmp_path / "elsewhere" / "shells.json"


def test_keys_are_random_and_url_safe() -> None:
    keys = {new_session_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(k) >= 24 and k.replace("-", "").replace("_", "").isalnum() for k in keys)


def test_missing_file_then_remember_writes_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "shells.json"
    keys = ShellKeys.load(path)
    assert keys.notice is None and keys.last(CTX, "sbx_a") is None
    keys.remember(CTX, "sbx_a", "k1", WHEN)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "version": 1, "contexts": {CTX: {"sbx_a": [{"key": "k1", "openedAt": WHEN.isoformat()}]}},
    }
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert ShellKeys.load(path).last(CTX, "sbx_a") == "k1"


def test_the_last_used_key_is_the_one_t_opens(tmp_path: Path) -> None:
    keys = ShellKeys.load(tmp_path / "shells.json")
    later = datetime(2026, 4, 16, tzinfo=UTC)
    keys.remember(CTX, "sbx_a", "k1", WHEN)
    keys.remember(CTX, "sbx_a", "k2", later)
    assert keys.last(CTX, "sbx_a") == "k2"
    keys.remember(CTX, "sbx_a", "k1", later)  # attached again: last, but still opened at WHEN
    assert [(s.key, s.opened_at) for s in keys.remembered(CTX, "sbx_a")] == [("k2", later), ("k1", WHEN)]
    assert keys.last("local:/other", "sbx_a") is None  # contexts are apart
    for n in range(MAX_KEYS_PER_SANDBOX + 5):
        keys.remember(CTX, "sbx_a", f"n{n}", WHEN)
    assert len(keys.remembered(CTX, "sbx_a")) == MAX_KEYS_PER_SANDBOX


def test_two_dashboards_add_to_the_file_instead_of_overwriting(tmp_path: Path) -> None:
    path = tmp_path / "shells.json"
    one, two = ShellKeys.load(path), ShellKeys.load(path)
    one.remember(CTX, "sbx_a", "from-one", WHEN)
    two.remember(CTX, "sbx_b", "from-two", WHEN)
    assert one.last(CTX, "sbx_b") == "from-two"
    assert ShellKeys.load(path).last(CTX, "sbx_a") == "from-one"


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"\x00\xff\xfe", b"[]", b'{"contexts": []}', b"null", b'{"contexts": {"x": '],
)
def test_a_broken_file_is_rewritten_and_said_calmly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "shells.json"
    path.write_bytes(content)
    keys = ShellKeys.load(path)
    assert keys.last(CTX, "sbx_a") is None
    if content:  # an empty file is simply empty
        assert keys.notice and str(path) in keys.notice
        assert json.loads(path.read_text()) == {"version": 1, "contexts": {}}
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    keys.remember(CTX, "sbx_a", "k1", WHEN)
    assert ShellKeys.load(path).last(CTX, "sbx_a") == "k1"


def test_bad_entries_are_dropped_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "shells.json"
    path.write_text(json.dumps({"version": 1, "contexts": {
        CTX: {
            "sbx_a": [{"key": "good", "openedAt": "soon"}, {"key": ""}, {"key": "has space"}, {"key": 5}, "x",
                      {"key": "bell\x07"}, {"key": "k" * 5000}, {"key": "also-good", "openedAt": WHEN.isoformat()}],
            "sbx_b": "not a list",
        },
        "broken": [],
    }}))
    keys = ShellKeys.load(path)
    assert keys.notice is None
    assert [(s.key, s.opened_at) for s in keys.remembered(CTX, "sbx_a")] == [("good", None), ("also-good", WHEN)]
    assert keys.remembered(CTX, "sbx_b") == []


def test_an_unwritable_place_keeps_the_keys_in_memory(tmp_path: Path) -> None:
    # The state directory's parent is a file: no directory can be made there, even as root.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    keys = ShellKeys.load(blocker / "state" / "shells.json")
    with pytest.raises(ShellKeysError, match="Could not save"):
        keys.remember(CTX, "sbx_a", "k1", WHEN)
    assert keys.last(CTX, "sbx_a") == "k1"


def test_an_unwritable_file_keeps_the_keys_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "shells.json"
    path.mkdir()  # a directory where the file should be: no write can succeed, even as root
    keys = ShellKeys.load(path)
    with pytest.raises(ShellKeysError, match="Could not save"):
        keys.remember(CTX, "sbx_a", "k1", WHEN)
    assert keys.last(CTX, "sbx_a") == "k1"
    with pytest.raises(ShellKeysError):
        keys.remember(CTX, "sbx_a", "k2", WHEN)
    assert [s.key for s in keys.remembered(CTX, "sbx_a")] == ["k1", "k2"]


def test_reconcile_forgets_only_keys_known_to_have_lived(tmp_path: Path) -> None:
    path = tmp_path / "shells.json"
    earlier = ShellKeys.load(path)
    earlier.remember(CTX, "sbx_a", "from-last-run", WHEN)
    keys = ShellKeys.load(path)
    keys.remember(CTX, "sbx_a", "just-opened", WHEN)
    keys.reconcile(CTX, "sbx_a", live=set())  # the new one may not have reached the server yet
    assert [s.key for s in keys.remembered(CTX, "sbx_a")] == ["just-opened"]
    keys.reconcile(CTX, "sbx_a", live={"just-opened"})
    keys.reconcile(CTX, "sbx_a", live=set(), busy={"just-opened"})  # open on screen right now
    assert [s.key for s in keys.remembered(CTX, "sbx_a")] == ["just-opened"]
    keys.reconcile(CTX, "sbx_a", live=set())  # listed once, gone now: its shell ended
    assert keys.remembered(CTX, "sbx_a") == []


def test_forget_a_key_or_a_whole_sandbox(tmp_path: Path) -> None:
    keys = ShellKeys.load(tmp_path / "shells.json")
    for key in ("k1", "k2"):
        keys.remember(CTX, "sbx_a", key, WHEN)
    keys.remember(CTX, "sbx_b", "k3", WHEN)
    keys.forget(CTX, "sbx_a", ["k2"])
    assert keys.last(CTX, "sbx_a") == "k1"
    keys.forget_sandbox(CTX, "sbx_a")
    assert keys.remembered(CTX, "sbx_a") == [] and keys.last(CTX, "sbx_b") == "k3"


def test_context_state_keys_name_the_place_and_user_never_the_token(tmp_path: Path) -> None:
    local = AppContext(kind="local", api_url="http://127.0.0.1:1", token="t", public_key=None, data_dir=tmp_path)
    assert local.state_key == f"local:{tmp_path}"
    claims = base64.urlsafe_b64encode(json.dumps({"did": "did:plc:alice"}).encode()).decode().rstrip("=")
    token = f"e30.{claims}.c2lnbmF0dXJl"
    hosted = AppContext(kind="api", api_url="https://api.pocketenv.io", token=token, public_key=None)
    assert hosted.state_key == "api:https://api.pocketenv.io:did:plc:alice"
    assert token not in hosted.state_key and "c2lnbmF0dXJl" not in hosted.state_key
    opaque = AppContext(kind="api", api_url="https://api.pocketenv.io", token="opaque-secret", public_key=None)
    assert "opaque-secret" not in opaque.state_key
