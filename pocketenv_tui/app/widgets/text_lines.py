"""TextLines: many lines of styled text with the line API, a Strip cache and search.

The model is Toolong's log view: a ScrollView that draws only the rows on screen
(``render_line``), each line rendered once into a Strip and kept in an LRU cache by its
absolute number, so scrolling and appending cost the new rows only, whatever the length.
Lines come from a :class:`LineSource` (the describe document, the followed log); a source may
drop its oldest lines, and line numbers stay absolute so the cache stays right.

Search: :meth:`TextLines.search` finds every occurrence (case-insensitive unless the query has
a capital, as vim's smartcase), highlights them and moves to the first one at or below the top
row; :meth:`TextLines.step_match` goes to the next or previous one, wrapping. With ``follow``,
the view stays at the end while new lines come, unless it was scrolled away from it.
Lines are not wrapped: long ones scroll sideways (wrapping would make a row no longer a line,
which is what keeps every step cheap).
"""

from __future__ import annotations

import re
from typing import Protocol

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

CACHE_LINES = 2048
CONTEXT_ROWS = 3  # rows kept above a match that the view moves to


class LineSource(Protocol):
    """Numbered lines; ``first`` may grow (old lines dropped), never shrink."""

    @property
    def first(self) -> int: ...

    @property
    def end(self) -> int: ...

    def text(self, number: int) -> Text:
        """The line as shown (its plain text must be :meth:`plain`)."""
        ...

    def plain(self, number: int) -> str: ...


class ListSource:
    """A fixed list of lines (a document)."""

    def __init__(self, lines: list[Text] | None = None) -> None:
        self.lines = lines or []

    @property
    def first(self) -> int:
        return 0

    @property
    def end(self) -> int:
        return len(self.lines)

    def text(self, number: int) -> Text:
        return self.lines[number]

    def plain(self, number: int) -> str:
        return self.lines[number].plain


def search_pattern(query: str) -> re.Pattern[str] | None:
    if not query:
        return None
    flags = 0 if any(char.isupper() for char in query) else re.IGNORECASE
    return re.compile(re.escape(query), flags)


class TextLines(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {"text-lines--match", "text-lines--current-match"}
    DEFAULT_CSS = """
    TextLines > .text-lines--match { background: $warning-muted; }
    TextLines > .text-lines--current-match { background: $accent; color: $text; text-style: bold; }
    """

    def __init__(self, source: LineSource | None = None, *, follow: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source: LineSource = source or ListSource()
        self.follow = follow
        self._cache: LRUCache[int, Strip] = LRUCache(CACHE_LINES)
        self._first = self.source.first
        self._widest = 0
        self._measured_to = self._first  # lines before this are in _widest
        self._pattern: re.Pattern[str] | None = None
        self.search_text = ""
        self.matches: list[tuple[int, int, int]] = []  # (line number, start, end), in order
        self.current = -1  # index into matches
        self._searched_to = self._first

    def on_mount(self) -> None:
        self.lines_changed()

    # -- content -----------------------------------------------------------------------------
    def set_source(self, source: LineSource) -> None:
        """Show other lines (the whole view starts again: cache, width, matches, top)."""
        self.source = source
        self._cache.clear()
        self._first = self._measured_to = self._searched_to = source.first
        self._widest = 0
        self.matches, self.current = [], -1
        self.lines_changed()
        self.scroll_to(0, 0, animate=False, immediate=True, force=True)
        if self.search_text:
            self.search(self.search_text)

    # Scrolls made here pass force=True: the scrollbars are only worked out at the next
    # layout, and until then Textual refuses to scroll a view that did not overflow before.
    def lines_changed(self) -> None:
        """The source has new lines (and may have dropped old ones): show them."""
        source = self.source
        at_end = self.scroll_y >= self.max_scroll_y
        dropped = source.first - self._first
        self._first = source.first
        self._measure(source)
        if self._pattern is not None:
            self._drop_matches_before(source.first)
            self._search_lines(max(self._searched_to, source.first), source.end)
        self._searched_to = source.end
        self.virtual_size = Size(self._widest, source.end - source.first)
        if self.follow and at_end:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True, force=True)
        elif dropped > 0:
            # The rows moved up by the lines dropped: keep the same lines in view.
            self.scroll_to(y=max(0, self.scroll_y - dropped), animate=False, immediate=True, force=True)
        self.refresh()

    def _measure(self, source: LineSource) -> None:
        start = max(self._measured_to, source.first)
        for number in range(start, source.end):
            self._widest = max(self._widest, cell_len(source.plain(number)))
        self._measured_to = source.end

    def restyle(self) -> None:
        """Lines look different now (a wider name column, another theme): render them again."""
        self._cache.clear()
        self._widest = 0
        self._measured_to = self.source.first
        self.lines_changed()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    @property
    def at_end(self) -> bool:
        return self.scroll_y >= self.max_scroll_y

    def jump_to_end(self) -> None:
        self.scroll_to(x=0, y=self.max_scroll_y, animate=False, immediate=True, force=True)

    # -- search ---------------------------------------------------------------------------------
    def search(self, query: str) -> int:
        """Highlight every occurrence of ``query`` and go to the first at or below the top row;
        the number of matches. An empty query clears the search."""
        self.search_text = query
        self._pattern = search_pattern(query)
        self.matches, self.current = [], -1
        self._cache.clear()
        source = self.source
        if self._pattern is not None:
            self._search_lines(source.first, source.end)
        self._searched_to = source.end
        if self.matches:
            top = source.first + int(self.scroll_y)
            self.current = next((i for i, match in enumerate(self.matches) if match[0] >= top), len(self.matches) - 1)
            self._show_current()
        self.refresh()
        return len(self.matches)

    def step_match(self, step: int) -> None:
        """To the next (1) or previous (-1) match, wrapping around."""
        if not self.matches:
            return
        old = self.current
        self.current = (self.current + step) % len(self.matches)
        for index in (old, self.current):
            if 0 <= index < len(self.matches):
                self._cache.discard(self.matches[index][0])
        self._show_current()
        self.refresh()

    def _search_lines(self, start: int, end: int) -> None:
        pattern = self._pattern
        assert pattern is not None
        plain = self.source.plain
        for number in range(start, end):
            for found in pattern.finditer(plain(number)):
                if found.end() > found.start():
                    self.matches.append((number, found.start(), found.end()))

    def _drop_matches_before(self, first: int) -> None:
        gone = 0
        while gone < len(self.matches) and self.matches[gone][0] < first:
            gone += 1
        if gone:
            del self.matches[:gone]
            self.current = max(-1, self.current - gone) if self.matches else -1
            if self.matches and self.current < 0:
                self.current = 0

    def _show_current(self) -> None:
        number, start, end = self.matches[self.current]
        row = number - self.source.first
        height = self.scrollable_content_region.height
        y = self.scroll_y
        if not y <= row < y + max(1, height):
            y = max(0, row - CONTEXT_ROWS)
        prefix = self.source.plain(number)
        left, right = cell_len(prefix[:start]), cell_len(prefix[:end])
        width = max(1, self.scrollable_content_region.width)
        x = self.scroll_x
        if left < x:
            x = max(0, left - 4)
        elif right > x + width:
            x = max(0, right - width + 4)
        self.scroll_to(x=x, y=y, animate=False, immediate=True, force=True)

    def match_label(self) -> str:
        """``3/12`` (current of all), ``0/0`` with no match, "" with no search."""
        if not self.search_text:
            return ""
        return f"{self.current + 1}/{len(self.matches)}" if self.matches else "0/0"

    # -- drawing ---------------------------------------------------------------------------------
    def _strip(self, number: int) -> Strip:
        strip = self._cache.get(number)
        if strip is not None:
            return strip
        text = self.source.text(number)
        spans = self._spans_of(number)
        if spans:
            text = text.copy()
            match_style = self.get_component_rich_style("text-lines--match", partial=True)
            current_style = self.get_component_rich_style("text-lines--current-match", partial=True)
            for start, end, is_current in spans:
                text.stylize(current_style if is_current else match_style, start, end)
        strip = Strip(text.render(self.app.console), text.cell_len).apply_style(self.rich_style)
        self._cache.set(number, strip)
        return strip

    def _spans_of(self, number: int) -> list[tuple[int, int, bool]]:
        if not self.matches:
            return []
        # Matches are in line order: bisect to the line's first one.
        low, high = 0, len(self.matches)
        while low < high:
            middle = (low + high) // 2
            if self.matches[middle][0] < number:
                low = middle + 1
            else:
                high = middle
        spans = []
        index = low
        while index < len(self.matches) and self.matches[index][0] == number:
            _, start, end = self.matches[index]
            spans.append((start, end, index == self.current))
            index += 1
        return spans

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        number = self.source.first + scroll_y + y
        width = self.scrollable_content_region.width
        style: Style = self.rich_style
        if not self.source.first <= number < self.source.end:
            return Strip.blank(width, style)
        return self._strip(number).crop_extend(scroll_x, scroll_x + width, style)
