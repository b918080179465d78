"""Which Pocketenv API the dashboard talks to, and how it got there.

Two kinds of context: a token-configured API (the hosted one by default, or any
``POCKETENV_API_URL``), and the local backend (no token configured, or ``--local``): reuse the
server already serving its data dir, or start one as its own detached process so sandboxes and
shells outlive the dashboard. While the app runs, app/backend_watch.py keeps a local context
on the live server of its data dir (a new one someone started, or one it started again).

Contexts have names. The built-in ``local`` and ``api`` are the default resolution's two
(the official CLI's token file and ``POCKETENV_*`` variables); ``contexts.json``
(app/contexts/file.py) adds named ones. ``ContextCatalog`` (app/contexts/catalog.py) knows
them all, for ``:ctx``, the picker and ``--context``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pocketenv_tui.api.config import (
    DEFAULT_CF_URL,
    DEFAULT_PUBLIC_KEY,
    ClientConfig,
    ConfigError,
    TokenMissingError,
    resolve_config,
    resolve_terminal_urls,
)
from pocketenv_tui.app.contexts.file import BUILT_IN_NAMES

if TYPE_CHECKING:
    from pocketenv_tui.api import PocketenvClient
    from pocketenv_tui.app.contexts.catalog import ContextCatalog
    from pocketenv_tui.local.launcher import BackendInfo

ContextKind = Literal["local", "api"]


class ContextError(Exception):
    """The context cannot be set up; ``str()`` says what, why and how to fix it."""


@dataclass(frozen=True)
class AppContext:
    kind: ContextKind
    api_url: str
    token: str | None
    public_key: str | None
    storage_url: str | None = None
    data_dir: Path | None = None
    backend_started: bool = False  # this app started the local backend (at launch or again later)
    # What the app knows of the local backend's process: its pid (None: not known yet), whether
    # a dashboard started it in the background (so nobody else restarts it when it dies), and
    # whether this app started it again after it died.
    backend_pid: int | None = None
    backend_background: bool = False
    backend_restarted: bool = False
    # The name ``:ctx`` knows it by; None for a context built without one (the start-up
    # default, the backend watch's), which is then ``local`` or ``api`` by its kind.
    context_name: str | None = None
    # Terminal roots a named context set itself (contexts.json's cf_url, pty_url, tty_url).
    cf_url: str | None = None
    pty_url: str | None = None
    tty_url: str | None = None

    @property
    def name(self) -> str:
        """The short name ``:ctx`` uses."""
        if self.context_name:
            return self.context_name
        return "local" if self.kind == "local" else "api"

    @property
    def from_file(self) -> bool:
        """Whether it is one of contexts.json's (not a built-in ``local`` or ``api``)."""
        return self.context_name is not None and self.context_name not in BUILT_IN_NAMES

    @property
    def state_key(self) -> str:
        """What identifies this context in the app's state (remembered shells): the local
        backend's data dir, or the API URL and the user the token speaks for. The user is the
        token's public ``did`` claim, never the token itself."""
        if self.kind == "local":
            return f"local:{self.data_dir or self.api_url}"
        from pocketenv_tui.api.tokens import did_from_token

        return f"api:{self.api_url}:{did_from_token(self.token) or 'unknown-user'}"

    @property
    def label(self) -> str:
        """What the header says; never includes the token. A named context's name comes first
        (the built-in ones are already named by their first word: local, API)."""
        prefix = f"{self.context_name} · " if self.from_file else ""
        if self.kind == "local":
            if self.backend_restarted:
                return f"{prefix}local backend restarted at {self.api_url}"
            how = "started in the background" if self.backend_started else "running"
            return f"{prefix}local backend at {self.api_url} ({how})"
        return f"{prefix}API {self.api_url}"

    def make_client(self) -> PocketenvClient:
        from pocketenv_tui.api import PocketenvClient

        if self.from_file:
            return PocketenvClient(config=self.client_config())
        return PocketenvClient(
            api_url=self.api_url,
            token=self.token,
            public_key=self.public_key,
            storage_url=self.storage_url or self.api_url,
        )

    def client_config(self) -> ClientConfig:
        """Every URL from the context itself. A named context takes none from ``POCKETENV_*``:
        those describe the default context, and would send this one's shells elsewhere."""
        api = self.api_url
        cf = self.cf_url
        if cf is None:
            # The local backend, and any API on loopback, serves the worker route itself (the
            # rule of api/config.py resolve_terminal_urls, minus the environment).
            host = (urlsplit(api).hostname or "").lower()
            on_loopback = host in ("localhost", "::1") or host.startswith("127.")
            cf = api if self.kind == "local" or on_loopback else DEFAULT_CF_URL
        cf, pty, tty = resolve_terminal_urls(
            api, self.token, cf, self.pty_url or f"{api}/pty", self.tty_url or f"{api}/tty"
        )
        return ClientConfig(
            api_url=api,
            token=self.token,
            public_key=self.public_key or DEFAULT_PUBLIC_KEY,
            storage_url=self.storage_url or api,
            cf_url=cf,
            pty_url=pty,
            tty_url=tty,
        )

    def __repr__(self) -> str:
        return (
            f"AppContext(name={self.name!r}, kind={self.kind!r}, api_url={self.api_url!r}, "
            "token='***')"
        )


def local_context(data_dir: Path | None = None) -> AppContext:
    """Reuse or start the local backend serving ``data_dir``; blocks until it answers."""
    from pocketenv_tui.local.launcher import ensure_backend
    from pocketenv_tui.local.state.datadir import resolve_data_dir

    directory = resolve_data_dir(data_dir)
    try:
        info = ensure_backend(directory)
    except Exception as exc:  # the launcher's failures all become one clear message
        raise ContextError(
            f"Could not start the local backend for {directory}: {exc}. "
            f"Run `pocketenv-tui serve --data-dir {directory}` to see the whole error."
        ) from exc
    return context_from_backend(info, directory)


def context_from_backend(info: BackendInfo, data_dir: Path, *, restarted: bool = False) -> AppContext:
    """The local context of a live backend the launcher found or started for ``data_dir``."""
    url = info.url.rstrip("/")
    return AppContext(
        kind="local",
        api_url=url,
        token=info.token,
        public_key=info.public_key,
        storage_url=url,
        data_dir=data_dir,
        backend_started=bool(info.started),
        backend_pid=info.pid,
        backend_background=info.background,
        backend_restarted=restarted and bool(info.started),
    )


def backend_exit_notice(context: AppContext) -> str | None:
    """What to say about the local backend when the app quits, checked then (blocking): where
    the backend this app started keeps running, or that no backend serves the data dir any
    more. Nothing for a server someone else runs that is still there, or for a hosted API."""
    if context.kind != "local" or context.data_dir is None:
        return None
    from pocketenv_tui.local.launcher import find_running_backend

    url = find_running_backend(context.data_dir)
    if url is None:
        return (
            f"no local backend is running for {context.data_dir} any more (the one at "
            f"{context.api_url} stopped); the next start of pocketenv-tui starts one."
        )
    if not context.backend_started:
        return None
    return (
        f"the local backend keeps running at {url} (sandboxes and shells stay alive); "
        "the next start reuses it."
    )


def api_context(api_url: str | None = None) -> AppContext:
    """The token-configured API; raises TokenMissingError when there is no token."""
    try:
        config = resolve_config(api_url=api_url)
    except TokenMissingError:
        raise
    except ConfigError as exc:
        raise ContextError(f"The Pocketenv configuration is not usable: {exc}") from exc
    return AppContext(
        kind="api",
        api_url=config.api_url,
        token=config.token,
        public_key=config.public_key,
        storage_url=config.storage_url,
    )


def resolve_context(
    *,
    local: bool = False,
    api_url: str | None = None,
    data_dir: str | Path | None = None,
    name: str | None = None,
    catalog: ContextCatalog | None = None,
    start_local: Callable[[Path | None], AppContext] = local_context,
) -> AppContext:
    """The start-up rule: ``--context NAME`` is that context (from ``catalog``);
    ``--local``/``--data-dir`` force the local backend; otherwise a configured token selects
    that API; with no token the local backend is used."""
    if name is not None:
        if local or api_url is not None or data_dir:
            raise ContextError(
                f"--context {name} says where to go by itself: drop --local, --api-url and --data-dir."
            )
        if catalog is None:
            from pocketenv_tui.app.contexts.catalog import ContextCatalog

            catalog = ContextCatalog.load(start_local=start_local)
        return catalog.resolve(name)
    directory = Path(data_dir) if data_dir else None
    if local or (directory is not None and api_url is None):
        return start_local(directory)
    if api_url is None and (written_for := token_file_local_data_dir()) is not None:
        return start_local(written_for)
    try:
        return api_context(api_url)
    except TokenMissingError as exc:
        if api_url is not None:
            raise ContextError(
                f"--api-url {api_url} was given but no token is configured: set POCKETENV_TOKEN "
                "(and POCKETENV_PUBLIC_KEY for that server), or drop --api-url to use the local "
                "backend."
            ) from exc
        return start_local(directory)


def token_file_local_data_dir() -> Path | None:
    """The data dir named by a token file ``serve --write-cli-token`` wrote, when nothing else
    is configured: then that token is a local backend's, and sending it to the hosted API
    would only get a 401. ``POCKETENV_TOKEN`` or ``POCKETENV_API_URL`` set: the user chose."""
    import os

    from pocketenv_tui.api.config import ENV_API_URL, ENV_TOKEN
    from pocketenv_tui.local.client_setup import local_data_dir_of_token_file

    if os.environ.get(ENV_TOKEN, "").strip() or os.environ.get(ENV_API_URL, "").strip():
        return None
    return local_data_dir_of_token_file()


def available_contexts() -> list[str]:
    """The built-in names: always the local backend, the token's API when one is set
    (``ContextCatalog.names`` adds contexts.json's)."""
    names = ["local"]
    if token_file_local_data_dir() is not None:
        return names  # the only token is a local backend's
    try:
        resolve_config()
    except ConfigError:
        return names
    names.append("api")
    return names

