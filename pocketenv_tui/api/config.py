"""Where the client's token, API URL, public key and storage URL come from.

Order for each value: the explicit argument, then the environment (``POCKETENV_TOKEN``,
``POCKETENV_API_URL``, ``POCKETENV_PUBLIC_KEY``, ``POCKETENV_STORAGE_URL``), then for the
token only ``~/.pocketenv/token.json``, then the hosted defaults. An empty environment value
counts as unset, as it does for the official CLI. The terminal roots (``POCKETENV_CF_URL``,
``POCKETENV_PTY_URL``, ``POCKETENV_TTY_URL``) follow the same order, with the local backend's
own rule for cf (:func:`resolve_terminal_urls`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pocketenv_tui.api.crypto import InvalidPublicKeyError, public_key_bytes
from pocketenv_tui.api.tokens import did_from_token

DEFAULT_API_URL = "https://api.pocketenv.io"
DEFAULT_PUBLIC_KEY = "2bf96e12d109e6948046a7803ef1696e12c11f04f20a6ce64dbd4bcd93db9341"
DEFAULT_STORAGE_URL = "https://sandbox.pocketenv.io"

ENV_TOKEN = "POCKETENV_TOKEN"
ENV_API_URL = "POCKETENV_API_URL"
ENV_PUBLIC_KEY = "POCKETENV_PUBLIC_KEY"
ENV_STORAGE_URL = "POCKETENV_STORAGE_URL"
# Terminal endpoints, as the official CLI names them (reference/terminal.md §0).
DEFAULT_CF_URL = "https://sbx.pocketenv.io"
ENV_CF_URL = "POCKETENV_CF_URL"
ENV_PTY_URL = "POCKETENV_PTY_URL"
ENV_TTY_URL = "POCKETENV_TTY_URL"
# The local backend's users are ``did:local:…`` (local/state/identity.py); such a token means
# the API is this package's own server, which serves the Cloudflare worker route itself.
LOCAL_DID_PREFIX = "did:local:"


class ConfigError(Exception):
    """The configuration cannot be used as it is; the message says what to change."""


class TokenMissingError(ConfigError):
    def __init__(self, token_file: Path | None = None) -> None:
        where = token_file or token_file_path()
        super().__init__(
            "No Pocketenv token found. Log in with `pocketenv login <handle>` (it writes "
            f"{where}), or set {ENV_TOKEN}, or use the local backend with `pocketenv-tui --local`."
        )


@dataclass(frozen=True, slots=True)
class ClientConfig:
    api_url: str
    token: str | None
    public_key: str
    storage_url: str
    # Terminal roots (see resolve_terminal_urls); empty pty/tty mean the API's /pty and /tty.
    cf_url: str = DEFAULT_CF_URL
    pty_url: str = ""
    tty_url: str = ""

    @property
    def is_hosted(self) -> bool:
        return self.api_url == DEFAULT_API_URL

    def __repr__(self) -> str:
        # Keep the token out of logs and tracebacks.
        token = "None" if self.token is None else "'***'"
        return (
            f"ClientConfig(api_url={self.api_url!r}, token={token}, "
            f"public_key={self.public_key!r}, storage_url={self.storage_url!r}, "
            f"cf_url={self.cf_url!r}, pty_url={self.pty_url!r}, tty_url={self.tty_url!r})"
        )


def token_file_path() -> Path:
    """``~/.pocketenv/token.json``, following ``$HOME``."""
    return Path(os.path.expanduser("~")) / ".pocketenv" / "token.json"


def read_token_file(path: Path | None = None) -> str | None:
    """The token stored in the token file, or None when there is no file or no token in it."""
    path = path or token_file_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError(
            f'the token file {path} is not valid JSON; expected {{"token": "..."}}'
        ) from None
    token = data.get("token") if isinstance(data, dict) else None
    if isinstance(token, str) and token.strip():
        return token.strip()
    return None


def write_token_file(path: Path | str | None, token: str, extra: dict[str, str] | None = None) -> Path:
    """Store ``{"token": ..., **extra}`` readable by the owner only (mode 0600 from the first byte).

    The file is written under a temporary name created with 0600 and renamed over the
    target, so a reader never sees a half-written token and the mode is never wider.
    """
    target = Path(path) if path is not None else token_file_path()
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    payload = json.dumps({"token": token, **(extra or {})}, indent=2) + "\n"
    # mkstemp opens with O_CREAT|O_EXCL and mode 0600.
    import tempfile  # only when writing a token file

    fd, tmp_name = tempfile.mkstemp(prefix=".token-", suffix=".json", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
        os.chmod(tmp_name, 0o600)
        os.replace(tmp_name, target)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return target


def delete_token_file(path: Path | None = None) -> bool:
    """Remove the token file (logout); True if there was one."""
    try:
        (path or token_file_path()).unlink()
    except FileNotFoundError:
        return False
    return True


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _normalise_url(url: str, source: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{source} must start with http:// or https://, got {url!r}")
    return url


def resolve_config(
    token: str | None = None,
    api_url: str | None = None,
    public_key: str | None = None,
    storage_url: str | None = None,
    *,
    require_token: bool = True,
    token_file: Path | None = None,
    cf_url: str | None = None,
    pty_url: str | None = None,
    tty_url: str | None = None,
) -> ClientConfig:
    """Resolve every setting once; raise :class:`TokenMissingError` if a token is needed."""
    resolved_api = _normalise_url(
        api_url or _env(ENV_API_URL) or DEFAULT_API_URL,
        "the API URL" if api_url else ENV_API_URL,
    )

    resolved_token = token or _env(ENV_TOKEN) or read_token_file(token_file)
    if resolved_token is None and require_token:
        raise TokenMissingError(token_file)

    resolved_key = (public_key or _env(ENV_PUBLIC_KEY) or DEFAULT_PUBLIC_KEY).strip().lower()
    try:
        public_key_bytes(resolved_key)
    except InvalidPublicKeyError as exc:
        source = "the public key" if public_key else ENV_PUBLIC_KEY
        raise ConfigError(f"{source} is not usable: {exc}") from None

    explicit_storage = storage_url or _env(ENV_STORAGE_URL)
    if explicit_storage:
        resolved_storage = _normalise_url(explicit_storage, "the storage URL")
    elif resolved_api == DEFAULT_API_URL:
        resolved_storage = DEFAULT_STORAGE_URL
    else:
        # A self-hosted or local API serves /cp itself.
        resolved_storage = resolved_api

    resolved_cf, resolved_pty, resolved_tty = resolve_terminal_urls(
        resolved_api, resolved_token, cf_url, pty_url, tty_url
    )
    return ClientConfig(
        api_url=resolved_api,
        token=resolved_token,
        public_key=resolved_key,
        storage_url=resolved_storage,
        cf_url=resolved_cf,
        pty_url=resolved_pty,
        tty_url=resolved_tty,
    )


def _local_token(token: str | None) -> bool:
    return (did_from_token(token) or "").startswith(LOCAL_DID_PREFIX)


def _loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def resolve_terminal_urls(
    api_url: str,
    token: str | None,
    cf_url: str | None = None,
    pty_url: str | None = None,
    tty_url: str | None = None,
) -> tuple[str, str, str]:
    """The roots of the cf, pty and tty terminal URLs (http or https, no trailing slash).

    pty and tty: the argument, ``POCKETENV_PTY_URL``/``POCKETENV_TTY_URL``, else the API's own
    ``/pty`` and ``/tty`` (the CLI's defaults for the hosted API, and where a self-hosted API
    serves them too).

    cf: the argument; for the local backend (a ``did:local:`` token) the API URL itself, which
    serves the worker route, whatever the environment says; otherwise ``POCKETENV_CF_URL``;
    without it an API on loopback is taken to be the local backend too (what runs there in
    practice; someone running the upstream API locally sets ``POCKETENV_CF_URL``); else the
    hosted worker ``https://sbx.pocketenv.io``. A self-hosted upstream API does not serve the
    worker route (its workers run on Cloudflare), so the API URL is no longer the default for
    it. Unless the root is the API itself, ``sbx`` in it is replaced by the sandbox's template
    when a URL is built, as the CLI does (``terminal_url.worker_root``).
    """
    if cf_url:
        cf = _normalise_url(cf_url, "the Cloudflare worker URL")
    elif _local_token(token):
        cf = api_url
    elif (env_cf := _env(ENV_CF_URL)) is not None:
        cf = _normalise_url(env_cf, ENV_CF_URL)
    elif _loopback(api_url):
        cf = api_url
    else:
        cf = DEFAULT_CF_URL
    pty = _normalise_url(pty_url or _env(ENV_PTY_URL) or f"{api_url}/pty", "the PTY URL" if pty_url else ENV_PTY_URL)
    tty = _normalise_url(tty_url or _env(ENV_TTY_URL) or f"{api_url}/tty", "the TTY URL" if tty_url else ENV_TTY_URL)
    return cf, pty, tty
