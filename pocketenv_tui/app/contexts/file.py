"""Named contexts: the ``contexts.json`` file beside the dashboard's config file.

Each entry names one place the dashboard can talk to::

    {
      "contexts": {
        "work":    {"kind": "hosted", "token_file": "~/.pocketenv/work-token.json"},
        "staging": {"kind": "api", "api_url": "https://pocketenv.staging.example",
                    "public_key": "<64 hex characters>", "token_env": "STAGING_POCKETENV_TOKEN"},
        "scratch": {"kind": "local", "data_dir": "~/pocketenv-scratch"}
      }
    }

- ``hosted``: the hosted API, with a token of its own.
- ``api``: a self-hosted API: ``api_url`` and ``public_key``, optionally ``storage_url``,
  ``cf_url``, ``pty_url``, ``tty_url`` (the same roots the ``POCKETENV_*`` variables name).
- ``local``: the local backend of another data dir (``data_dir``); its token is read from there.

``kind`` may be left out when ``data_dir`` (local) or ``api_url`` (api) says it. A hosted or
self-hosted context names where its token is, never the token: ``token_env`` (an environment
variable) or ``token_file`` (a ``{"token": ...}`` file like ``~/.pocketenv/token.json``). The
file is config, meant to be shared and kept in dotfiles; a ``token`` key is refused. Relative
paths are taken from the file's own directory, so they do not depend on where the app starts.

Loading never raises: a file that cannot be used, and every entry that cannot, becomes one
sentence in ``ContextsFile.problems`` naming the context and field, and the others still work.
The built-in names ``local`` and ``api`` (app/contexts/resolve.py) are not the file's to redefine.
This module knows nothing of Textual or of starting backends; app/contexts/resolve.py builds contexts.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pocketenv_tui.api.config import ConfigError, read_token_file
from pocketenv_tui.api.crypto import InvalidPublicKeyError, public_key_bytes
from pocketenv_tui.app.config import default_config_path

CONTEXTS_FILE_NAME = "contexts.json"
BUILT_IN_NAMES = ("local", "api")

EntryKind = Literal["hosted", "api", "local"]
KINDS: tuple[EntryKind, ...] = ("hosted", "api", "local")
TOKEN_FIELDS = ("token_env", "token_file")
URL_FIELDS = ("storage_url", "cf_url", "pty_url", "tty_url")
FIELDS: dict[EntryKind, tuple[str, ...]] = {
    "hosted": ("kind", *TOKEN_FIELDS),
    "api": ("kind", "api_url", "public_key", *URL_FIELDS, *TOKEN_FIELDS),
    "local": ("kind", "data_dir"),
}
# A name is typed after :ctx and --context: one word, no spaces or quotes.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
ENV_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TOKEN_REFUSED = (
    "a token must not be written into the contexts file (it is config, often shared); name "
    'where it is instead: "token_env": "SOME_VARIABLE" or "token_file": "~/.pocketenv/NAME.json"'
)


class TokenUnavailable(Exception):
    """A context's token source gives no token; ``str()`` says which source and why."""


class EntryError(ValueError):
    """One entry cannot be used; ``str()`` names the field and what is wrong."""


@dataclass(frozen=True)
class ContextEntry:
    name: str
    kind: EntryKind
    api_url: str | None = None
    public_key: str | None = None
    storage_url: str | None = None
    cf_url: str | None = None
    pty_url: str | None = None
    tty_url: str | None = None
    data_dir: Path | None = None
    token_env: str | None = None
    token_file: Path | None = None

    @property
    def where(self) -> str:
        """What the picker says the context is, in a few words (never the token)."""
        if self.kind == "local":
            return f"local backend {display_path(self.data_dir)}"
        if self.kind == "hosted":
            return "hosted API"
        return f"API {self.api_url}"

    @property
    def token_source(self) -> str:
        if self.token_env:
            return f"token ${self.token_env}"
        if self.token_file:
            return f"token {display_path(self.token_file)}"
        return "token from its data dir"

    def read_token(self) -> str:
        """The token its source holds now (read at each use: a token file may be rewritten by a
        new login); raises TokenUnavailable saying what to fix."""
        if self.token_env:
            value = os.environ.get(self.token_env, "").strip()
            if not value:
                raise TokenUnavailable(f"no token: ${self.token_env} is not set")
            return value
        if self.token_file:
            if not self.token_file.exists():
                raise TokenUnavailable(f"no token: {display_path(self.token_file)} does not exist")
            try:
                token = read_token_file(self.token_file)
            except ConfigError as exc:
                raise TokenUnavailable(f"no token: {exc}") from None
            if token is None:
                raise TokenUnavailable(f'no token: {display_path(self.token_file)} holds no "token"')
            return token
        raise TokenUnavailable("no token source (token_env or token_file)")

    def __repr__(self) -> str:
        return f"ContextEntry(name={self.name!r}, kind={self.kind!r}, where={self.where!r})"


@dataclass
class ContextsFile:
    """The usable entries, in the file's order, and a sentence per thing that was not usable."""

    path: Path | None = None
    entries: dict[str, ContextEntry] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Names whose entry was skipped, with why: `:ctx NAME` then says that rather than "unknown".
    skipped: dict[str, str] = field(default_factory=dict)


def contexts_path() -> Path:
    """``contexts.json`` in the directory of the config file (app/config.py)."""
    return default_config_path().with_name(CONTEXTS_FILE_NAME)


def display_path(path: Path | None) -> str:
    """``path`` with the home directory written ``~``, as a user would type it."""
    if path is None:
        return "(default data dir)"
    home = Path(os.path.expanduser("~"))
    try:
        return "~/" + str(path.relative_to(home)) if path != home else "~"
    except ValueError:
        return str(path)


def load_contexts(path: Path | None = None) -> ContextsFile:
    """Read and check the contexts file; a missing file has no contexts and no problems."""
    path = path or contexts_path()
    result = ContextsFile(path=path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return result
    except OSError as exc:
        result.problems.append(f"cannot read {path}: {exc.strerror or exc}")
        return result
    return parse_contexts(raw, path)


def parse_contexts(raw: str, path: Path) -> ContextsFile:
    result = ContextsFile(path=path)
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
                continue  # the first one counts, as a reader of the file would expect
            seen[key] = value
        return seen

    try:
        data = json.loads(raw, object_pairs_hook=pairs) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        result.problems.append(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "no context of it is used"
        )
        return result
    if not isinstance(data, dict):
        result.problems.append(f'{path} must hold a JSON object: {{"contexts": {{"NAME": {{...}}}}}}')
        return result
    if "token" in data:
        result.problems.append(TOKEN_REFUSED + "; the top-level \"token\" is ignored")
    for key in data:
        if key not in ("contexts", "token"):
            result.problems.append(f'unknown top-level key "{key}" is ignored (only "contexts" is read)')
    contexts = data.get("contexts", {})
    if not isinstance(contexts, dict):
        result.problems.append('"contexts" must map names to contexts, e.g. {"scratch": {"data_dir": "~/scratch"}}')
        return result
    for name in dict.fromkeys(duplicates):
        result.problems.append(f'context "{name}" is defined more than once; the first one is used')
    for name, body in contexts.items():
        try:
            result.entries[name] = parse_entry(name, body, path.parent)
        except EntryError as exc:
            result.skipped[name] = str(exc)
            result.problems.append(f'context "{name}": {exc}; skipped')
    return result


def parse_entry(name: str, body: Any, base: Path) -> ContextEntry:
    """One entry checked; ``base`` is where relative paths start. Raises EntryError."""
    if not NAME_PATTERN.fullmatch(name):
        raise EntryError("a name is one word of letters, digits, '.', '_' or '-' (up to 40)")
    if name.casefold() in BUILT_IN_NAMES:
        raise EntryError(f"{name} is a built-in context name (local, api); pick another")
    if not isinstance(body, dict):
        raise EntryError('must be an object, e.g. {"data_dir": "~/scratch"}')
    if "token" in body:
        raise EntryError(TOKEN_REFUSED)
    kind = _kind_of(body)
    allowed = FIELDS[kind]
    unknown = [key for key in body if key not in allowed]
    if unknown:
        raise EntryError(f'unknown field "{unknown[0]}" for a {kind} context (its fields: {", ".join(allowed)})')
    if kind == "local":
        return ContextEntry(name, "local", data_dir=_path(body, "data_dir", base, required=True))
    if kind == "hosted":
        token_env, token_file = _token_source(body, base)
        return ContextEntry(name, "hosted", token_env=token_env, token_file=token_file)
    # In the order a reader fills them in: where the server is, its key, then the token.
    api_url = _url(body, "api_url", required=True)
    public_key = _public_key(body)
    urls = {key: _url(body, key) for key in URL_FIELDS}
    token_env, token_file = _token_source(body, base)
    return ContextEntry(
        name,
        "api",
        api_url=api_url,
        public_key=public_key,
        token_env=token_env,
        token_file=token_file,
        **urls,
    )


def _kind_of(body: dict[str, Any]) -> EntryKind:
    kind = body.get("kind")
    if kind is None:
        if "data_dir" in body:
            return "local"
        if "api_url" in body:
            return "api"
        raise EntryError('"kind" is missing: hosted, api (with api_url) or local (with data_dir)')
    if kind not in KINDS:
        raise EntryError(f'"kind" must be hosted, api or local, not {json.dumps(kind)}')
    return kind


def _string(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise EntryError(f'"{key}" is missing')
        return None
    if not isinstance(value, str) or not value.strip():
        raise EntryError(f'"{key}" must be a non-empty string')
    return value.strip()


def _url(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = _string(body, key, required=required)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EntryError(f'"{key}" must be an http:// or https:// URL, not {json.dumps(value)}')
    return value.rstrip("/")


def _path(body: dict[str, Any], key: str, base: Path, *, required: bool = False) -> Path | None:
    value = _string(body, key, required=required)
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _public_key(body: dict[str, Any]) -> str:
    value = _string(body, "public_key")
    if value is None:
        raise EntryError('"public_key" is missing: the server\'s sealing key (64 hex characters)')
    try:
        public_key_bytes(value)
    except InvalidPublicKeyError as exc:
        raise EntryError(f'"public_key": {exc}') from None
    return value.lower()


def _token_source(body: dict[str, Any], base: Path) -> tuple[str | None, Path | None]:
    token_env = _string(body, "token_env")
    token_file = _path(body, "token_file", base)
    if token_env and token_file:
        raise EntryError('give one token source, "token_env" or "token_file", not both')
    if not token_env and not token_file:
        raise EntryError('needs a token source: "token_env" (a variable\'s name) or "token_file" (a path)')
    if token_env and not ENV_NAME_PATTERN.fullmatch(token_env):
        # The value is not repeated: a token pasted here by mistake must not reach the screen.
        raise EntryError(
            '"token_env" must be the name of an environment variable (letters, digits and _), '
            "not a token itself"
        )
    return token_env, token_file
