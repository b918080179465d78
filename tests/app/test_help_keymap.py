"""Help that fits and names binding ids; keymap remaps checked before they are applied."""

from __future__ import annotations

from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.keymap import check_keymap, known_bindings
from pocketenv_tui.app.screens.help import HelpScreen
from tests.app.conftest import make_app, wait_for


def test_every_binding_id_is_known_once_with_its_keys():
    known = {binding.id: binding for binding in known_bindings()}
    assert known["sandboxes.stop"].keys == ("x",)
    assert known["sandboxes.stop"].scope == "Sandboxes"
    assert known["secrets.add"].scope == "SecretsPane"
    assert "app.quit" in known


def test_an_unknown_id_is_named_and_not_applied():
    checked = check_keymap({"sandboxes.stpo": "k"})
    assert checked.applied == {}
    assert checked.problems == [
        "keymap: no binding has the id 'sandboxes.stpo' (press ? to see each key's id)."
    ]


def test_a_key_another_binding_of_the_view_uses_is_refused():
    checked = check_keymap({"sandboxes.delete": "s", "sandboxes.stop": "k"})
    assert checked.applied == {"sandboxes.stop": "k"}
    assert len(checked.problems) == 1
    assert "sandboxes.delete" in checked.problems[0]
    assert "s is already Start (sandboxes.start) in Sandboxes" in checked.problems[0]


def test_a_key_freed_by_the_same_keymap_may_be_taken():
    # Start moves to k, so s is free for delete: a swap is not a conflict.
    checked = check_keymap({"sandboxes.start": "k", "sandboxes.delete": "s"})
    assert checked.applied == {"sandboxes.start": "k", "sandboxes.delete": "s"}
    assert checked.problems == []


def test_the_apps_priority_keys_cannot_be_taken():
    checked = check_keymap({"sandboxes.stop": "ctrl+q"})
    assert checked.applied == {}
    assert "ctrl+q is Quit (app.quit) everywhere" in checked.problems[0]


def test_same_keys_in_another_view_are_no_conflict():
    # `s` starts a sandbox in the list and a service in the Services tab: different views.
    assert check_keymap({"services.start": "s"}).problems == []


async def test_start_up_warns_about_the_keymap_and_keeps_start_reachable(local_backend):
    config = AppConfig(keymap={"sandboxes.delete": "s", "nope.nothing": "z", "sandboxes.stop": "k"})
    app = make_app(local_backend, config=config)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("sandboxes.delete" in m and "nope.nothing" in m for m in messages), messages
        bindings = app.screen.active_bindings
        assert bindings["s"].binding.id == "sandboxes.start"
        assert bindings["k"].binding.id == "sandboxes.stop"
        assert bindings["d"].binding.id == "sandboxes.delete"


async def test_help_fits_scrolls_to_the_commands_and_shows_ids(local_backend):
    app = make_app(local_backend)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_screen = app.screen
        keys = help_screen.query_one("#help-keys")
        ids = {keys.get_row_at(index)[2] for index in range(keys.row_count)}
        assert {"sandboxes.stop", "sandboxes.delete", "app.quit"} <= ids
        commands = help_screen.query_one("#help-commands")
        assert commands.row_count > 5
        scroll = help_screen.query_one("#help-scroll")
        # The dialog fits the screen; the commands are reached by scrolling it.
        dialog = help_screen.query_one("#help-dialog")
        assert dialog.region.bottom <= 48 and dialog.region.height > 10
        for _ in range(40):
            await pilot.press("down")
        await wait_for(pilot, lambda: scroll.scroll_y >= scroll.max_scroll_y, "the scroll")
        visible = scroll.content_region
        assert commands.region.overlaps(visible) and commands.region.height >= commands.row_count
