"""Generate the resource-tab screenshots from the real app against a real local backend.

    .venv/bin/python screenshots/generate_resources.py

Starts a throw-away backend in a temporary data dir, creates a sandbox with a few secrets and
services, runs the dashboard headless at 120x34 on that sandbox's screen and writes
screenshots/secrets-tab.svg and screenshots/services-log.svg. Secret values are made up here and never shown: the script checks
that none of them is in the SVGs before writing.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.resolve import AppContext
from pocketenv_tui.app.resources import ResourceTabs
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.local.launcher import throwaway_backend

HERE = Path(__file__).resolve().parent
SIZE = (120, 34)
SECRETS = {"API_KEY": "sk-demo-000000000000", "DATABASE_URL": "postgres://demo:demo@db/app", "GITHUB_TOKEN": "ghp_demo0000000000"}


async def wait(pilot, predicate, what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def shoot(connect, sandbox, initial: str, prepare, out: Path) -> None:
    # The header shows the default local address rather than this run's random port.
    context = AppContext("local", "http://127.0.0.1:8789", "unused", "unused")
    app = PocketenvApp(context, config=AppConfig(), refresh=30.0, client=connect())
    async with app.run_test(size=SIZE) as pilot:
        await wait(pilot, lambda: app.main_screen is not None and app.main_screen.is_mounted, "the app")
        await app.push_screen(SandboxScreen(sandbox))
        app.screen.query_one(ResourceTabs).show_tab(initial)
        await pilot.pause()
        await prepare(pilot)
        svg = app.export_screenshot(title="pocketenv-tui")
    leaked = [name for name, value in SECRETS.items() if value in svg]
    if leaked:
        raise SystemExit(f"refusing to write {out.name}: it shows the value of {', '.join(leaked)}")
    await asyncio.to_thread(out.write_text, svg)
    print(f"wrote {out.relative_to(HERE.parent)}")


async def main(url: str, token: str, public_key: str) -> None:
    def connect() -> PocketenvClient:
        return PocketenvClient(api_url=url, token=token, public_key=public_key, storage_url=url)

    async with connect() as client:
        sandbox = await client.sandboxes.create("shell", name="demo")
        sandbox = await client.sandboxes.wait_until_running(sandbox.id, timeout=60, interval=0.2)
        for name, value in SECRETS.items():
            await client.secrets.add(sandbox.id, name, value)
        await client.services.add(sandbox.id, "web", "echo 'serving on :3001'; exec python3 -u -m http.server 3001",
                                  ports=[3001], description="static site")
        await client.services.add(sandbox.id, "worker", "echo 'worker ready'; exec sleep 600")

        async def secrets(pilot) -> None:
            pane = pilot.app.screen.query_one(ResourceTabs).pane("secrets")
            await wait(pilot, lambda: len(pane.items) == len(SECRETS), "the secrets")
            pane.table.sort_by("name", reverse=False)
            pane.focus_main()
            await pilot.pause()

        async def services(pilot) -> None:
            pane = pilot.app.screen.query_one(ResourceTabs).pane("services")
            await wait(pilot, lambda: len(pane.items) == 2, "the services")
            pane.table.sort_by("name", reverse=False)
            pane.table.move_cursor(row=0)
            pane.focus_main()
            await pilot.press("l")
            await wait(pilot, lambda: pane.log_shown.strip() != "", "the log")
            await pilot.pause()

        try:
            await shoot(connect, sandbox, "secrets", secrets, HERE / "secrets-tab.svg")
            await shoot(connect, sandbox, "services", services, HERE / "services-log.svg")
        finally:
            await client.sandboxes.delete(sandbox.id)


def run() -> int:
    with throwaway_backend("pocketenv-shots-") as backend:
        asyncio.run(main(backend.url, backend.token, backend.public_key))
    return 0


if __name__ == "__main__":
    sys.exit(run())
