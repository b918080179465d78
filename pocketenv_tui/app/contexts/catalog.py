"""Every context the dashboard knows by name, for ``:ctx``, the picker and ``--context``.

The built-in ``local`` and ``api`` come from the default resolution (app/contexts/resolve.py: the local
backend, the official CLI's token and ``POCKETENV_*``); the named ones from contexts.json
(app/contexts/file.py), in the file's order. Nothing here knows Textual.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from pocketenv_tui.api.config import (
    DEFAULT_API_URL,
    DEFAULT_PUBLIC_KEY,
    DEFAULT_STORAGE_URL,
    ConfigError,
    resolve_config,
    token_file_path,
)
from pocketenv_tui.app.contexts.file import (
    ContextEntry,
    ContextsFile,
    TokenUnavailable,
    display_path,
    load_contexts,
)
from pocketenv_tui.app.contexts.resolve import (
    AppContext,
    ContextError,
    api_context,
    available_contexts,
    context_from_backend,
    local_context,
    token_file_local_data_dir,
)


def context_from_entry(
    entry: ContextEntry, start_local: Callable[[Path | None], AppContext] = local_context
) -> AppContext:
    """The context a contexts.json entry names (blocking: a local one may start its backend)."""
    if entry.kind == "local":
        return dataclasses.replace(start_local(entry.data_dir), context_name=entry.name)
    try:
        token = entry.read_token()
    except TokenUnavailable as exc:
        raise ContextError(f"Context {entry.name}: {exc}.") from None
    if entry.kind == "hosted":
        return AppContext(
            kind="api",
            api_url=DEFAULT_API_URL,
            token=token,
            public_key=DEFAULT_PUBLIC_KEY,
            storage_url=DEFAULT_STORAGE_URL,
            context_name=entry.name,
        )
    assert entry.api_url is not None  # checked when the file was read
    return AppContext(
        kind="api",
        api_url=entry.api_url,
        token=token,
        public_key=entry.public_key,
        storage_url=entry.storage_url or entry.api_url,
        context_name=entry.name,
        cf_url=entry.cf_url,
        pty_url=entry.pty_url,
        tty_url=entry.tty_url,
    )


class ContextCatalog:
    """Every context known by name: the built-in ``local`` and ``api`` (when a token is
    configured), then contexts.json's, in the file's order.

    ``local`` is the local backend the default resolution picks: the start-up's data dir
    (``--data-dir``, see ``remember_start``), else the one a ``--write-cli-token`` token file
    names, else the default. ``resolve`` and ``peek`` block (files, a backend's start or probe):
    call them in a thread.
    """

    def __init__(
        self,
        contexts: ContextsFile | None = None,
        *,
        local_data_dir: Path | None = None,
        start_local: Callable[[Path | None], AppContext] = local_context,
    ) -> None:
        self.file = contexts if contexts is not None else ContextsFile()
        self._local_data_dir = local_data_dir
        self._start_local = start_local

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        local_data_dir: Path | None = None,
        start_local: Callable[[Path | None], AppContext] = local_context,
    ) -> ContextCatalog:
        """The catalog of the contexts file at ``path`` (default: beside the config file)."""
        return cls(load_contexts(path), local_data_dir=local_data_dir, start_local=start_local)

    def reload(self) -> None:
        """Read the file again (it may have been edited while the app runs)."""
        if self.file.path is not None:
            self.file = load_contexts(self.file.path)

    def remember_start(self, context: AppContext) -> None:
        """The app started on ``context``: if it is the built-in local one, ``local`` is it."""
        if context.kind == "local" and not context.from_file and context.data_dir is not None:
            self._local_data_dir = context.data_dir

    @property
    def local_data_dir(self) -> Path | None:
        return self._local_data_dir or token_file_local_data_dir()

    @property
    def problems(self) -> list[str]:
        return self.file.problems

    def names(self) -> list[str]:
        return [*available_contexts(), *self.file.entries]

    def is_local(self, name: str) -> bool:
        entry = self.file.entries.get(name)
        return name == "local" or (entry is not None and entry.kind == "local")

    def describe(self, name: str) -> str:
        """Where the context is, in a few words, with its token's source (never the token)."""
        entry = self.file.entries.get(name)
        if entry is not None:
            if entry.kind == "local":
                return entry.where
            return f"{entry.where} · {entry.token_source}"
        if name == "local":
            return f"local backend {display_path(self._data_dir_of('local'))}"
        try:
            return f"API {resolve_config().api_url} · the CLI's token"
        except ConfigError as exc:
            return f"API (not usable: {exc})"

    def unknown(self, name: str) -> ContextError:
        """The error for a name that is not usable: why, if the file has it, else the names."""
        where = f" in {self.file.path}" if self.file.path else ""
        if name in self.file.skipped:
            return ContextError(f"Context {name}{where} is not usable: {self.file.skipped[name]}.")
        return ContextError(f"Unknown context {name!r}. Known contexts: {', '.join(self.names())}.")

    def resolve(self, name: str) -> AppContext:
        """The context ``name`` names, ready to use (a local backend is started if needed)."""
        entry = self.file.entries.get(name)
        if entry is not None:
            return context_from_entry(entry, self._start_local)
        if name == "local":
            context = self._start_local(self.local_data_dir)
            return dataclasses.replace(context, context_name="local")
        if name == "api":
            return dataclasses.replace(self._token_api(), context_name="api")
        raise self.unknown(name)

    @staticmethod
    def _token_api() -> AppContext:
        if (data_dir := token_file_local_data_dir()) is not None:
            raise ContextError(
                f"The only token, in {token_file_path()}, is the local backend's of {data_dir} "
                "(written by `serve --write-cli-token`): log in with `pocketenv login`, or set "
                "POCKETENV_TOKEN, to use the API."
            )
        try:
            return api_context(None)
        except ConfigError as exc:
            raise ContextError(str(exc)) from exc

    def peek(self, name: str, *, probe_timeout: float = 2.0) -> AppContext | None:
        """Like ``resolve``, but a local backend is only looked for, never started: None when
        none serves the data dir."""
        if not self.is_local(name):
            return self.resolve(name)
        from pocketenv_tui.local.launcher import BackendStartError, find_backend
        from pocketenv_tui.local.state.datadir import resolve_data_dir

        directory = resolve_data_dir(self._data_dir_of(name))
        try:
            info = find_backend(directory, probe_timeout=probe_timeout)
        except BackendStartError as exc:
            raise ContextError(str(exc)) from exc
        if info is None:
            return None
        return dataclasses.replace(context_from_backend(info, directory), context_name=name)

    def _data_dir_of(self, name: str) -> Path | None:
        entry = self.file.entries.get(name)
        if entry is not None:
            return entry.data_dir
        from pocketenv_tui.local.state.datadir import resolve_data_dir

        return resolve_data_dir(self.local_data_dir)
