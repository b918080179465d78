"""Named contexts in the app: the `:ctx` picker with each context's health, switching with the
picker, with `:ctx NAME` and with `--context NAME` at start-up, and the header's name.

Two real local backends with their own data dirs are the contexts ``alpha`` and ``bravo``;
``dead`` is an API on a loopback port nothing listens on, ``idle`` a local data dir with no
server (shown, never started). Nothing leaves the machine: no hosted token is configured, so
the built-in ``api`` is not offered. Snapshots use fixed health figures (an injected probe).

Update the snapshots with ``pytest tests/app/test_contexts_picker.py --snapshot-update``.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from textual.widgets import ListView

from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.catalog import ContextCatalog
from pocketenv_tui.app.contexts.health import ContextHealth
from pocketenv_tui.app.contexts.resolve import AppContext
from pocketenv_tui.app.main import prepare_app
from pocketenv_tui.app.screens.contexts import ContextsScreen
from pocketenv_tui.app.screens.help import HelpScreen
from pocketenv_tui.cli import build_parser
from pocketenv_tui.local.state.datadir import read_server_json
from tests.app.conftest import client_for, context_for, delete_quietly, unique_name, wait_for
from tests.app.snapshot_support import DISPLAY_URL, FIXED_INSTANT, StableView

SIZE = (120, 34)
KEY = "2bf96e12d109e6948046a7803ef1696e12c11f04f20a6ce64dbd4bcd93db9341"
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


@pytest.fixture(autouse=True)
def no_hosted_token(monkeypatch, tmp_path):
    """No CLI token, no POCKETENV_* of the machine's user, and a default data dir in tmp: the
    built-in ``api`` (the hosted API) is never offered, so never probed."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    for name in (
        "POCKETENV_TOKEN", "POCKETENV_API_URL", "POCKETENV_PUBLIC_KEY", "POCKETENV_STORAGE_URL",
        "POCKETENV_CF_URL", "POCKETENV_PTY_URL", "POCKETENV_TTY_URL",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def write_contexts(tmp_path: Path, contexts: dict) -> Path:
    # Beside the config file that tests/app/conftest.py's no_user_config points at.
    path = tmp_path / "contexts.json"
    path.write_text(json.dumps({"contexts": contexts}))
    return path


def picker(app: PocketenvApp) -> ContextsScreen:
    assert isinstance(app.screen, ContextsScreen)
    return app.screen


def all_measured(screen: ContextsScreen) -> bool:
    return all(health.state != "checking" for health in screen.health.values())


def row_text(screen: ContextsScreen, name: str) -> str:
    return screen.rows[name].text


async def test_the_picker_shows_health_and_switches(make_backend, monkeypatch, tmp_path):
    alpha = make_backend(tmp_path / "alpha")
    bravo = make_backend(tmp_path / "bravo")
    monkeypatch.setenv("DEAD_TOKEN", "not-sent-anywhere-real")
    write_contexts(
        tmp_path,
        {
            "alpha": {"data_dir": str(alpha.data_dir)},
            "bravo": {"data_dir": str(bravo.data_dir)},
            "dead": {"api_url": closed_port_url(), "public_key": KEY, "token_env": "DEAD_TOKEN"},
            "idle": {"data_dir": str(tmp_path / "idle")},
        },
    )
    async with client_for(alpha) as client:
        made = await client.sandboxes.create("shell", name=unique_name("ctx"))
        handle = (await client.actor.get_profile()).handle
        try:
            # --context at start-up, through the function the CLI runs.
            app = prepare_app(build_parser().parse_args(["--context", "alpha", "--refresh", "1"]))
            assert app.context.name == "alpha" and app.context.api_url == alpha.url
            async with app.run_test(size=SIZE) as pilot:
                main = app.main_screen
                header = main.query_one("#context-header")
                await wait_for(pilot, lambda: made.id in main.items, "alpha's sandbox")
                assert header.context_label.startswith("alpha · local backend at ")

                await pilot.press("colon", *"ctx", "enter")
                await wait_for(pilot, lambda: isinstance(app.screen, ContextsScreen), "the picker")
                screen = picker(app)
                assert [c.name for c in screen.choices] == ["local", "alpha", "bravo", "dead", "idle"]
                await wait_for(pilot, lambda: all_measured(screen), "every context's health")
                health = screen.health
                assert health["alpha"].state == "reachable"
                assert (health["alpha"].who, health["alpha"].sandboxes) == (handle, 1)
                assert health["alpha"].latency_ms is not None
                assert (health["bravo"].state, health["bravo"].sandboxes) == ("reachable", 0)
                assert health["dead"].state == "unreachable" and "cannot connect" in health["dead"].reason
                assert health["idle"].state == "not running" and health["local"].state == "not running"
                assert "not running (starts when chosen)" in row_text(screen, "idle")
                assert f"reachable · {handle} · 1 sandbox ·" in row_text(screen, "alpha")
                assert "✗ unreachable: cannot connect to" in row_text(screen, "dead")
                assert read_server_json(tmp_path / "idle") is None  # looked at, not started
                # The current context is marked and highlighted.
                assert row_text(screen, "alpha").startswith("● alpha")
                assert screen.query_one(ListView).index == 1

                await pilot.press("down", "enter")
                await wait_for(pilot, lambda: app.context.name == "bravo", "the switch to bravo")
                assert app.context.api_url == bravo.url and app.context.data_dir == bravo.data_dir
                assert header.context_label.startswith("bravo · local backend at ")
                await wait_for(pilot, lambda: main.last_success is not None, "a poll of bravo")
                assert main.items == {}

                # :ctx NAME, with Tab completing the name.
                await pilot.press("colon", *"ctx al", "tab")
                assert main.query_one("#command").value == "ctx alpha"
                await pilot.press("enter")
                await wait_for(pilot, lambda: app.context.name == "alpha", "the switch back")
                assert app.context.api_url == alpha.url
                await wait_for(pilot, lambda: made.id in main.items, "alpha's sandbox again")
                assert header.context_label.startswith("alpha · ")

                # The backend watch's context for the same data dir (it moved or restarted)
                # is still alpha.
                await app.use_context(context_for(alpha))
                assert app.context.name == "alpha" and header.context_label.startswith("alpha · ")

                # In the picker: r measures again, ? lists its keys, escape changes nothing.
                await pilot.press("colon", *"ctx", "enter")
                await wait_for(pilot, lambda: isinstance(app.screen, ContextsScreen), "the picker")
                screen = picker(app)
                await wait_for(pilot, lambda: all_measured(screen), "the health")
                await pilot.press("r")
                await wait_for(pilot, lambda: all_measured(screen), "the health again")
                assert screen.health["alpha"].sandboxes == 1
                await pilot.press("question_mark")
                assert isinstance(app.screen, HelpScreen)
                assert {row.id for row in app.screen.keys} >= {"contexts.switch", "contexts.recheck", "contexts.close"}
                await pilot.press("escape")
                assert app.screen is screen
                await pilot.press("escape")
                assert not isinstance(app.screen, ContextsScreen) and app.context.name == "alpha"
        finally:
            await delete_quietly(client, made.id)


async def test_an_unknown_name_lists_the_known_ones(local_backend, tmp_path):
    write_contexts(tmp_path, {"scratch": {"data_dir": str(tmp_path / "scratch")}, "bad": {"kind": "api"}})
    app = PocketenvApp(context_for(local_backend), config=AppConfig(), refresh=1.0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        # The bad entry was reported at start-up, naming the context and field.
        assert any('context "bad": "api_url" is missing' in str(n.message) for n in app._notifications)
        await pilot.press("colon", *"ctx nope", "enter")
        await wait_for(
            pilot,
            lambda: any("Unknown context 'nope'. Known contexts: local, scratch." in str(n.message) for n in app._notifications),
            "the error",
        )
        await pilot.press("colon", *"ctx bad", "enter")
        await wait_for(
            pilot, lambda: any("Context bad in" in str(n.message) for n in app._notifications), "why bad is unusable"
        )
        assert app.context.api_url == local_backend.url  # nothing switched


# -- snapshots --------------------------------------------------------------------------------------
FIXED_HEALTH = {
    "local": ContextHealth("not running"),
    "alpha": ContextHealth("reachable", who="local", sandboxes=3, latency_ms=4),
    "bravo": ContextHealth("reachable", who="local", sandboxes=0, latency_ms=6),
    "staging": ContextHealth("reachable", who="alice.staging.example", sandboxes=12, latency_ms=87),
    "dead": ContextHealth("unreachable", "cannot connect to http://127.0.0.1:9: All connection attempts failed"),
}


async def fixed_probe(name: str) -> ContextHealth:
    return FIXED_HEALTH[name]


def snapshot_app(backend, tmp_path: Path, monkeypatch) -> PocketenvApp:
    # A contexts file under a fixed-looking home, so the picker's hint reads the same each run.
    home = tmp_path / "home"
    config_dir = home / ".config" / "pocketenv-tui"
    config_dir.mkdir(parents=True)
    monkeypatch.setenv("POCKETENV_TUI_CONFIG", str(config_dir / "config.json"))
    (config_dir / "contexts.json").write_text(
        json.dumps(
            {
                "contexts": {
                    "alpha": {"data_dir": "/srv/pocketenv/alpha"},
                    "bravo": {"data_dir": "/srv/pocketenv/bravo"},
                    "staging": {
                        "api_url": "https://pocketenv.staging.example",
                        "public_key": KEY,
                        "token_env": "STAGING_POCKETENV_TOKEN",
                    },
                    "dead": {"api_url": "http://127.0.0.1:9", "public_key": KEY, "token_file": "~/.pocketenv/dead.json"},
                    "leaky": {"kind": "hosted", "token": "written-by-mistake"},
                }
            }
        )
    )
    contexts = ContextCatalog.load(config_dir / "contexts.json", local_data_dir=Path("/srv/pocketenv/backend"))
    context = AppContext("local", DISPLAY_URL, backend.token, backend.public_key, context_name="alpha")
    return PocketenvApp(
        context,
        config=AppConfig(),
        refresh=30.0,
        now=lambda: FIXED_INSTANT,
        client=StableView(client_for(backend)),
        contexts=contexts,
        health_probe=fixed_probe,
    )


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_picker(snap_compare, make_backend, tmp_path, monkeypatch, size):
    """The picker over an empty list: reachable, not running and unreachable contexts, the
    current one marked, and the refused token entry reported."""
    backend = make_backend()

    async def run_before(pilot):
        app = pilot.app
        await wait_for(pilot, lambda: app.main_screen.poll_count >= 1, "the first poll")
        app.clear_notifications()  # the start-up one about "leaky": the picker shows it too
        app.choose_context(None)
        await wait_for(pilot, lambda: isinstance(app.screen, ContextsScreen) and all_measured(app.screen), "the health")
        await pilot.pause()

    assert snap_compare(snapshot_app(backend, tmp_path, monkeypatch), terminal_size=size, run_before=run_before)
