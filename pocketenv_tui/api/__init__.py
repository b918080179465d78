"""Async Python client for the Pocketenv API (hosted or the local backend).

``from pocketenv_tui.api import PocketenvClient``. Knows nothing of the terminal UI.
"""

from pocketenv_tui.api.client import PocketenvClient
from pocketenv_tui.api.config import ClientConfig, ConfigError, TokenMissingError, resolve_config
from pocketenv_tui.api.errors import (
    PocketenvConnectionError,
    PocketenvError,
    PocketenvTimeoutError,
)

__all__ = [
    "ClientConfig",
    "ConfigError",
    "PocketenvClient",
    "PocketenvConnectionError",
    "PocketenvError",
    "PocketenvTimeoutError",
    "TokenMissingError",
    "resolve_config",
]
