"""`/` search for a screen that shows a :class:`~pocketenv_tui.app.widgets.text_lines.TextLines`:
a prompt line at the bottom that searches as you type; enter keeps the search (n / N step
through the matches, the screen's status line shows it) and esc clears it. A mixin of the describe and logs screens, which bind the
keys themselves (each view's own binding ids) and call these actions.
"""

from __future__ import annotations

from textual import events
from textual.screen import Screen
from textual.widgets import Input

from pocketenv_tui.app.widgets.text_lines import TextLines

SEARCH_ID = "text-search"
SEARCH_PROMPT = "search (enter keeps it, n / N next / previous, esc clears)"


def search_prompt() -> Input:
    field = Input(placeholder=SEARCH_PROMPT, id=SEARCH_ID, classes="prompt-line")
    field.display = False
    return field


class TextSearch(Screen[None]):
    """Give the subclass a ``text_view()``; compose :func:`search_prompt` in it."""

    def text_view(self) -> TextLines:
        # The one hook a subclass must give (the other is optional), as ResourcePane.load.
        raise TypeError(f"{type(self).__name__} must define text_view()")

    def search_changed(self) -> None:
        """The query or the current match changed (the screen's status line)."""

    def _search_field(self) -> Input:
        return self.query_one(f"#{SEARCH_ID}", Input)

    @property
    def searching(self) -> bool:
        """The prompt line has the keyboard."""
        return self.focused is self._search_field()

    def action_search(self) -> None:
        field = self._search_field()
        field.display = True
        field.value = self.text_view().search_text
        # Focus now: keys typed right after "/" belong to the search.
        self.set_focus(field)
        self.refresh_bindings()

    def action_next_match(self) -> None:
        self.text_view().step_match(1)
        self.search_changed()

    def action_previous_match(self) -> None:
        self.text_view().step_match(-1)
        self.search_changed()

    def has_matches(self) -> bool | None:
        """For check_action: n / N shown only while a search has matches."""
        view = self.text_view()
        if not view.search_text:
            return False
        return True if view.matches else None

    def close_search(self, *, clear: bool) -> None:
        field = self._search_field()
        if clear:
            field.value = ""
            self.text_view().search("")
        field.display = False  # the status line shows the search kept
        self.set_focus(self.text_view())
        self.search_changed()
        self.refresh_bindings()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == SEARCH_ID:
            event.stop()
            self.text_view().search(event.value)
            self.search_changed()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == SEARCH_ID:
            event.stop()
            self.close_search(clear=not event.value)

    def on_key(self, event: events.Key) -> None:
        # esc inside the prompt clears the search (Input has no escape binding of its own).
        if event.key == "escape" and self.searching:
            event.stop()
            event.prevent_default()
            self.close_search(clear=True)
