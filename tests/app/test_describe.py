"""`i`: the describe view against a real local backend, from the list and from the sandbox
screen: the whole record (keep-alive, warnings), names of secrets and variables (never a value),
ports, services; `/` search with n / N; the JSON toggle; `c` copies; a failure in the view."""

from __future__ import annotations

import json

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.keymap import check_keymap, known_bindings
from pocketenv_tui.app.screens.describe import DescribeScreen
from pocketenv_tui.app.screens.help import HelpScreen
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.app.screens.sandboxes import SandboxesScreen
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    open_sandbox_screen,
    unique_name,
    wait_for,
)

SIZE = (160, 48)
SECRET_VALUE = "s3cret-value-never-shown"
VARIABLE_VALUE = "variable-value-not-in-the-record"


async def carrying_sandbox(client) -> Sandbox:
    """A running sandbox with a warning (a repo that cannot be cloned), keep-alive, a secret,
    a variable, a port and a service."""
    sandbox = await create_running(
        client, unique_name("describe"), repo="file:///nonexistent.git", keep_alive=True
    )
    await client.secrets.add(sandbox.id, "API_TOKEN", SECRET_VALUE)
    await client.variables.add(sandbox.id, "LOG_LEVEL", VARIABLE_VALUE)
    await client.sandboxes.expose_port(sandbox.id, 8080, "web app")
    await client.services.add(sandbox.id, "webserver", "exec sleep 600", ports=[3001])
    return sandbox


def shown_lines(screen: DescribeScreen) -> list[str]:
    view = screen.text_view()
    return [view.source.plain(number) for number in range(view.source.first, view.source.end)]


async def loaded(pilot, screen: DescribeScreen) -> str:
    await wait_for(pilot, lambda: screen.document is not None or screen.problem is not None, "the description")
    assert screen.problem is None, screen.problem
    text = screen.document_text()
    assert text is not None
    return text


async def test_describe_from_the_list_search_json_and_copy(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await carrying_sandbox(client)
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                table = app.main_screen.query_one("#sandboxes")
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                await pilot.press("i")
                screen = app.screen
                assert isinstance(screen, DescribeScreen) and screen.sandbox.id == sandbox.id
                text = await loaded(pilot, screen)
                lines = shown_lines(screen)
                assert lines == text.splitlines()  # the view shows the document as it is
                assert lines[0].startswith("# Secrets and variables are listed by name only")
                assert "  keepAlive: true" in lines
                assert any("nonexistent.git" in line for line in lines)  # the clone warning
                assert "  - API_TOKEN" in lines and "  - LOG_LEVEL" in lines
                assert SECRET_VALUE not in text and VARIABLE_VALUE not in text
                assert "  - port: 8080" in lines and "    description: web app" in lines
                assert "  - id: " in text and "    name: webserver" in lines
                assert "    command: exec sleep 600" in lines
                assert "  protections:" in lines or "  protections: []" in lines

                # `/` finds a field and highlights it; n moves on, N comes back.
                await pilot.press("slash", *"keepalive", "enter")
                view = screen.text_view()
                assert view.search_text == "keepalive" and len(view.matches) >= 1
                number, start, end = view.matches[view.current]
                assert view.source.plain(number)[start:end] == "keepAlive"
                assert view.scroll_y <= number - view.source.first < view.scroll_y + view.size.height
                assert "/keepalive 1/" in str(screen.query_one("#describe-status").render())
                # `/` again shows the search kept, selected: typing replaces it.
                await pilot.press("slash")
                assert screen.query_one("#text-search").value == "keepalive"
                await pilot.press(*"no such field", "enter")
                assert view.search_text == "no such field" and not view.matches
                assert "0/0" in str(screen.query_one("#describe-status").render())
                await pilot.press("slash", *"port", "enter")
                assert len(view.matches) >= 2
                first = view.current
                await pilot.press("n")
                assert view.current == (first + 1) % len(view.matches)
                await pilot.press("N")
                assert view.current == first

                # JSON, and back.
                await pilot.press("j")
                as_json = json.loads(screen.document_text())
                assert as_json["sandbox"]["keepAlive"] is True
                assert as_json["secrets"] == ["API_TOKEN"] and as_json["variables"] == ["LOG_LEVEL"]
                assert 8080 in {port["port"] for port in as_json["ports"]}
                assert shown_lines(screen)[0] == "{"
                assert view.search_text == "port" and view.matches  # the search survives the toggle

                await pilot.press("c")
                assert app.clipboard == screen.document_text()
                assert json.loads(app.clipboard)["sandbox"]["id"] == sandbox.id
                assert any("Copied the description" in str(n.message) for n in app._notifications)

                await pilot.press("j")
                assert shown_lines(screen)[0].startswith("#")
                await pilot.press("escape")
                assert isinstance(app.screen, SandboxesScreen)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_describe_from_the_sandbox_screen_and_back(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("describe"))
        app = make_app(local_backend)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                await open_sandbox_screen(app, pilot, sandbox)
                await pilot.press("i")
                screen = app.screen
                assert isinstance(screen, DescribeScreen)
                text = await loaded(pilot, screen)
                assert f"  name: {sandbox.name}" in text.splitlines()
                assert "ports: []" in text and "secrets: []" in text
                # `?` lists the view's keys with their ids.
                await pilot.press("question_mark")
                assert isinstance(app.screen, HelpScreen)
                keys = app.screen.query_one("#help-keys")
                ids = {keys.get_row_at(index)[2] for index in range(keys.row_count)}
                assert {"describe.search", "describe.format", "describe.copy", "describe.back"} <= ids
                await pilot.press("escape")
                await pilot.press("escape")
                assert isinstance(app.screen, SandboxScreen)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_sandbox_that_cannot_be_read_shows_why_in_the_view(local_backend):
    app = make_app(local_backend)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        ghost = Sandbox(id="sbx_does_not_exist", name="ghost")
        app.push_screen(DescribeScreen(ghost))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DescribeScreen)
        await wait_for(pilot, lambda: screen.problem is not None, "the failure")
        lines = shown_lines(screen)
        assert lines and ("ghost" in lines[0])
        assert not any("Traceback" in line for line in lines)
        assert "r tries again" in str(screen.query_one("#describe-status").render())
        # Nothing to copy: the key is greyed out in the footer and copies nothing.
        assert screen.active_bindings["c"].enabled is False
        await pilot.press("c")
        assert app.clipboard == ""


def test_the_keymap_knows_the_new_keys():
    known = {binding.id: binding for binding in known_bindings()}
    for binding_id, keys in {
        "sandboxes.describe": ("i",), "sandboxes.logs": ("l",), "sandbox.describe": ("i",),
        "sandbox.logs": ("l",), "describe.format": ("j",), "logs.pause": ("p",), "logs.end": ("G", "end"),
    }.items():
        assert known[binding_id].keys == keys, binding_id
    assert check_keymap({"sandboxes.describe": "I", "logs.pause": "space"}).problems == []
    assert "already Delete" in check_keymap({"sandboxes.describe": "d"}).problems[0]
