import json
import stat

import pytest

from pocketenv_tui.app.config import (
    AppConfig,
    ConfigError,
    clamp_refresh,
    default_config_path,
    load_config,
    save_config,
)


def test_missing_file_gives_defaults(tmp_path):
    config = load_config(tmp_path / "config.json")
    assert config.keymap == {} and config.theme is None
    assert config.refresh == 3.0 and config.read_only is False


def test_round_trip_is_private_and_keeps_unknown_keys(tmp_path):
    path = tmp_path / "dir" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"theme": "nord", "future_setting": [1, 2]}))
    config = load_config(path)
    config.keymap["sandboxes.stop"] = "ctrl+x"
    config.read_only = True
    save_config(config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["theme"] == "nord"
    assert data["future_setting"] == [1, 2]
    assert data["keymap"] == {"sandboxes.stop": "ctrl+x"}
    assert load_config(path).read_only is True


def test_refresh_has_a_floor(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"refresh": 0.1}))
    assert load_config(path).refresh == 1.0
    assert clamp_refresh(None) == 3.0
    assert clamp_refresh(10) == 10.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"keymap": {"a": 1}}', "keymap"),
        ('{"refresh": "fast"}', "refresh"),
        ('{"read_only": "yes"}', "read_only"),
        ('{"theme": 3}', "theme"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, content, message):
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_env_variable_chooses_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("POCKETENV_TUI_CONFIG", str(tmp_path / "elsewhere.json"))
    assert default_config_path() == tmp_path / "elsewhere.json"


def test_in_memory_config_serialises_defaults():
    assert AppConfig().to_json() == {"keymap": {}, "refresh": 3.0, "read_only": False}
