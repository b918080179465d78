"""Modes, the alternate screen and replies of :class:`TerminalScreen`: a mixin.

``set_mode``/``reset_mode`` (DEC private modes as pyte stores them, shifted left by five): the
alternate screen (47, 1047, 1049 with the cursor saved and restored), mouse tracking (9, 1000,
1002, 1003) and pyte's own. Replies to the remote's queries (device attributes, status, cursor
position, default colours) are queued for :meth:`TerminalScreen.take_replies`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyte import charsets as cs
from pyte import modes as mo
from pyte.screens import Cursor

from .rows import DEFAULT_ID

if TYPE_CHECKING:
    from .emulator import TerminalScreen

    _Base = TerminalScreen
else:
    _Base = object

ALT_47 = 47 << 5
ALT_1047 = 1047 << 5
ALT_1049 = 1049 << 5
MOUSE_MODES = {9 << 5: 9, 1000 << 5: 1000, 1002 << 5: 1002, 1003 << 5: 1003}

PRIMARY_DA = "\x1b[?1;2c"  # VT100 with advanced video, as xterm.js answers
SECONDARY_DA = "\x1b[>1;10;0c"  # VT220, firmware 10


class ScreenModes(_Base):
    # ------------------------------------------------------------ modes
    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        mode_list = [mode << 5 for mode in modes] if kwargs.get("private") else list(modes)
        for mode in mode_list:
            if mode in (ALT_47, ALT_1047):
                self._enter_alternate(clear=False)
            elif mode == ALT_1049:
                self._save_for_alternate()
                self._enter_alternate(clear=True)
            elif mode in MOUSE_MODES:
                self.mouse_mode = MOUSE_MODES[mode]
        self.mode.update(mode_list)
        if mo.DECCOLM in mode_list:
            self.erase_in_display(2)
            self.cursor_position()
        if mo.DECOM in mode_list:
            self.cursor_position()
        if mo.DECSCNM in mode_list:
            self._dirty_all = True
        if mo.DECTCEM in mode_list:
            self.cursor.hidden = False

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        mode_list = [mode << 5 for mode in modes] if kwargs.get("private") else list(modes)
        self.mode.difference_update(mode_list)
        for mode in mode_list:
            if mode == ALT_47:
                self._leave_alternate(clear=False)
            elif mode == ALT_1047:
                self._leave_alternate(clear=True)
            elif mode == ALT_1049:
                self._leave_alternate(clear=True)
                self._restore_from_alternate()
            elif mode in MOUSE_MODES:
                self.mouse_mode = None  # xterm: turning any tracking mode off ends tracking
        if mo.DECCOLM in mode_list:
            self.erase_in_display(2)
            self.cursor_position()
        if mo.DECOM in mode_list:
            self.cursor_position()
        if mo.DECSCNM in mode_list:
            self._dirty_all = True
        if mo.DECTCEM in mode_list:
            self.cursor.hidden = True

    def _enter_alternate(self, *, clear: bool) -> None:
        if self._alt_rows is None or clear:
            self._alt_rows = [self._blank(DEFAULT_ID)] * self.lines
        self.alternate_screen = True
        self._rows = self._alt_rows
        self._dirty_all = True

    def _leave_alternate(self, *, clear: bool) -> None:
        if clear:
            self._alt_rows = None
        if self.alternate_screen:
            self.alternate_screen = False
            self._rows = self._main_rows
        self._dirty_all = True

    def _save_for_alternate(self) -> None:
        cursor = Cursor(self.cursor.x, self.cursor.y, self.cursor.attrs)
        cursor.hidden = self.cursor.hidden
        self._alt_saved = (cursor, self.g0_charset, self.g1_charset, self.charset)

    def _restore_from_alternate(self) -> None:
        if self._alt_saved is None:
            return
        cursor, self.g0_charset, self.g1_charset, self.charset = self._alt_saved
        self._alt_saved = None
        self.cursor.x = min(cursor.x, self.columns - 1)
        self.cursor.y = min(cursor.y, self.lines - 1)
        self.cursor.attrs = cursor.attrs

    def define_charset(self, code: str, mode: str) -> None:
        if code in cs.MAPS:
            if mode == "(":
                self.g0_charset = cs.MAPS[code]
            elif mode == ")":
                self.g1_charset = cs.MAPS[code]

    # -------------------------------------------------- replies, misc
    def report_device_attributes(self, mode: int = 0, *_: Any, **kwargs: Any) -> None:
        if mode == 0 and not kwargs.get("private"):
            self.write_process_input(PRIMARY_DA)

    def report_secondary_device_attributes(self) -> None:
        self.write_process_input(SECONDARY_DA)

    def report_device_status(self, mode: int = 0, *_: Any, **kwargs: Any) -> None:
        if mode == 5:
            self.write_process_input("\x1b[0n")
        elif mode == 6:
            x = self.cursor_x + 1
            y = self.cursor.y + 1
            if mo.DECOM in self.mode and self.margins is not None:
                y -= self.margins.top
            prefix = "?" if kwargs.get("private") else ""
            self.write_process_input(f"\x1b[{prefix}{y};{x}R")

    def report_default_color(self, which: int, terminator: str = "\x1b\\") -> None:
        """Answer ``OSC 10 ; ?`` (``which`` 10, foreground) or ``OSC 11 ; ?`` (background) in
        xterm's form, ending with the terminator the query used."""
        red, green, blue = self.default_colors[which - 10]
        self.write_process_input(
            f"\x1b]{which};rgb:{red:02x}{red:02x}/{green:02x}{green:02x}/{blue:02x}{blue:02x}{terminator}"
        )

    def write_process_input(self, data: str) -> None:
        self._replies.append(data)

    def bell(self, *_: Any) -> None:
        self.bells += 1

    def debug(self, *_: Any, **__: Any) -> None:
        """Unrecognised sequences are ignored."""
