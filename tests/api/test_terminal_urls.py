"""Which family a provider speaks, and where each family's terminal is (env, self-hosted, hosted)."""

from __future__ import annotations

import base64
import json

import pytest

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.config import DEFAULT_CF_URL, ConfigError, resolve_config
from pocketenv_tui.api.ssh_sessions import session_id_from_key, session_key
from pocketenv_tui.api.terminal_url import build_terminal_url, terminal_family, worker_root

TERMINAL_ENV = ("POCKETENV_CF_URL", "POCKETENV_PTY_URL", "POCKETENV_TTY_URL")


@pytest.fixture(autouse=True)
def _no_terminal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TERMINAL_ENV:
        monkeypatch.delenv(name, raising=False)


def unsigned_jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2ln"


LOCAL_TOKEN = unsigned_jwt({"did": "did:local:0123456789abcdef01234567"})
HOSTED_TOKEN = unsigned_jwt({"did": "did:plc:abcdefghijklmnop"})


@pytest.mark.parametrize(
    ("provider", "family"),
    [
        ("cloudflare", "cf"),
        ("local", "cf"),
        ("sprites", "tty"),
        ("daytona", "ssh"),
        ("deno", "ssh"),
        ("vercel", "pty"),
        ("modal", "pty"),
        ("e2b", "pty"),
        ("hopx", "pty"),
        ("runloop", "pty"),
        ("blaxel", "pty"),
        ("Daytona", "ssh"),
        ("something-new", "pty"),
        ("", "pty"),
        (None, "pty"),
    ],
)
def test_terminal_family_of_each_provider(provider: str | None, family: str) -> None:
    assert terminal_family(provider) == family


async def test_hosted_defaults_follow_the_cli(keypair) -> None:
    client = PocketenvClient(token=HOSTED_TOKEN, public_key=keypair[0])
    config = client.config
    assert (config.cf_url, config.pty_url, config.tty_url) == (
        "https://sbx.pocketenv.io", "https://api.pocketenv.io/pty", "https://api.pocketenv.io/tty",
    )
    assert client.terminal_url("sbx_1", dialect="pty") == f"wss://api.pocketenv.io/pty/sbx_1/ws?token={HOSTED_TOKEN}"
    assert client.terminal_url("sbx_1", dialect="tty", session="k") == (
        f"wss://api.pocketenv.io/tty/sbx_1/ws?token={HOSTED_TOKEN}&sessionId=k"
    )
    # The worker host is the template's: sbx replaced, claude-code spelt claudecode.
    for base, host in (("openclaw", "openclaw"), ("claude-code", "claudecode"), (None, "sbx")):
        assert client.terminal_url("sbx_1", token="term", session="s", base_sandbox=base) == (
            f"wss://{host}.pocketenv.io/v1/sandboxes/sbx_1/ws/terminal?t=term&session=s"
        )
    await client.aclose()


def test_environment_names_every_terminal_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETENV_CF_URL", "https://sbx.workers.example.test/")
    monkeypatch.setenv("POCKETENV_PTY_URL", "https://pty.example.test/p")
    monkeypatch.setenv("POCKETENV_TTY_URL", "http://tty.example.test")
    config = resolve_config(HOSTED_TOKEN)
    assert (config.cf_url, config.pty_url, config.tty_url) == (
        "https://sbx.workers.example.test", "https://pty.example.test/p", "http://tty.example.test",
    )
    urls = {
        dialect: build_terminal_url(
            config.api_url, "sbx_1", "tok", dialect=dialect, base_sandbox="openclaw",
            cf_url=config.cf_url, pty_url=config.pty_url, tty_url=config.tty_url,
        )
        for dialect in ("cf", "pty", "tty")
    }
    assert urls == {
        # As the CLI does, the template replaces sbx in a worker URL from the environment too.
        "cf": "wss://openclaw.workers.example.test/v1/sandboxes/sbx_1/ws/terminal?t=tok",
        "pty": "wss://pty.example.test/p/sbx_1/ws?token=tok",
        "tty": "ws://tty.example.test/sbx_1/ws?token=tok",
    }
    # Arguments win over the environment; empty values count as unset.
    config = resolve_config(HOSTED_TOKEN, cf_url="https://cf.arg.test", pty_url="https://pty.arg.test")
    assert (config.cf_url, config.pty_url) == ("https://cf.arg.test", "https://pty.arg.test")
    monkeypatch.setenv("POCKETENV_TTY_URL", "  ")
    assert resolve_config(HOSTED_TOKEN).tty_url == "https://api.pocketenv.io/tty"


def test_a_bad_terminal_url_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POCKETENV_PTY_URL", "pty.example.test")
    with pytest.raises(ConfigError, match="POCKETENV_PTY_URL"):
        resolve_config(HOSTED_TOKEN)


def test_a_self_hosted_api_serves_pty_and_tty_but_not_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    config = resolve_config(HOSTED_TOKEN, "https://pocketenv.example.test")
    assert config.pty_url == "https://pocketenv.example.test/pty"
    assert config.tty_url == "https://pocketenv.example.test/tty"
    # The upstream API has no worker route (that 404 was the old default): the hosted workers.
    assert config.cf_url == DEFAULT_CF_URL
    url = build_terminal_url(config.api_url, "sbx_1", "t", dialect="cf", base_sandbox="openclaw", cf_url=config.cf_url)
    assert url == "wss://openclaw.pocketenv.io/v1/sandboxes/sbx_1/ws/terminal?t=t"
    monkeypatch.setenv("POCKETENV_CF_URL", "https://sbx.cf.example.test")
    assert resolve_config(HOSTED_TOKEN, "https://pocketenv.example.test").cf_url == "https://sbx.cf.example.test"


def test_the_local_backend_serves_the_worker_route_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # Known from its did:local token wherever it listens, whatever POCKETENV_CF_URL says
    # (that names the hosted worker, which knows nothing of local sandboxes).
    monkeypatch.setenv("POCKETENV_CF_URL", "https://sbx.pocketenv.io")
    for api in ("http://127.0.0.1:8789", "http://devbox.lan:8789"):
        config = resolve_config(LOCAL_TOKEN, api)
        assert config.cf_url == api
        assert build_terminal_url(api, "sbx_1", "t", dialect="cf", base_sandbox="openclaw", cf_url=config.cf_url) == (
            api.replace("http", "ws", 1) + "/v1/sandboxes/sbx_1/ws/terminal?t=t"
        )
    # Without such a token, an API on loopback is taken to be the local backend unless the
    # environment names a worker (someone running the upstream API locally).
    assert resolve_config("opaque-token", "http://127.0.0.1:8789").cf_url == "https://sbx.pocketenv.io"
    monkeypatch.delenv("POCKETENV_CF_URL")
    assert resolve_config("opaque-token", "http://localhost:8789").cf_url == "http://localhost:8789"


async def test_the_ssh_url_needs_a_session_id(keypair) -> None:
    client = PocketenvClient("https://pocketenv.example.test", HOSTED_TOKEN, keypair[0])
    with pytest.raises(ValueError, match="sessionId"):
        client.terminal_url("sbx_1", dialect="ssh")
    session_id = "3b241101-e2bb-4255-8caf-4136c566a962"
    assert client.terminal_url("sbx_1", dialect="ssh", session=session_id) == (
        f"wss://pocketenv.example.test/ssh/{session_id}/ws?token={HOSTED_TOKEN}"
    )
    assert client.ssh_sessions().websocket_url(session_id) == client.terminal_url("x", dialect="ssh", session=session_id)
    with pytest.raises(ValueError, match="dialect"):
        client.terminal_url("sbx_1", dialect="telnet")  # type: ignore[arg-type]
    await client.aclose()


def test_remembered_ssh_keys_name_their_session() -> None:
    session_id = "3b241101-e2bb-4255-8caf-4136c566a962"
    assert session_key(session_id) == f"ssh-{session_id}"
    assert session_id_from_key(session_key(session_id)) == session_id
    # A key made up for a new shell, or another family's, names no session.
    for key in (None, "", "ssh-", "ssh-not-a-uuid", session_id, "x" * 24):
        assert session_id_from_key(key) is None


def test_worker_root_replaces_only_the_first_sbx() -> None:
    assert worker_root("https://sbx.sbx.example", "openclaw") == "https://openclaw.sbx.example"
    assert worker_root("https://workers.example", "openclaw") == "https://workers.example"
