"""Make the README's screenshots from the real app against a real local backend.

Starts `pocketenv-tui serve` on a temporary data dir, creates a few sandboxes (one with
exposed ports), runs the dashboard headless and saves SVGs into this directory:

- main-list.svg       the sandboxes list
- sandbox-ports.svg   a sandbox with its Ports table
- shell-vim.svg       the shell running a full-screen program (vim; top or less as fallbacks)
- create-form.svg     the create-sandbox form
- help.svg            `?`: every key of the list with its binding id, then the commands
- exec-stream.svg     exec: a command's output streamed as it runs
- small-list.svg, small-sandbox.svg   the list and a sandbox at 80x24

Run: .venv/bin/python screenshots/generate.py
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from pocketenv_tui.api import PocketenvClient  # noqa: E402
from pocketenv_tui.app.app import PocketenvApp  # noqa: E402
from pocketenv_tui.app.config import AppConfig  # noqa: E402
from pocketenv_tui.app.contexts.resolve import AppContext  # noqa: E402
from pocketenv_tui.local.launcher import throwaway_backend  # noqa: E402

SIZE = (120, 34)
SANDBOXES = {"web-frontend": (2, 4, 8), "data-pipeline": (4, 8, 20), "scratch": (1, 2, 4)}
# The provider each records (all run here; each opens its provider's terminal family).
PROVIDERS = {"web-frontend": "cloudflare", "data-pipeline": "daytona", "scratch": "sprites"}
FULL_SCREEN_PROGRAMS = ["vim", "top", "less"]


async def until(pilot, predicate, what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def populate(client: PocketenvClient) -> None:
    ids = {}
    for name, (vcpus, memory, disk) in SANDBOXES.items():
        sandbox = await client.sandboxes.create(
            "shell", name=name, vcpus=vcpus, memory=memory, disk=disk, provider=PROVIDERS[name]
        )
        ids[name] = (await client.sandboxes.wait_until_running(sandbox.id, timeout=60, interval=0.2)).id
    await client.sandboxes.stop(ids["scratch"])
    await client.sandboxes.expose_port(ids["web-frontend"], 5173, "vite dev server")
    await client.sandboxes.expose_port(ids["web-frontend"], 8080, "api")
    await client.secrets.add(ids["web-frontend"], "DATABASE_URL", "postgres://app:example@db/app")
    await client.secrets.add(ids["web-frontend"], "STRIPE_KEY", "sk_test_example")


async def shoot(context: AppContext, client_factory) -> list[Path]:
    written: list[Path] = []

    def save(app: PocketenvApp, name: str) -> None:
        path = HERE / name
        path.write_text(app.export_screenshot(title="pocketenv-tui"), encoding="utf-8")
        written.append(path)

    async def main_list(app: PocketenvApp, pilot):
        main = app.main_screen
        await until(pilot, lambda: len(main.items) >= len(SANDBOXES), "the sandboxes")
        table = main.query_one("#sandboxes")
        table.sort_by("name")
        table.move_cursor(row=0)
        await pilot.pause(0.2)
        return main, table

    app = PocketenvApp(context, config=AppConfig(), refresh=2.0, client=client_factory())
    async with app.run_test(size=SIZE) as pilot:
        main, table = await main_list(app, pilot)
        save(app, "main-list.svg")

        # Two sandboxes marked for one bulk action.
        table.move_cursor(row=0)
        await pilot.press("space", "space")
        await pilot.pause(0.2)
        save(app, "marked-list.svg")
        await pilot.press("escape")

        web_frontend = next(k for k, s in main.items.items() if s.name == "web-frontend")
        table.select_key(web_frontend)
        await pilot.press("i")
        describe = app.screen
        await until(pilot, lambda: not getattr(describe, "is_loading", True), "the describe document")
        await pilot.pause(0.2)
        save(app, "describe.svg")
        await pilot.press("escape")

        main.run_command(":events")
        events = app.screen
        await until(pilot, lambda: len(getattr(events, "events", {})) >= 3, "the events")
        await pilot.pause(0.2)
        save(app, "events.svg")
        await pilot.press("escape")

        table.select_key(web_frontend)
        await pilot.press("enter")
        screen = app.screen
        await until(pilot, lambda: len(screen.ports) == 2, "the ports")
        secrets = screen.query_one("#resource-tabs").pane("secrets")
        await until(pilot, lambda: len(secrets.items) == 2, "the secrets")
        screen.query_one("#ports").sort_by("port")
        await pilot.pause(0.2)
        save(app, "sandbox-ports.svg")
        await pilot.press("escape")

        await pilot.press("n")
        form = app.screen
        await until(pilot, lambda: form.query_one("#base").value == "shell", "the catalog")
        form.query_one("#name").value = "my-project"
        form.query_one("#repo").value = "github:pocketenv-io/pocketenv"
        for field in form.query("Input"):
            field.cursor_blink = False
        await pilot.pause(0.2)
        save(app, "create-form.svg")
        await pilot.press("escape")

        await pilot.press("question_mark")
        await pilot.pause(0.2)
        save(app, "help.svg")
        await pilot.press("escape")

        table.select_key(next(k for k, s in main.items.items() if s.name == "data-pipeline"))
        await pilot.press("enter")
        await pilot.press("e")
        command = "for step in fetch parse load; do echo \"$step: ok\"; sleep 0.3; done; echo 'warn: 2 rows skipped' >&2"
        app.screen.focused.value = command
        await pilot.press("enter")
        panel = app.screen.query_one("ExecPanel")
        await until(pilot, lambda: panel.current is not None and not panel.running, "the command")
        await pilot.pause(0.2)
        save(app, "exec-stream.svg")
        await pilot.press("escape", "escape")

        program = next((p for p in FULL_SCREEN_PROGRAMS if shutil.which(p)), None)
        if program is not None:
            table.select_key(next(k for k, s in main.items.items() if s.name == "data-pipeline"))
            await pilot.press("t")
            from pocketenv_tui.terminal.widget import TerminalView

            view = app.screen.query_one(TerminalView)
            await until(pilot, lambda: any(line.strip() for line in view.terminal.display), "a prompt")
            command = {
                "vim": "printf 'def main():\\n    print(\"hello from the sandbox\")\\n' > app.py && vim app.py",
                "top": "top",
                "less": "ls -la /usr/bin | less",
            }[program]
            for key in command:
                await pilot.press(key if key != " " else "space")
            await pilot.press("enter")
            await until(pilot, lambda: view.terminal.alternate_screen, f"{program} to take the screen")
            await pilot.pause(1.0)
            save(app, f"shell-{program}.svg")
            await pilot.press("escape", *":q!", "enter") if program == "vim" else await pilot.press("q")
            await pilot.pause(0.3)
        else:
            print("no full-screen program (vim, top, less) found: shell screenshot skipped")

    app = PocketenvApp(context, config=AppConfig(), refresh=2.0, client=client_factory())
    async with app.run_test(size=(80, 24)) as pilot:
        main, table = await main_list(app, pilot)
        save(app, "small-list.svg")
        table.select_key(next(k for k, s in main.items.items() if s.name == "web-frontend"))
        await pilot.press("enter")
        screen = app.screen
        await until(pilot, lambda: len(screen.ports) == 2, "the ports")
        screen.query_one("#ports").sort_by("port")
        await pilot.pause(0.3)
        save(app, "small-sandbox.svg")
    return written


def main() -> int:
    with throwaway_backend("pocketenv-shots-") as backend:

        def client_factory() -> PocketenvClient:
            return PocketenvClient(
                api_url=backend.url, token=backend.token, public_key=backend.public_key, storage_url=backend.url
            )

        async def setup() -> None:
            async with client_factory() as client:
                await populate(client)

        asyncio.run(setup())
        # The header shows the default local address rather than this run's random port.
        context = AppContext("local", "http://127.0.0.1:8789", backend.token, backend.public_key)
        written = asyncio.run(shoot(context, client_factory))
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
