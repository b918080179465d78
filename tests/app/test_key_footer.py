"""KeyFooter: shows the active keys, follows focus, and runs a key when clicked."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from pocketenv_tui.app.widgets.key_footer import KeyFooter


class FooterApp(App[None]):
    BINDINGS = [
        Binding("n", "create", "Create", id="t.create"),
        Binding("h", "hidden", "Hidden", show=False),
        Binding("x", "stop", "Stop", id="t.stop"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(id="field")
        yield KeyFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "stop" else True  # None: shown but disabled

    def action_create(self) -> None:
        self.ran.append("create")

    def action_stop(self) -> None:
        self.ran.append("stop")


def footer_text(app: FooterApp) -> str:
    return app.query_one(KeyFooter).render().plain


async def test_footer_lists_shown_keys_and_click_runs_one() -> None:
    app = FooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        app.set_focus(None)
        await pilot.pause()
        text = footer_text(app)
        assert "n Create" in text and "x Stop" in text and "Hidden" not in text
        assert text.rstrip().endswith("palette")
        footer = app.query_one(KeyFooter)
        start = next(first for first, _, key in footer._spans if key == "n")
        await pilot.click(KeyFooter, offset=(start + 1, 0))
        assert app.ran == ["create"]


async def test_footer_follows_focus_and_truncates() -> None:
    app = FooterApp()
    async with app.run_test(size=(24, 10)) as pilot:
        app.set_focus(None)
        await pilot.pause()
        text = footer_text(app)
        # Narrow: the keys are cut with an ellipsis but the palette key keeps its place.
        assert "…" in text and text.rstrip().endswith("palette")
        assert len(text) <= 24
        # A focused text field takes printable keys, so their bindings leave the footer.
        app.query_one(Input).focus()
        await pilot.pause()
        assert "Create" not in footer_text(app)
        app.set_focus(None)
        await pilot.pause()
        assert "Create" in footer_text(app)


class CrowdedApp(App[None]):
    BINDINGS = [
        Binding("n", "create", "Create"),
        Binding("s", "start", "Start"),
        Binding("x", "stop", "Stop"),
        Binding("d", "delete", "Delete"),
        Binding("r", "refresh", "Refresh"),
        Binding("t", "shell", "Shell"),
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield KeyFooter()


async def test_a_narrow_footer_drops_low_priority_keys_first_and_keeps_help() -> None:
    app = CrowdedApp()
    async with app.run_test(size=(64, 10)) as pilot:
        await pilot.pause()
        text = app.query_one(KeyFooter).render().plain
        assert "? Help" in text and text.rstrip().endswith("palette")
        assert "Refresh" not in text and "Quit" not in text  # the lowest priority goes first
        assert "n Create" in text and " …" in text
        assert len(text) <= 64
    async with CrowdedApp().run_test(size=(160, 10)) as pilot:
        await pilot.pause()
        text = pilot.app.query_one(KeyFooter).render().plain
        assert "Refresh" in text and "…" not in text
