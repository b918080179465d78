"""Cursor movement of :class:`TerminalScreen`: a mixin over pyte's.

pyte's movers, made tolerant of the extra parameters or ``private`` flag a stream can carry
(stock pyte raises TypeError on ``CSI ? 5 A``); SCO save and restore (``CSI s``/``CSI u``);
a bounded DECSC stack; CHT and CBT tab moves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyte
from pyte import modes as mo

if TYPE_CHECKING:
    _Base = pyte.Screen
else:
    _Base = object

MAX_SAVEPOINTS = 64


class CursorMoves(_Base):
    _sco_saved: tuple[int, int] | None

    def save_cursor(self) -> None:
        super().save_cursor()
        del self.savepoints[:-MAX_SAVEPOINTS]

    def save_cursor_sco(self, *params: int, **__: Any) -> None:
        """SCOSC (``CSI s``): remember the cursor position."""
        self._sco_saved = (self.cursor.x, self.cursor.y)

    def restore_cursor_sco(self, *params: int, **__: Any) -> None:
        """SCORC (``CSI u``): return to the position saved by ``CSI s``."""
        if self._sco_saved is not None:
            self.cursor.x = min(self._sco_saved[0], self.columns - 1)
            self.cursor.y = min(self._sco_saved[1], self.lines - 1)

    def cursor_up(self, count: int | None = None, *_: Any, **__: Any) -> None:
        super().cursor_up(count)

    def cursor_down(self, count: int | None = None, *_: Any, **__: Any) -> None:
        super().cursor_down(count)

    def cursor_up1(self, count: int | None = None, *_: Any, **__: Any) -> None:
        super().cursor_up1(count)

    def cursor_down1(self, count: int | None = None, *_: Any, **__: Any) -> None:
        super().cursor_down1(count)

    def cursor_forward(self, count: int | None = None, *_: Any, **__: Any) -> None:
        super().cursor_forward(count)

    def cursor_back(self, count: int | None = None, *_: Any, **__: Any) -> None:
        super().cursor_back(count)

    def cursor_to_column(self, column: int | None = None, *_: Any, **__: Any) -> None:
        super().cursor_to_column(column)

    def cursor_to_line(self, line: int | None = None, *_: Any, **__: Any) -> None:
        if mo.DECOM in self.mode and self.margins is None:
            # pyte asserts here; xterm takes origin mode without margins as the whole screen.
            self.cursor.y = (line or 1) - 1
            self.ensure_vbounds()
            return
        super().cursor_to_line(line)

    def cursor_position(
        self, line: int | None = None, column: int | None = None, *_: Any, **__: Any
    ) -> None:
        super().cursor_position(line, column)

    def set_margins(
        self, top: int | None = None, bottom: int | None = None, *_: Any, **kwargs: Any
    ) -> None:
        if kwargs.get("private"):
            return  # CSI ? r restores DEC modes in xterm; not a margin change
        super().set_margins(top, bottom)

    def clear_tab_stop(self, how: int = 0, *_: Any, **__: Any) -> None:
        super().clear_tab_stop(how)

    def forward_tab(self, count: int | None = None, *_: Any, **__: Any) -> None:
        """CHT (``CSI n I``)."""
        for _step in range(min(max(count or 1, 1), self.columns)):
            self.tab()

    def back_tab(self, count: int | None = None, *_: Any, **__: Any) -> None:
        """CBT (``CSI n Z``): back to the n-th previous tab stop (or column 0)."""
        x = min(self.cursor.x, self.columns - 1)
        for _step in range(min(max(count or 1, 1), self.columns)):
            x = max((stop for stop in self.tabstops if stop < x), default=0)
        self.cursor.x = x
