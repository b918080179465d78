"""Async Python client for the Pocketenv API (hosted or the local backend).

``from pocketenv_tui.api import PocketenvClient``. Knows nothing of the terminal UI.
"""

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


def __getattr__(name: str):
    # PocketenvClient pulls in httpx; loading it on first use lets the models and errors be
    # imported (by the dashboard, before its first paint) without that cost.
    if name == "PocketenvClient":
        from pocketenv_tui.api.client import PocketenvClient

        return PocketenvClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
