"""The mouse in the terminal widget: a mixin of :class:`TerminalView`.

The wheel scrolls the scrollback, or goes to the program (as mouse reports when it asked for
them, as arrow keys in a full-screen program that did not). Clicks and drags go to a program
that turned mouse mode on; with shift held, or without mouse mode, a drag selects text locally
and releasing copies it to the clipboard (OSC 52 through Textual).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events

from ..keys import encode_key, encode_mouse

if TYPE_CHECKING:
    from .view import TerminalView

    _Base = TerminalView
else:
    _Base = object

WHEEL_LINES = 3


class PointerInput(_Base):
    # ------------------------------------------------------------------ wheel
    def _wheel(self, event: events.MouseEvent, direction: int) -> None:
        event.stop()
        event.prevent_default()
        screen = self.terminal
        if screen.mouse_mode is not None and not event.shift:
            self._forward_mouse(event, "scroll_up" if direction > 0 else "scroll_down")
        elif screen.alternate_screen:
            # Full-screen programs without mouse mode (less, man): wheel as arrow keys.
            key = "up" if direction > 0 else "down"
            data = encode_key(key, None, app_cursor=screen.app_cursor_keys)
            if data:
                self._send(data * WHEEL_LINES)
        else:
            self._scroll_to(self.scrollback_offset + direction * WHEEL_LINES)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._wheel(event, +1)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self._wheel(event, -1)

    # ------------------------------------------------------------------ mouse
    def _cell(self, event: events.MouseEvent) -> tuple[int, int] | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        return offset.x, offset.y

    def _forward_mouse(self, event: events.MouseEvent, kind: str) -> None:
        cell = self._cell(event)
        if cell is None:
            return
        screen = self.terminal
        data = encode_mouse(
            kind, event.button, cell[0], cell[1], shift=event.shift, meta=event.meta,
            ctrl=event.ctrl, mode=screen.mouse_mode, sgr=screen.mouse_sgr,
        )
        if data:
            self._send(data, follow=False)

    def _mouse_to_remote(self, event: events.MouseEvent) -> bool:
        # Shift bypasses the remote's mouse mode so text can still be selected locally.
        return self.terminal.mouse_mode is not None and not event.shift

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if self._mouse_to_remote(event):
            event.stop()
            self._forward_mouse(event, "press")
            return
        cell = self._cell(event)
        if cell is None or event.button != 1:
            return
        event.stop()
        self._clear_selection()
        self._sel_anchor = (cell[1] - self.scrollback_offset, cell[0])
        self._sel_end = self._sel_anchor
        self._selecting = True
        self.capture_mouse()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._selecting:
            offset = event.get_content_offset_capture(self)
            x = max(0, min(self.size.width - 1, offset.x))
            y = max(0, min(self.size.height - 1, offset.y))
            end = (y - self.scrollback_offset, x)
            if end != self._sel_end:
                self._sel_end = end
                self.refresh()
            return
        mode = self.terminal.mouse_mode
        if mode in (1002, 1003) and self._mouse_to_remote(event):
            if mode == 1003 or event.button:
                self._forward_mouse(event, "move")

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._selecting:
            event.stop()
            self._selecting = False
            self.capture_mouse(False)
            if self._sel_anchor == self._sel_end:
                self._clear_selection()
            else:
                self.copy_selection()
            return
        if self._mouse_to_remote(event):
            event.stop()
            self._forward_mouse(event, "release")

    # ------------------------------------------------------------------ selection
    def _ordered_selection(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        if self._sel_anchor is None or self._sel_end is None:
            return None
        return min(self._sel_anchor, self._sel_end), max(self._sel_anchor, self._sel_end)

    def _selected_columns(self, line: int, width: int) -> tuple[int, int] | None:
        selection = self._ordered_selection()
        if selection is None or selection[0] == selection[1]:
            return None
        (first_line, first_col), (last_line, last_col) = selection
        if not first_line <= line <= last_line:
            return None
        start = first_col if line == first_line else 0
        end = last_col + 1 if line == last_line else width
        return start, end

    def selected_text(self) -> str:
        """The selected cells as text (trailing blanks trimmed per line)."""
        selection = self._ordered_selection()
        if selection is None:
            return ""
        width = max(self.size.width, self.terminal.columns)
        lines: list[str] = []
        for line in range(selection[0][0], selection[1][0] + 1):
            columns = self._selected_columns(line, width)
            if columns is None:
                continue
            strip = self._build_row(line, width)
            lines.append(strip.crop(*columns).text.rstrip())
        return "\n".join(lines)

    def copy_selection(self) -> str:
        """Copy the selection to the clipboard (OSC 52 through Textual) and return it."""
        text = self.selected_text()
        if text:
            self.app.copy_to_clipboard(text)
        return text

    def _clear_selection(self) -> None:
        if self._sel_anchor is not None:
            self._sel_anchor = self._sel_end = None
            self._selecting = False
            self.refresh()
