"""The shell session keys the dashboard opened, remembered across runs.

A terminal session key names a shell the server keeps alive (and replays) for a while after
the last client left; the dashboard keeps the keys it used so that after a restart ``t``
re-attaches to the same shell instead of starting another one. Keys are random
(:func:`new_session_key`), never derived from the token or anything else secret.

One small JSON file, ``shells.json`` in the user's state directory
(``platformdirs.user_state_dir("pocketenv-tui")``, which follows ``XDG_STATE_HOME``), or in
the directory named by ``POCKETENV_TUI_STATE_DIR``; independent of the local backend's
``--data-dir`` since it also serves hosted contexts::

    {"version": 1,
     "contexts": {"<AppContext.state_key>": {"<sandbox id>": [
         {"key": "…", "openedAt": "2026-04-15T09:30:00+00:00"}, …]}}}

Each sandbox's list is in the order of use: the last entry is the one ``t`` opens. The file
is private (0600), written atomically (a temporary file renamed over it), and every change
re-reads it under a lock first, so two dashboards running at once add to it instead of
overwriting each other. A file that cannot be parsed is replaced by an empty one and
:attr:`ShellKeys.notice` says so; a bad entry is dropped on its own. Losing the file only
loses the shortcut: the local backend still lists its shells in the Shells tab.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from platformdirs import user_state_dir

from pocketenv_tui.api.models import parse_datetime

STATE_DIR_ENV = "POCKETENV_TUI_STATE_DIR"
FILE_NAME = "shells.json"
VERSION = 1
MAX_KEY_LEN = 2048  # what the server accepts as a session key
MAX_KEYS_PER_SANDBOX = 16  # twice the server's default shell cap; older keys are dropped
MAX_SANDBOXES_PER_CONTEXT = 200
MAX_CONTEXTS = 20

Contexts = dict[str, dict[str, list["RememberedShell"]]]


class ShellKeysError(Exception):
    """The file could not be written; ``str()`` names it and why. The change is kept in memory."""


def default_state_path() -> Path:
    override = os.environ.get(STATE_DIR_ENV)
    directory = Path(override).expanduser() if override else Path(user_state_dir("pocketenv-tui"))
    return directory / FILE_NAME


def new_session_key() -> str:
    """A fresh key: 144 random bits, URL-safe, so it travels in a terminal URL as it is."""
    return secrets.token_urlsafe(18)


def valid_key(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_KEY_LEN
        and value.isprintable()
        and not any(ch.isspace() for ch in value)
    )


@dataclass(frozen=True, slots=True)
class RememberedShell:
    key: str
    opened_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "openedAt": self.opened_at.isoformat() if self.opened_at else None}


def _parse(data: Any) -> Contexts:
    """The usable part of the file's JSON; ValueError when its outer shape is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("contexts", {}), dict):
        raise ValueError("not a shells state object")
    contexts: Contexts = {}
    for context, sandboxes in data.get("contexts", {}).items():
        if not isinstance(sandboxes, dict):
            continue
        kept: dict[str, list[RememberedShell]] = {}
        for sandbox_id, entries in sandboxes.items():
            if not isinstance(entries, list):
                continue
            shells: dict[str, RememberedShell] = {}
            for entry in entries:
                if isinstance(entry, dict) and valid_key(entry.get("key")):
                    key = entry["key"]
                    shells.pop(key, None)  # a repeated key counts where it was used last
                    shells[key] = RememberedShell(key, parse_datetime(entry.get("openedAt")))
            if shells:
                kept[sandbox_id] = list(shells.values())[-MAX_KEYS_PER_SANDBOX:]
        if kept:
            contexts[context] = kept
    return contexts


def _to_json(contexts: Contexts) -> dict[str, Any]:
    return {
        "version": VERSION,
        "contexts": {
            context: {sid: [s.to_json() for s in shells] for sid, shells in sandboxes.items()}
            for context, sandboxes in contexts.items()
        },
    }


class ShellKeys:
    """The remembered keys, per context (:attr:`AppContext.state_key`) and sandbox id.

    ``path=None`` keeps them in memory only (nothing is read or written).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.notice: str | None = None  # what went wrong reading the file, said once
        self._contexts: Contexts = {}
        # Keys known to have had a live shell: remembered by an earlier run, or listed by the
        # server during this one. Only such a key is forgotten when the server no longer lists
        # it; a key opened just now may simply not have reached the server yet.
        self._proven: set[tuple[str, str, str]] = set()
        self._unsaved = False  # a write failed: memory is ahead of the file, do not re-read it

    @classmethod
    def load(cls, path: Path | None = None) -> ShellKeys:
        """Read the file (default :func:`default_state_path`); never raises."""
        store = cls(path or default_state_path())
        store._contexts = store._read(repair=True)
        store._proven = {
            (context, sid, shell.key)
            for context, sandboxes in store._contexts.items()
            for sid, shells in sandboxes.items()
            for shell in shells
        }
        return store

    # -- reading ----------------------------------------------------------------------------
    def _read(self, *, repair: bool = False) -> Contexts:
        """The file's contents; an unusable file gives {} (and with ``repair``, is replaced)."""
        if self.path is None:
            return self._contexts
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self.notice = f"Remembered shells start empty: {self.path} could not be read ({exc.strerror or exc})."
            return {}
        try:
            return _parse(json.loads(raw.decode("utf-8"))) if raw.strip() else {}
        except ValueError:  # not UTF-8, not JSON, or not the shape written here
            if repair:
                self.notice = f"Remembered shells start empty: {self.path} was not readable and was rewritten."
                with contextlib.suppress(OSError, ShellKeysError):
                    self._write({})
            return {}

    def _refresh(self) -> None:
        """Pick up what another dashboard wrote meanwhile (writes are atomic renames)."""
        if self.path is not None and not self._unsaved and self.path.exists():
            self._contexts = self._read()

    def remembered(self, context: str, sandbox_id: str) -> list[RememberedShell]:
        """The sandbox's keys, least recently used first."""
        self._refresh()
        return list(self._contexts.get(context, {}).get(sandbox_id, []))

    def last(self, context: str, sandbox_id: str) -> str | None:
        """The key ``t`` re-attaches to: the one used last."""
        shells = self.remembered(context, sandbox_id)
        return shells[-1].key if shells else None

    # -- changing -----------------------------------------------------------------------------
    def remember(self, context: str, sandbox_id: str, key: str, opened_at: datetime) -> None:
        """Note ``key`` as the sandbox's current shell (kept with its first opening time)."""
        if not valid_key(key):
            raise ValueError("not a usable session key")

        def change(contexts: Contexts) -> None:
            sandboxes = contexts.pop(context, {})
            contexts[context] = sandboxes  # most recently used context last
            shells = sandboxes.pop(sandbox_id, [])
            earlier = next((s for s in shells if s.key == key), None)
            shells = [s for s in shells if s.key != key]
            shells.append(earlier or RememberedShell(key, opened_at))
            sandboxes[sandbox_id] = shells[-MAX_KEYS_PER_SANDBOX:]
            _trim(sandboxes, MAX_SANDBOXES_PER_CONTEXT)
            _trim(contexts, MAX_CONTEXTS)

        self._update(change)

    def forget(self, context: str, sandbox_id: str, keys: Collection[str]) -> None:
        if keys:
            self._update(lambda contexts: _drop(contexts, context, sandbox_id, lambda k: k in keys))

    def forget_sandbox(self, context: str, sandbox_id: str) -> None:
        self._update(lambda contexts: _drop(contexts, context, sandbox_id, lambda k: True))

    def reconcile(self, context: str, sandbox_id: str, live: Collection[str], busy: Collection[str] = ()) -> None:
        """The server listed ``live`` keys: forget proven keys it no longer has (their shell
        ended), except ``busy`` ones (open in a shell screen right now)."""
        self._proven.update((context, sandbox_id, key) for key in live)
        gone = [
            s.key
            for s in self.remembered(context, sandbox_id)
            if s.key not in live and s.key not in busy and (context, sandbox_id, s.key) in self._proven
        ]
        self.forget(context, sandbox_id, gone)

    def _update(self, change: Any) -> None:
        """Re-read, change and write back under the lock; on a write failure the change is
        kept in memory (and saved with the next one) and ShellKeysError says why."""
        if self.path is None:
            change(self._contexts)
            return
        if self._unsaved:  # memory is ahead of the file: change it and save all of it
            change(self._contexts)
            contexts = self._contexts
            self._save(lambda: contexts)
        else:
            def changed() -> Contexts:
                fresh = self._read()
                change(fresh)
                return fresh

            try:
                contexts = self._save(changed)
            except ShellKeysError:
                change(self._contexts)
                raise
        self._contexts = contexts

    def _save(self, contents: Any) -> Contexts:
        """Write what ``contents()`` gives, computed under the lock."""
        try:
            with self._locked():
                contexts = contents()
                self._write(contexts)
        except OSError as exc:
            self._unsaved = True
            raise ShellKeysError(f"Could not save the remembered shells in {self.path}: {exc.strerror or exc}") from exc
        self._unsaved = False
        return contexts

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, contexts: Contexts) -> None:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(_to_json(contexts), handle, indent=1)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)  # an old temp file of the same name may have had other bits
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise


def _trim(mapping: dict[str, Any], limit: int) -> None:
    """Drop the least recently used entries (the first ones) beyond ``limit``."""
    while len(mapping) > limit:
        del mapping[next(iter(mapping))]


def _drop(contexts: Contexts, context: str, sandbox_id: str, doomed: Any) -> None:
    sandboxes = contexts.get(context)
    if not sandboxes or sandbox_id not in sandboxes:
        return
    kept = [s for s in sandboxes[sandbox_id] if not doomed(s.key)]
    if kept:
        sandboxes[sandbox_id] = kept
    else:
        del sandboxes[sandbox_id]
    if not sandboxes:
        del contexts[context]
