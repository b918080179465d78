"""Keys typed faster than a screen opens still reach it.

Textual hands every key to the widget focused when the app reads the key. When one key opens a
screen ("n" opens the create form), the keys typed right behind it have already been handed to
the old screen's widget; they come back to the app unhandled, find no binding in the new
screen, and are dropped. A burst such as ``n`` + a name (a fast typist, a paste, ``tmux
send-keys``) would lose the name. This mixin notes which screen was in front when each key was
read; a key that comes back unhandled after that screen has left the front is sent again, in
order, to the screen now in front once it has had a frame to take focus.

The same holds inside one screen: ``/`` opens the filter line, ``:`` the command line, ``e`` the
exec line, but the letters typed right behind were read while the table had the focus. They
come back unhandled, and the bindings then checked would run them as hotkeys (``/dev`` would
ask to delete the highlighted sandbox). A key read while another widget had the focus, that
comes back unhandled while a text field has it, is sent again to that field.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from textual import events
from textual.widgets import Input

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    _Base = App
else:
    _Base = object


class ReplaysKeysAcrossScreens(_Base):
    """Mix in before :class:`textual.app.App`."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Each key read from the terminal -> the screen in front at that moment. Weak: a key a
        # widget consumes never comes back and must not be kept.
        self._screen_at_read: weakref.WeakKeyDictionary[events.Key, Screen] = weakref.WeakKeyDictionary()
        self._focus_at_read: weakref.WeakKeyDictionary[events.Key, object] = weakref.WeakKeyDictionary()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded and self.screen_stack:
            self._screen_at_read[event] = self.screen
            self._focus_at_read[event] = self.screen.focused
        await super().on_event(event)

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls the ``_on_key`` of every class in the MRO: App's own (bindings, then
        # the app's key methods) runs after this one unless the default is prevented.
        read_on = self._screen_at_read.pop(event, None)
        if read_on is not None and self.screen_stack and read_on is not self.screen:
            event.prevent_default()
            # Handled from the start, as if typed now: priority bindings, the focused widget,
            # then the bindings of the screen in front.
            replay = events.Key(event.key, event.character)
            self.screen.call_after_refresh(self.post_message, replay)
            return
        focused_at_read = self._focus_at_read.pop(event, None)
        focused = self.screen.focused if self.screen_stack else None
        if read_on is not None and focused is not focused_at_read and isinstance(focused, Input):
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
