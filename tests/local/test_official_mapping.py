"""How the local backend maps what the official clients send (catalog.py): every upstream
provider and hosted template accepted and recorded, each sandbox running here; a plaintext
``updateSecret`` sealed at once; ``displayName`` defaulting to the handle; the variables and
the token file the official CLI reads."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pocketenv_tui.app.contexts.resolve import resolve_context
from pocketenv_tui.local.state.catalog import HOSTED_TEMPLATES, UPSTREAM_PROVIDERS
from tests.local.helpers import Api

pytestmark = pytest.mark.timeout(180)

CLI_DEFAULT_BASE = "at://did:plc:aturpi2ls3yvsmhc6wybomun/io.pocketenv.sandbox/openclaw"


async def test_every_upstream_provider_is_recorded_and_runs_here(api: Api) -> None:
    created = []
    try:
        for provider in UPSTREAM_PROVIDERS:
            # Provider credentials, as the CLI sends them for vendors, are accepted and not kept.
            body = {"base": "shell", "provider": provider, "providerOptions": {"spriteToken": "sealed?"}}
            created.append(await api.ok(await api.post("sandbox.createSandbox", body)))
        assert [row["provider"] for row in created] == list(UPSTREAM_PROVIDERS)
        running = await asyncio.gather(*(api.wait_status(row["id"], "RUNNING") for row in created))
        for row, provider in zip(running, UPSTREAM_PROVIDERS, strict=True):
            assert row["provider"] == provider
            assert row["localBase"] == "shell" and row["isolation"] in {"bwrap", "none"}
        # Each one really runs on this machine.
        results = await asyncio.gather(*(api.exec(row["id"], "echo here-$((6*7))") for row in running))
        assert all(result["stdout"] == "here-42\n" for result in results)
    finally:
        for row in created:
            await api.post("sandbox.deleteSandbox", id=row["id"])


async def test_provider_defaults_to_cloudflare_and_unknown_names_are_refused(api: Api) -> None:
    row = await api.ok(await api.post("sandbox.createSandbox", {"base": "shell"}))
    try:
        assert row["provider"] == "cloudflare"
    finally:
        await api.post("sandbox.deleteSandbox", id=row["id"])
    refused = await api.post("sandbox.createSandbox", {"base": "shell", "provider": "azure"})
    assert refused.status_code == 400
    message = refused.json()["message"]
    assert message.startswith("Input/provider must be one of cloudflare, daytona") and "sprites" in message


async def test_local_is_still_accepted_and_a_provider_preference_is_recorded(api: Api) -> None:
    row = await api.ok(await api.post("sandbox.createSandbox", {"base": "shell", "provider": "local"}))
    try:
        assert row["provider"] == "local"
        pref = {"$type": "io.pocketenv.sandbox.defs#sandboxProviderPref", "name": "sprites", "spriteToken": "x"}
        await api.ok(await api.post("sandbox.putPreferences", {"sandboxId": row["id"], "preferences": [pref]}))
        after = (await api.ok(await api.get("sandbox.getSandbox", id=row["id"])))["sandbox"]
        assert after["provider"] == "sprites"
        bad = {**pref, "name": "azure"}
        refused = await api.post("sandbox.putPreferences", {"sandboxId": row["id"], "preferences": [bad]})
        assert refused.status_code == 400 and "preferences/0/name" in refused.json()["message"]
    finally:
        await api.post("sandbox.deleteSandbox", id=row["id"])


@pytest.mark.parametrize(
    ("base", "recorded"),
    [
        (CLI_DEFAULT_BASE, "openclaw"),  # the official CLI's default
        ("openclaw", "openclaw"),  # the SDK examples
        ("claude-code", "claude-code"),
        ("at://did:plc:someone/io.pocketenv.sandbox/codex", "codex"),
        ("sbx_base_shell", "shell"),
    ],
)
async def test_hosted_templates_are_recorded_and_run_as_shell(api: Api, base: str, recorded: str) -> None:
    row = await api.ok(await api.post("sandbox.createSandbox", {"base": base}))
    try:
        assert row["baseSandbox"] == recorded and row["localBase"] == "shell"
    finally:
        await api.post("sandbox.deleteSandbox", id=row["id"])


async def test_base_named_by_an_existing_sandbox_and_unknown_bases(api: Api) -> None:
    first = await api.ok(await api.post("sandbox.createSandbox", {"base": "opencode"}))
    try:
        second = await api.ok(await api.post("sandbox.createSandbox", {"base": first["name"]}))
        await api.post("sandbox.deleteSandbox", id=second["id"])
        assert second["baseSandbox"] == "opencode"
    finally:
        await api.post("sandbox.deleteSandbox", id=first["id"])
    refused = await api.post("sandbox.createSandbox", {"base": "no-such-template"})
    assert refused.status_code == 400
    message = refused.json()["message"]
    assert "no-such-template" in message and "shell" in message and "openclaw" in message


async def test_catalog_lists_what_runs_here_and_counts_template_sandboxes(api: Api) -> None:
    before = (await api.ok(await api.get("sandbox.getSandboxes")))["sandboxes"]
    assert [item["name"] for item in before] == ["shell"]
    assert "run as this shell" in before[0]["description"]
    row = await api.ok(await api.post("sandbox.createSandbox", {"base": "openclaw"}))
    try:
        after = (await api.ok(await api.get("sandbox.getSandboxes")))["sandboxes"]
        assert after[0]["installs"] == before[0]["installs"] + 1
    finally:
        await api.post("sandbox.deleteSandbox", id=row["id"])
    assert "openclaw" in HOSTED_TEMPLATES


async def test_plaintext_secret_update_is_sealed_at_once(api: Api, sandbox: dict, local_backend) -> None:
    added = {"secret": {"sandboxId": sandbox["id"], "name": "TOKEN_A", "value": api.seal("first-value")}}
    await api.ok(await api.post("secret.addSecret", added))
    listed = await api.ok(await api.get("secret.getSecrets", sandboxId=sandbox["id"]))
    secret_id = next(s["id"] for s in listed["secrets"] if s["name"] == "TOKEN_A")
    # The JS SDK's secret.update sends the value as it is, unsealed.
    plain = "plain-update-7c1e9"
    update = {"id": secret_id, "secret": {"sandboxId": sandbox["id"], "name": "TOKEN_A", "value": plain}}
    await api.ok(await api.post("secret.updateSecret", update))
    result = await api.exec(sandbox["id"], 'printf %s "$TOKEN_A"')
    assert result["stdout"] == plain
    # Never stored in plaintext: read the real database file.
    with sqlite3.connect(f"file:{local_backend.data_dir / 'state.db'}?mode=ro", uri=True) as db:
        stored = db.execute("SELECT value_sealed FROM secrets WHERE id = ?", (secret_id,)).fetchone()[0]
        dump = "\n".join(db.iterdump())
    assert plain not in stored and plain not in dump
    # A sealed update still works, and a sealed add still insists on being sealed.
    sealed = {"id": secret_id, "secret": {"sandboxId": sandbox["id"], "name": "TOKEN_A", "value": api.seal("third")}}
    await api.ok(await api.post("secret.updateSecret", sealed))
    assert (await api.exec(sandbox["id"], 'printf %s "$TOKEN_A"'))["stdout"] == "third"
    unsealed_add = {"secret": {"sandboxId": sandbox["id"], "name": "TOKEN_B", "value": "not sealed"}}
    refused = await api.post("secret.addSecret", unsealed_add)
    assert refused.status_code == 400 and "sealed" in refused.json()["message"]


async def test_display_name_defaults_to_the_handle(api: Api) -> None:
    profile = await api.ok(await api.get("actor.getProfile"))
    assert profile["displayName"] == profile["handle"] and profile["handle"]


def serve(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pocketenv_tui", "serve", *args], capture_output=True, text=True, timeout=30,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


def test_print_env_names_every_url_the_official_clients_read(tmp_path: Path) -> None:
    result = serve("--data-dir", str(tmp_path / "d"), "--port", "9998", "--print-env", home=tmp_path)
    assert result.returncode == 0, result.stderr
    env = dict(line.split("=", 1) for line in result.stdout.splitlines())
    url = "http://127.0.0.1:9998"
    assert env["POCKETENV_API_URL"] == env["POCKETENV_STORAGE_URL"] == env["POCKETENV_CF_URL"] == url
    assert env["POCKETENV_PTY_URL"] == f"{url}/pty" and env["POCKETENV_TTY_URL"] == f"{url}/tty"
    # The CLI rewrites "sbx" in the worker URL to the template; ours has none to rewrite.
    assert "sbx" not in env["POCKETENV_CF_URL"]


def test_write_cli_token_writes_the_token_file_for_this_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "d"
    result = serve("--data-dir", str(data), "--write-cli-token", home=tmp_path)
    assert result.returncode == 0, result.stderr
    token_file = tmp_path / ".pocketenv" / "token.json"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    written = json.loads(token_file.read_text())
    assert written["token"] == json.loads((data / "token.json").read_text())["token"]
    assert written["localDataDir"] == str(data.resolve())
    assert "wrote" in result.stderr and "0600" in result.stderr


def test_write_cli_token_keeps_another_token_unless_forced(tmp_path: Path) -> None:
    token_file = tmp_path / ".pocketenv" / "token.json"
    token_file.parent.mkdir()
    token_file.write_text(json.dumps({"token": "a-hosted-login"}))
    refused = serve("--data-dir", str(tmp_path / "d"), "--write-cli-token", home=tmp_path)
    assert refused.returncode == 1 and "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert json.loads(token_file.read_text()) == {"token": "a-hosted-login"}
    forced = serve("--data-dir", str(tmp_path / "d"), "--write-cli-token", "--force", home=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert json.loads(token_file.read_text())["token"] != "a-hosted-login"


def test_the_dashboard_opens_the_local_backend_a_token_file_was_written_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "d"
    assert serve("--data-dir", str(data), "--write-cli-token", home=tmp_path).returncode == 0
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("POCKETENV_TOKEN", "POCKETENV_API_URL"):
        monkeypatch.delenv(name, raising=False)
    started: list[Path | None] = []

    def start_local(directory: Path | None):  # records where the local backend would start
        started.append(directory)
        return "local-context"

    assert resolve_context(start_local=start_local) == "local-context"  # type: ignore[comparison-overlap]
    assert started == [data.resolve()]
    # POCKETENV_API_URL set: the user chose an API; the token goes there.
    monkeypatch.setenv("POCKETENV_API_URL", "http://127.0.0.1:1")
    context = resolve_context(start_local=start_local)
    assert context.kind == "api" and started == [data.resolve()]


async def test_a_service_started_right_after_create_waits_for_the_start(api: Api) -> None:
    # The official SDK's services example: create, add a service, start it, no wait between.
    row = await api.ok(await api.post("sandbox.createSandbox", {"base": "openclaw"}))
    try:
        assert row["status"] == "INITIALIZING"
        service = {"service": {"name": "web", "command": "sleep 300"}}
        await api.ok(await api.post("service.addService", service, sandboxId=row["id"]))
        listed = await api.ok(await api.get("service.getServices", sandboxId=row["id"]))
        service_id = listed["services"][0]["id"]
        await api.ok(await api.post("service.startService", serviceId=service_id))
        after = await api.ok(await api.get("service.getServices", sandboxId=row["id"]))
        assert after["services"][0]["status"] == "RUNNING"
        await api.ok(await api.post("service.restartService", serviceId=service_id))
        # The hosted templates' home is there for scripts written for them (the backup example).
        assert (await api.exec(row["id"], "test -d /home/coder && echo yes"))["stdout"] == "yes\n"
        await api.ok(await api.post("sandbox.createBackup", {"directory": "/home/coder"}, id=row["id"]))
    finally:
        await api.post("sandbox.deleteSandbox", id=row["id"])


async def test_a_service_of_a_stopped_sandbox_is_still_refused(api: Api) -> None:
    row = await api.create_running()
    try:
        await api.ok(await api.post("service.addService", {"service": {"name": "s", "command": "sleep 9"}}, sandboxId=row["id"]))
        service_id = (await api.ok(await api.get("service.getServices", sandboxId=row["id"])))["services"][0]["id"]
        await api.ok(await api.post("sandbox.stopSandbox", id=row["id"]))
        refused = await api.post("service.startService", serviceId=service_id)
        assert refused.status_code == 400 and refused.json()["message"] == "Sandbox is not running"
    finally:
        await api.post("sandbox.deleteSandbox", id=row["id"])
