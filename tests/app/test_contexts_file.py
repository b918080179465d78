"""contexts.json: loading, validation messages, token sources, the refused ``token`` key, and
the default context kept as it was. No server is contacted: local contexts start through a
recorder, hosted ones are only built, never called."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pocketenv_tui.api.config import DEFAULT_API_URL, DEFAULT_CF_URL, DEFAULT_STORAGE_URL
from pocketenv_tui.app.contexts.catalog import ContextCatalog, context_from_entry
from pocketenv_tui.app.contexts.file import (
    ContextEntry,
    TokenUnavailable,
    contexts_path,
    load_contexts,
)
from pocketenv_tui.app.contexts.resolve import AppContext, ContextError, resolve_context
from pocketenv_tui.app.main import StartupError, prepare_app
from pocketenv_tui.cli import build_parser

KEY = "2bf96e12d109e6948046a7803ef1696e12c11f04f20a6ce64dbd4bcd93db9341"
SECRET = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"


@pytest.fixture(autouse=True)
def no_token(monkeypatch, tmp_path):
    """No CLI token and no POCKETENV_* variable of the machine's user."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in (
        "POCKETENV_TOKEN", "POCKETENV_API_URL", "POCKETENV_PUBLIC_KEY", "POCKETENV_STORAGE_URL",
        "POCKETENV_CF_URL", "POCKETENV_PTY_URL", "POCKETENV_TTY_URL",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


class LocalStarter:
    """Records the data dirs the resolver asks for instead of starting a server."""

    def __init__(self) -> None:
        self.calls: list[Path | None] = []

    def __call__(self, data_dir: Path | None) -> AppContext:
        self.calls.append(data_dir)
        return AppContext("local", "http://127.0.0.1:1", "tok", KEY, data_dir=data_dir)


def write(path: Path, contexts: object, **top: object) -> Path:
    path.write_text(json.dumps({"contexts": contexts, **top}))
    return path


def test_a_missing_file_has_no_contexts_and_no_problems(tmp_path):
    loaded = load_contexts(tmp_path / "contexts.json")
    assert loaded.entries == {} and loaded.problems == []


def test_the_file_lives_beside_the_config_file(monkeypatch, tmp_path):
    monkeypatch.setenv("POCKETENV_TUI_CONFIG", str(tmp_path / "conf" / "config.json"))
    assert contexts_path() == tmp_path / "conf" / "contexts.json"


def test_every_kind_loads_in_the_files_order(tmp_path):
    path = write(
        tmp_path / "contexts.json",
        {
            "work": {"kind": "hosted", "token_file": "~/.pocketenv/work.json"},
            "staging": {
                "api_url": "https://pocketenv.staging.example/",
                "public_key": KEY.upper(),
                "cf_url": "https://sbx.staging.example",
                "token_env": "STAGING_TOKEN",
            },
            "scratch": {"data_dir": "scratch-data"},
        },
    )
    loaded = load_contexts(path)
    assert loaded.problems == []
    assert list(loaded.entries) == ["work", "staging", "scratch"]
    work, staging, scratch = loaded.entries.values()
    assert work.kind == "hosted" and work.token_file == tmp_path / "home" / ".pocketenv" / "work.json"
    # kind inferred from api_url; the URL without its slash; the key in lower case.
    assert staging.kind == "api" and staging.api_url == "https://pocketenv.staging.example"
    assert staging.public_key == KEY and staging.cf_url == "https://sbx.staging.example"
    assert staging.storage_url is None and staging.token_env == "STAGING_TOKEN"
    # A relative path starts at the file's directory, not wherever the app was started.
    assert scratch.kind == "local" and scratch.data_dir == tmp_path / "scratch-data"
    assert work.where == "hosted API" and work.token_source == "token ~/.pocketenv/work.json"
    assert staging.where == "API https://pocketenv.staging.example"


def test_a_token_in_the_file_is_refused_and_never_repeated(tmp_path):
    path = write(
        tmp_path / "contexts.json",
        {
            "leaky": {"api_url": "http://127.0.0.1:9", "public_key": KEY, "token": SECRET},
            "fine": {"data_dir": "/srv/fine"},
        },
        token=SECRET,
    )
    loaded = load_contexts(path)
    assert list(loaded.entries) == ["fine"]  # the other entry still works
    assert "leaky" in loaded.skipped
    text = "\n".join(loaded.problems)
    assert 'context "leaky"' in text and "token must not be written into the contexts file" in text
    assert '"token_env"' in text and '"token_file"' in text
    assert 'top-level "token" is ignored' in text
    assert SECRET not in text


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("a", {"kind": "api", "public_key": KEY, "token_env": "T"}, '"api_url" is missing'),
        ("a", {"api_url": "ftp://x", "public_key": KEY, "token_env": "T"}, '"api_url" must be an http:// or https:// URL'),
        ("a", {"api_url": "http://127.0.0.1:9", "token_env": "T"}, '"public_key" is missing'),
        ("a", {"api_url": "http://127.0.0.1:9", "public_key": "abc", "token_env": "T"}, '"public_key": public key must be'),
        ("a", {"api_url": "http://127.0.0.1:9", "public_key": KEY}, "needs a token source"),
        ("a", {"kind": "hosted", "token_env": "T", "token_file": "t.json"}, "give one token source"),
        ("a", {"kind": "hosted", "token_env": "T", "api_url": "http://x"}, 'unknown field "api_url" for a hosted context'),
        ("a", {"data_dir": "/x", "token_env": "T"}, 'unknown field "token_env" for a local context'),
        ("a", {"data_dir": 3}, '"data_dir" must be a non-empty string'),
        ("a", {"kind": "cloud"}, '"kind" must be hosted, api or local'),
        ("a", {"token_env": "T"}, '"kind" is missing'),
        ("a", "~/scratch", "must be an object"),
        ("local", {"data_dir": "/x"}, "local is a built-in context name"),
        ("API", {"kind": "hosted", "token_env": "T"}, "built-in context name"),
        ("two words", {"data_dir": "/x"}, "a name is one word"),
        ("a", {"kind": "hosted", "token_env": "TOKEN-" + SECRET}, '"token_env" must be the name of an environment variable'),
    ],
)
def test_a_bad_entry_is_named_and_skipped(tmp_path, name, body, expected):
    path = write(tmp_path / "contexts.json", {name: body, "good": {"data_dir": "/srv/good"}})
    loaded = load_contexts(path)
    assert list(loaded.entries) == ["good"]
    [problem] = loaded.problems
    assert problem.startswith(f'context "{name}": ') and problem.endswith("; skipped")
    assert expected in problem
    assert SECRET not in problem
    assert expected in loaded.skipped[name]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"contexts": {"a": ', "is not valid JSON (line 1"),
        ("[1]", "must hold a JSON object"),
        ('{"contexts": ["a"]}', '"contexts" must map names to contexts'),
        ('{"contexts": {}, "default": "a"}', 'unknown top-level key "default"'),
    ],
)
def test_a_bad_file_is_one_clear_problem(tmp_path, content, expected):
    path = tmp_path / "contexts.json"
    path.write_text(content)
    loaded = load_contexts(path)
    assert loaded.entries == {}
    assert len(loaded.problems) == 1 and expected in loaded.problems[0]


def test_a_name_given_twice_keeps_the_first(tmp_path):
    path = tmp_path / "contexts.json"
    path.write_text('{"contexts": {"a": {"data_dir": "/first"}, "a": {"data_dir": "/second"}}}')
    loaded = load_contexts(path)
    assert loaded.entries["a"].data_dir == Path("/first")
    assert loaded.problems == ['context "a" is defined more than once; the first one is used']


def test_token_sources_are_read_at_use(monkeypatch, tmp_path):
    by_env = ContextEntry("e", "hosted", token_env="MY_POCKETENV_TOKEN")
    with pytest.raises(TokenUnavailable, match=r"\$MY_POCKETENV_TOKEN is not set"):
        by_env.read_token()
    monkeypatch.setenv("MY_POCKETENV_TOKEN", " tok-env \n")
    assert by_env.read_token() == "tok-env"

    token_file = tmp_path / "work.json"
    by_file = ContextEntry("f", "hosted", token_file=token_file)
    with pytest.raises(TokenUnavailable, match="does not exist"):
        by_file.read_token()
    token_file.write_text("{not json")
    with pytest.raises(TokenUnavailable, match="not valid JSON"):
        by_file.read_token()
    token_file.write_text('{"other": 1}')
    with pytest.raises(TokenUnavailable, match='holds no "token"'):
        by_file.read_token()
    token_file.write_text('{"token": "tok-file"}')
    assert by_file.read_token() == "tok-file"


def test_named_api_contexts_take_nothing_from_pocketenv_variables(monkeypatch, tmp_path):
    # POCKETENV_* describe the default context; a named one must not inherit its URLs.
    monkeypatch.setenv("POCKETENV_CF_URL", "http://127.0.0.1:7/elsewhere")
    monkeypatch.setenv("POCKETENV_PTY_URL", "http://127.0.0.1:7/pty-elsewhere")
    monkeypatch.setenv("STAGING_TOKEN", "s3cret-staging")
    staging = ContextEntry(
        "staging", "api", api_url="https://pocketenv.staging.example", public_key=KEY,
        tty_url="https://tty.staging.example", token_env="STAGING_TOKEN",
    )  # fmt: skip
    context = context_from_entry(staging)
    assert context.kind == "api" and context.name == "staging" and context.token == "s3cret-staging"
    config = context.client_config()
    assert config.cf_url == DEFAULT_CF_URL  # a self-hosted API's workers run elsewhere
    assert config.pty_url == "https://pocketenv.staging.example/pty"
    assert config.tty_url == "https://tty.staging.example"
    assert config.storage_url == "https://pocketenv.staging.example"
    assert context.label == "staging · API https://pocketenv.staging.example"
    assert "s3cret-staging" not in repr(context)

    (tmp_path / "work.json").write_text('{"token": "tok-work"}')
    hosted = context_from_entry(ContextEntry("work", "hosted", token_file=tmp_path / "work.json"))
    assert (hosted.api_url, hosted.storage_url, hosted.token) == (DEFAULT_API_URL, DEFAULT_STORAGE_URL, "tok-work")

    with pytest.raises(ContextError, match=r"Context gone: no token: \$GONE_TOKEN is not set"):
        context_from_entry(ContextEntry("gone", "hosted", token_env="GONE_TOKEN"))


def test_a_local_context_starts_its_own_data_dir_under_its_name(tmp_path):
    starter = LocalStarter()
    path = write(tmp_path / "contexts.json", {"scratch": {"data_dir": "/srv/scratch"}})
    catalog = ContextCatalog.load(path, start_local=starter)
    context = catalog.resolve("scratch")
    assert starter.calls == [Path("/srv/scratch")]
    assert context.name == "scratch" and context.kind == "local"
    assert context.label == "scratch · local backend at http://127.0.0.1:1 (running)"
    assert context.client_config().cf_url == "http://127.0.0.1:1"


def test_defaults_are_kept_without_a_file(tmp_path):
    starter = LocalStarter()
    catalog = ContextCatalog.load(tmp_path / "none.json", start_local=starter)
    assert catalog.names() == ["local"] and catalog.problems == []
    context = resolve_context(start_local=starter)  # the start-up rule is unchanged
    assert context.kind == "local" and context.name == "local" and starter.calls == [None]
    assert context.label == "local backend at http://127.0.0.1:1 (running)"
    # :ctx local is the default data dir, then the one the app started with.
    assert catalog.resolve("local").name == "local" and starter.calls[-1] is None
    catalog.remember_start(AppContext("local", "http://127.0.0.1:1", "tok", KEY, data_dir=tmp_path / "d"))
    catalog.resolve("local")
    assert starter.calls[-1] == tmp_path / "d"
    with pytest.raises(ContextError, match="No Pocketenv token found"):
        catalog.resolve("api")


def test_the_cli_token_file_stays_the_default_context(monkeypatch, tmp_path):
    home = tmp_path / "home"
    (home / ".pocketenv").mkdir(parents=True)
    token_file = home / ".pocketenv" / "token.json"
    token_file.write_text(json.dumps({"token": "tok", "localDataDir": str(tmp_path / "written")}))
    starter = LocalStarter()
    contexts = write(tmp_path / "contexts.json", {"scratch": {"data_dir": "/srv/scratch"}})
    catalog = ContextCatalog.load(contexts, start_local=starter)
    # A token file `serve --write-cli-token` wrote names a local data dir: that backend, not the API.
    assert resolve_context(start_local=starter).data_dir == tmp_path / "written"
    assert catalog.names() == ["local", "scratch"]
    catalog.resolve("local")
    assert starter.calls[-1] == tmp_path / "written"
    with pytest.raises(ContextError, match="is the local backend's"):
        catalog.resolve("api")
    # A hosted login's token file: the API is the default, and `api` is offered.
    token_file.write_text(json.dumps({"token": "tok-hosted"}))
    assert catalog.names() == ["local", "api", "scratch"]
    assert resolve_context(start_local=starter).kind == "api"
    assert catalog.resolve("api").token == "tok-hosted"


def test_unknown_and_skipped_names_explain_themselves(tmp_path):
    path = write(tmp_path / "contexts.json", {"bad": {"kind": "api"}, "scratch": {"data_dir": "/srv"}})
    catalog = ContextCatalog.load(path, start_local=LocalStarter())
    with pytest.raises(ContextError, match=r"Unknown context 'nope'\. Known contexts: local, scratch\."):
        catalog.resolve("nope")
    with pytest.raises(ContextError, match=r"Context bad in .*contexts.json is not usable: \"api_url\" is missing"):
        catalog.resolve("bad")
    with pytest.raises(ContextError, match="drop --local"):
        resolve_context(name="scratch", local=True, catalog=catalog)
    assert resolve_context(name="scratch", catalog=catalog).name == "scratch"


def test_the_command_line_names_a_context(monkeypatch, tmp_path):
    monkeypatch.setenv("POCKETENV_TUI_CONFIG", str(tmp_path / "config.json"))
    write(tmp_path / "contexts.json", {"scratch": {"data_dir": "/srv/scratch"}})
    args = build_parser().parse_args(["--context", "nope"])
    assert args.context == "nope"
    with pytest.raises(StartupError, match="Unknown context 'nope'. Known contexts: local, scratch"):
        prepare_app(args)
    with pytest.raises(StartupError, match="drop --local"):
        prepare_app(build_parser().parse_args(["--context", "scratch", "--data-dir", "/srv/x"]))
