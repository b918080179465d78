"""`l`: every service's log followed at once, against a real local backend: lines prefixed by
their service, the services' own colours kept, pause (held and counted), end / G resumes and
follows, `/` search with n / N, scrolled up stays put; from the list and the sandbox screen."""

from __future__ import annotations

from rich.style import Style
from textual.app import App, ComposeResult

from pocketenv_tui.app.log_follow import FollowedLog
from pocketenv_tui.app.screens.logs import LogsScreen
from pocketenv_tui.app.screens.sandbox import SandboxScreen
from pocketenv_tui.app.screens.sandboxes import SandboxesScreen
from pocketenv_tui.app.widgets.log_view import LogView
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    open_sandbox_screen,
    unique_name,
    wait_for,
)

SIZE = (120, 30)
# Each prints a numbered line in its own colour, five times a second.
RED_LOOP = "i=0; while true; do printf '\\033[31mred\\033[0m %s\\n' a$i; i=$((i+1)); sleep 0.2; done"
GREEN_LOOP = "i=0; while true; do printf '\\033[32mgreen\\033[0m %s\\n' b$i; i=$((i+1)); sleep 0.2; done"


async def sandbox_with_two_services(client):
    sandbox = await create_running(client, unique_name("logs"))
    await client.services.add(sandbox.id, "redsvc", RED_LOOP)
    await client.services.add(sandbox.id, "green-service", GREEN_LOOP)
    return sandbox


def lines_of(screen: LogsScreen, service: str) -> list[int]:
    followed = screen.followed
    return [n for n in range(followed.first, followed.end) if followed.line(n).service == service]


def status(screen: LogsScreen) -> str:
    return str(screen.query_one("#logs-status").render())


def colour_at(screen: LogsScreen, number: int, text: str, *, in_prefix: bool = False) -> Style:
    """The style the view draws ``text`` of line ``number`` in (its first occurrence in the
    service's text, or in the name column)."""
    view = screen.text_view()
    plain = view.source.plain(number)
    offset = plain.index(text) if in_prefix else plain.index(text, plain.index(" │ ") + 3)
    cells = 0
    for segment in view._strip(number):
        if cells <= offset < cells + len(segment.text):
            return segment.style or Style()
        cells += len(segment.text)
    raise AssertionError(f"{text!r} is not drawn")


async def test_follow_both_services_pause_resume_search(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await sandbox_with_two_services(client)
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = app.main_screen.query_one("#sandboxes")
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                table.select_key(sandbox.id)
                await pilot.press("l")
                screen = app.screen
                assert isinstance(screen, LogsScreen) and screen.sandbox.id == sandbox.id
                followed = screen.followed
                view = screen.text_view()
                await wait_for(
                    pilot,
                    lambda: len(lines_of(screen, "redsvc")) >= 3 and len(lines_of(screen, "green-service")) >= 3,
                    "lines of both services",
                )

                # Prefixed by the service (names padded to one column), colours kept.
                red = lines_of(screen, "redsvc")[0]
                green = lines_of(screen, "green-service")[0]
                assert view.source.plain(red).startswith("redsvc        │ red a")
                assert view.source.plain(green).startswith("green-service │ green b")
                assert followed.line(red).text.plain.startswith("red a")
                red_style, green_style = colour_at(screen, red, "red"), colour_at(screen, green, "green")
                assert red_style.color is not None and red_style.color.name == "color(1)"
                assert green_style.color is not None and green_style.color.name == "color(2)"
                after = colour_at(screen, red, " a")  # the service's reset is kept too
                assert after.color != red_style.color
                # Each service's name in its own colour.
                assert colour_at(screen, red, "redsvc", in_prefix=True).color != colour_at(
                    screen, green, "green-service", in_prefix=True
                ).color
                # No control character reaches the view.
                assert all(char.isprintable() for n in range(followed.first, followed.end) for char in view.source.plain(n))
                assert "2 services" in status(screen) and "following" in status(screen)
                assert view.at_end

                # p pauses: nothing is appended, new lines are counted.
                await pilot.press("p")
                shown = followed.end
                await wait_for(pilot, lambda: followed.new_while_paused >= 4, "lines while paused")
                assert followed.end == shown and view.source.end == shown
                assert "PAUSED" in status(screen) and f"{followed.new_while_paused} new" in status(screen)

                # end resumes, shows what was held, and follows.
                held = followed.new_while_paused
                await pilot.press("end")
                assert not followed.paused and followed.end >= shown + held
                assert view.at_end
                await wait_for(pilot, lambda: followed.end > shown + held, "more lines")
                assert view.at_end and "following" in status(screen)

                # Scrolled up, the view stays where it is while lines keep coming.
                await pilot.press("home")
                assert view.scroll_y == 0 and not view.at_end
                count = followed.end
                await wait_for(pilot, lambda: followed.end > count + 2, "lines while scrolled up")
                assert view.scroll_y == 0
                await wait_for(pilot, lambda: "scrolled up" in status(screen), "the status")
                # G pauses nothing and follows again from the end.
                await pilot.press("p", "G")
                assert not followed.paused and view.at_end

                # `/` finds a line of the second service; n / N step through the matches.
                await pilot.press("slash", *"green b1", "enter")
                assert view.search_text == "green b1" and view.matches
                number, start, end = view.matches[view.current]
                assert view.source.plain(number)[start:end] == "green b1"
                highlighted = colour_at(screen, number, "green b1")
                assert highlighted.bgcolor is not None  # the current match is marked
                first = view.current
                if len(view.matches) > 1:
                    await pilot.press("n")
                    assert view.current == (first + 1) % len(view.matches)
                    await pilot.press("N")
                assert view.current == first
                assert f"/green b1 {first + 1}/" in status(screen)
                await pilot.press("escape")
                assert isinstance(app.screen, SandboxesScreen)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_l_on_the_sandbox_screen_and_in_its_services_tab(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await sandbox_with_two_services(client)
        app = make_app(local_backend)
        try:
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await open_sandbox_screen(app, pilot, sandbox)
                await pilot.pause()
                assert screen.active_bindings["l"].binding.id == "sandbox.logs"
                await pilot.press("l")
                logs = app.screen
                assert isinstance(logs, LogsScreen)
                await wait_for(pilot, lambda: lines_of(logs, "redsvc") and lines_of(logs, "green-service"), "both logs")
                await pilot.press("escape")
                assert app.screen is screen
                # In the Services tab, `l` keeps its own meaning there: the highlighted service's log.
                tabs = screen.query_one("ResourceTabs")
                tabs.show_tab("services")
                pane = tabs.pane("services")
                await wait_for(pilot, lambda: pane.loaded, "the services")
                pane.focus_main()
                await pilot.pause()
                assert screen.active_bindings["l"].binding.id == "services.log"
                assert isinstance(app.screen, SandboxScreen)
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_sandbox_without_services_says_how_to_add_one(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("logs"))
        app = make_app(local_backend)
        try:
            async with app.run_test(size=SIZE) as pilot:
                app.push_screen(LogsScreen(sandbox))
                await pilot.pause()
                screen = app.screen
                assert isinstance(screen, LogsScreen)
                await wait_for(pilot, lambda: screen.polls >= 1, "a poll")
                assert "0 services" in status(screen) and "Services tab" in status(screen)
        finally:
            await delete_quietly(client, sandbox.id)


class LogViewApp(App[None]):
    """The view alone, fed by a real FollowedLog (no backend needed for the bound)."""

    def __init__(self, followed: FollowedLog) -> None:
        super().__init__()
        self.followed = followed

    def compose(self) -> ComposeResult:
        yield LogView(self.followed)


async def test_the_view_keeps_the_bound_its_place_and_its_matches():
    followed = FollowedLog(limit=100)
    app = LogViewApp(followed)
    snapshot = ""

    def print_lines(start: int, count: int) -> None:
        nonlocal snapshot
        snapshot += "".join(f"\x1b[3{n % 8}mline {n:04d}\x1b[0m\n" for n in range(start, start + count))
        followed.feed("svc", "web", snapshot)

    async with app.run_test(size=(80, 24)) as pilot:
        view = app.query_one(LogView)
        print_lines(0, 300)
        view.show_new_lines()
        await pilot.pause()
        assert (followed.first, followed.end) == (200, 300)
        assert view.virtual_size.height == 100 and view.at_end
        assert view.source.plain(299) == "web │ line 0299"

        view.search("line 02")
        assert len(view.matches) == 100 and view.matches[0][0] == 200
        view.scroll_to(y=50, animate=False, immediate=True, force=True)
        top = followed.first + 50
        print_lines(300, 10)
        view.show_new_lines()
        await pilot.pause()
        # Ten old lines dropped: the same line stays at the top, not at end, no follow.
        assert followed.first == 210 and followed.first + view.scroll_y == top
        assert not view.at_end
        assert all(number >= 210 for number, _, _ in view.matches) and len(view.matches) == 90
        view.jump_to_end()
        print_lines(310, 5)
        view.show_new_lines()
        await pilot.pause()
        assert view.at_end and followed.end == 315
