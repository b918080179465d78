"""The dashboard's own settings file: key remaps, theme, refresh interval, read-only mode.

JSON in the user's config directory (``platformdirs.user_config_dir("pocketenv-tui")``), or the
file named by ``POCKETENV_TUI_CONFIG``. Written with mode 0600 since it sits next to other
per-user secrets. Unknown keys are kept so a newer version's settings survive an older app.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

CONFIG_ENV = "POCKETENV_TUI_CONFIG"
DEFAULT_REFRESH = 3.0
MIN_REFRESH = 1.0


class ConfigError(Exception):
    """The config file exists but cannot be used; ``str()`` says which file and why."""


def default_config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(user_config_dir("pocketenv-tui")) / "config.json"


def clamp_refresh(seconds: float | None) -> float:
    """The polling interval, never below the floor that keeps a server and CPU calm."""
    if seconds is None:
        return DEFAULT_REFRESH
    return max(MIN_REFRESH, float(seconds))


@dataclass
class AppConfig:
    keymap: dict[str, str] = field(default_factory=dict)   # binding id -> keys ("ctrl+s,f5")
    theme: str | None = None
    refresh: float = DEFAULT_REFRESH
    read_only: bool = False
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data["keymap"] = dict(self.keymap)
        if self.theme is not None:
            data["theme"] = self.theme
        data["refresh"] = self.refresh
        data["read_only"] = self.read_only
        return data


def load_config(path: Path | None = None) -> AppConfig:
    """Read the config file; a missing file gives the defaults."""
    path = path or default_config_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return AppConfig(path=path)
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"The config file {path} is not valid JSON (line {exc.lineno}): fix or delete it."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"The config file {path} must hold a JSON object.")
    keymap = data.pop("keymap", {}) or {}
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
    ):
        raise ConfigError(
            f'In {path}, "keymap" must map binding ids to keys, e.g. {{"sandbox.stop": "ctrl+x"}}.'
        )
    theme = data.pop("theme", None)
    refresh = data.pop("refresh", DEFAULT_REFRESH)
    read_only = data.pop("read_only", False)
    if theme is not None and not isinstance(theme, str):
        raise ConfigError(f'In {path}, "theme" must be a theme name.')
    if not isinstance(refresh, int | float) or isinstance(refresh, bool):
        raise ConfigError(f'In {path}, "refresh" must be a number of seconds.')
    if not isinstance(read_only, bool):
        raise ConfigError(f'In {path}, "read_only" must be true or false.')
    return AppConfig(
        keymap=dict(keymap),
        theme=theme,
        refresh=clamp_refresh(refresh),
        read_only=read_only,
        path=path,
        extra=data,
    )


def save_config(config: AppConfig, path: Path | None = None) -> Path:
    """Write atomically with mode 0600 (the file is created private, never chmod-ed after)."""
    path = path or config.path or default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(config.to_json(), handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path
