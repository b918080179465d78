"""Control characters in data never reach the terminal (app/safe_output.py).

What is checked is what Textual would write to the terminal: the full screen update of the
compositor, rendered to its escape-sequence string. Textual itself writes only SGR styles and
cursor positions there; anything else (OSC 52 setting the clipboard, ED clearing the screen,
an 8-bit CSI, a bidi override) came from data.

First the pieces, then a small app with every kind of widget, then the dashboard against the
real local backend behind a proxy that plays a hostile server: it plants those bytes in an
event's message, kind and sandbox name and in a sandbox's base name.
"""

from __future__ import annotations

import json
import re

import httpx
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from starlette.requests import Request
from starlette.responses import Response
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.widgets import DataTable, Input, Static

from pocketenv_tui.app import safe_output
from pocketenv_tui.app.screens.events import EventsScreen
from tests.app.conftest import client_for, create_running, delete_quietly, unique_name, wait_for
from tests.app.test_usage_view import app_at
from tests.backend_proxy import BackendProxy, xrpc_method

HOSTILE = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b]0;owned\x07\x9b2J\u202e\u2066\x00\x7f"
SGR = re.compile(r"\x1b\[[0-9;]*m")
CURSOR_MOVE = re.compile(r"\x1b\[\d+;\d+H")


def terminal_output(app: App) -> str:
    """What a full redraw of the screen writes to the terminal (the compositor is the only
    place that has it whole; there is no public API for it)."""
    return app.screen._compositor.render_update(full=True).render_segments(app.console)


def foreign_controls(output: str) -> list[str]:
    """Control characters left once Textual's own SGR and cursor moves are taken out."""
    rest = CURSOR_MOVE.sub("", SGR.sub("", output)).replace("\n", "")  # Textual ends lines with one
    return sorted({repr(ch) for ch in rest if safe_output.UNSAFE.match(ch)})


# -- the pieces -------------------------------------------------------------------------------------------


def test_clean_text_drops_controls_and_bidi_and_keeps_everything_printable() -> None:
    assert safe_output.clean_text("a" + HOSTILE + "b") == "a]52;c;cm0gLXJmIH4=[2J]0;owned2Jb"
    kept = "naïve e\u0301 日本語 👩\u200d💻 ─│┼ ⚠ ~!@#$%^&*()"
    assert safe_output.clean_text(kept) is kept  # nothing to do: the same object back


def test_a_cleaned_strip_keeps_its_width_and_styles() -> None:
    bold, red = Style(bold=True), Style(color="red")
    strip = Strip([Segment("ab\x1b[2J", bold), Segment("\u202ec日", red)])
    cleaned = safe_output.clean_strip(strip)
    assert [(s.text, s.style) for s in cleaned] == [("ab[2J", bold), ("c日", red)]
    assert cleaned.cell_length == strip.cell_length == Strip([Segment("ab[2Jc日")]).cell_length
    safe = Strip([Segment("plain", bold)])
    assert safe_output.clean_strip(safe) is safe


# -- every kind of widget -------------------------------------------------------------------------------


class EveryWidget(App[None]):
    def compose(self) -> ComposeResult:
        yield Static(Text("static:" + HOSTILE + ":end"))
        yield Input(value="input:" + HOSTILE + ":end")
        yield DataTable()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("NAME")
        table.add_row(Text("cell:" + HOSTILE + ":end"))
        self.notify("toast:" + HOSTILE + ":end")


async def test_no_widget_lets_a_control_character_through() -> None:
    safe_output.install()
    app = EveryWidget()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause(0.2)
        output = terminal_output(app)
    assert foreign_controls(output) == []
    for what in ("static", "input", "cell", "toast"):
        assert f"{what}:]52;c;" in output  # the text is shown, only the controls are gone


# -- the dashboard against a hostile server -------------------------------------------------------------


def poison(request: Request, answer: httpx.Response) -> Response | None:
    """Plants HOSTILE in what a server sends about events and sandboxes."""
    method = xrpc_method(request)
    if method not in ("sandbox.getSandboxEvents", "actor.getActorSandboxes") or answer.status_code != 200:
        return None
    data = answer.json()
    for event in data.get("events", []):
        event["message"] = "msg:" + HOSTILE + ":" + event["message"]
        event["kind"] = "kind" + HOSTILE
        event["sandboxName"] = "name" + HOSTILE
    for sandbox in data.get("sandboxes", []):
        sandbox["baseSandbox"] = "base" + HOSTILE
    return Response(json.dumps(data), status_code=200, media_type="application/json")


async def test_the_dashboard_shows_a_hostile_servers_text_without_its_controls(local_backend) -> None:
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("hostile"))
    try:
        with BackendProxy(local_backend.url, after=poison) as proxy:
            app = app_at(local_backend, proxy)
            async with app.run_test(size=(160, 48)) as pilot:
                main = app.main_screen
                await wait_for(pilot, lambda: sandbox.id in main.items, "the row")
                await pilot.pause(0.2)
                listing = terminal_output(app)
                main.run_command(":events")
                await pilot.pause()
                view = app.screen
                assert isinstance(view, EventsScreen)
                await wait_for(pilot, lambda: view.loaded and view.query_one("#events").row_count, "the events")
                await pilot.pause(0.2)
                events = terminal_output(app)
                await pilot.press("enter")  # one event, whole, with its data
                await pilot.pause(0.2)
                detail = terminal_output(app)
        assert foreign_controls(listing) == [] and "base]52;c;" in listing
        assert foreign_controls(events) == [] and "msg:]52;c;" in events
        assert foreign_controls(detail) == [] and "msg:]52;c;" in detail
    finally:
        async with client_for(local_backend) as client:
            await delete_quietly(client, sandbox.id)
