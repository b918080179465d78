"""Services tab: add (with port checks), edit, stop/start/restart, the log, delete."""

from __future__ import annotations

from pocketenv_tui.app.resources.form import FormScreen
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from tests.app.conftest import client_for, create_running, delete_quietly, unique_name, wait_for
from tests.app.test_resources_support import (
    SIZE,
    ResourcesApp,
    field_error,
    fill,
    form,
    notifications,
)


def status(pane, key: str) -> str:
    return str(pane.table.get_row(key)[2])


async def test_service_lifecycle_and_log(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("svc"))
        app = ResourcesApp(client, sandbox, initial="services")
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("services")
                await wait_for(pilot, lambda: pane.loaded, "the services")
                pane.focus_main()
                await pilot.press("a")
                fill(app, name="web", command="", ports="abc, 80")
                await pilot.press("ctrl+s")
                assert isinstance(app.screen, FormScreen)
                assert "required" in field_error(app, "command")
                assert "'abc' is not a port" in field_error(app, "ports")
                fill(app, ports="80")
                await pilot.press("ctrl+s")
                assert "outside 1025–65535" in field_error(app, "ports")
                fill(app, command="echo started-$((40+2)); exec sleep 600", ports="3001, 3002", description="demo")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the service")
                key = next(iter(pane.items))
                await wait_for(pilot, lambda: status(pane, key) == "RUNNING", "the service to run")
                assert str(pane.table.get_row(key)[3]) == "3001, 3002"

                await pilot.press("l")
                await wait_for(pilot, lambda: "started-42" in pane.log_shown, "the log")
                assert pane.query_one("#services-log-pane").display
                assert "started-42" in str(pane.query_one("#services-log").render())

                await pilot.press("x")
                await wait_for(pilot, lambda: status(pane, key) == "STOPPED", "the stop")
                assert "Service web stopped." in notifications(app)
                await pilot.press("s")
                await wait_for(pilot, lambda: status(pane, key) == "RUNNING", "the start")
                await pilot.press("R")
                await wait_for(pilot, lambda: "Service web restarted." in notifications(app), "the restart")
                await wait_for(pilot, lambda: status(pane, key) == "RUNNING", "the restarted service")
                await wait_for(pilot, lambda: "started-42" in pane.log_shown, "the restarted log")

                await pilot.press("enter")
                assert form(app).value_of("ports") == "3001, 3002" and form(app).value_of("description") == "demo"
                fill(app, command="exec sleep 500", ports="")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: str(pane.table.get_row(key)[1]) == "exec sleep 500", "the edit")
                service = (await client.services.list(sandbox.id))[0]
                assert service.command == "exec sleep 500"

                await pilot.press("l")  # hides the log again
                assert not pane.query_one("#services-log-pane").display
                await pilot.press("d")
                assert isinstance(app.screen, ConfirmScreen) and "web" in app.screen.question
                await pilot.press("y")
                await wait_for(pilot, lambda: not pane.items, "the delete")
                assert await client.services.list(sandbox.id) == []
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_crashed_service_shows_failed_with_its_exit_code(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("svc-crash"))
        await client.services.add(sandbox.id, "crasher", "echo going down; exit 3")
        await client.services.add(sandbox.id, "one-shot", "true")
        app = ResourcesApp(client, sandbox, initial="services")
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("services")
                await wait_for(pilot, lambda: len(pane.items) == 2, "the services")
                by_name = {item.name: key for key, item in pane.items.items()}
                await pilot.press("r")  # the tab refreshes on r; the services end at once
                await wait_for(pilot, lambda: status(pane, by_name["crasher"]) == "FAILED (exit 3)", "FAILED")
                await wait_for(pilot, lambda: status(pane, by_name["one-shot"]) == "STOPPED (exit 0)", "a clean exit")
                listed = {s.name: (s.status, s.exit_code) for s in await client.services.list(sandbox.id)}
                assert listed == {"crasher": ("FAILED", 3), "one-shot": ("STOPPED", 0)}
        finally:
            await delete_quietly(client, sandbox.id)
