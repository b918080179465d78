"""A DataTable that is updated in place by row key and keeps the cursor on the same row.

Each refresh hands the whole wanted content (row key -> cells); the table applies only the
difference (see table_diff), re-sorts when something changed, and puts the cursor back on the
row it was on, wherever that row moved.

A refresh that only changes cells (the common poll: a status here, an up-time there) repaints
only those rows. DataTable's own ``update_cell`` cannot: it bumps the table's update counter,
which is part of every render cache key, so each call re-renders every row in view (about
55 ms of CPU per poll of a thousand sandboxes in benchmarks/startup.py, against about 20 this
way). ``_patch_cells`` stores the values, drops the cached renders of the changed rows alone
and refreshes their lines. Rows here are always one line high (nothing adds them otherwise),
so a row's line is its index.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowDoesNotExist, RowKey

from pocketenv_tui.app.sandbox_rows import cell_sort_key
from pocketenv_tui.app.table_diff import CellChange, TableDiff, diff_rows


def _cell_width(value: object) -> int:
    return value.cell_len if isinstance(value, Text) else cell_len(str(value))


class LiveTable(DataTable, inherit_bindings=False):
    # DataTable's bindings without enter: enter belongs to the screen ("open"), as an ordinary
    # binding. A table-level enter would need the screen's enter to be a priority binding, and
    # priority bindings run ahead of keys still queued from fast typing (e.g. "/name" + enter
    # arriving in one read), which opened the row instead of submitting the filter.
    BINDINGS = [
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("right", "cursor_right", "Cursor right", show=False),
        Binding("left", "cursor_left", "Cursor left", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("ctrl+home", "scroll_top", "Top", show=False),
        Binding("ctrl+end", "scroll_bottom", "Bottom", show=False),
        Binding("home", "scroll_home", "Home", show=False),
        Binding("end", "scroll_end", "End", show=False),
    ]
    # Rows a screen marked (the sandboxes list's bulk actions): their cells take this style.
    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {"live-table--marked"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id, classes=classes, cursor_type="row", zebra_stripes=True, cursor_foreground_priority="renderable"
        )
        self._shown: dict[Hashable, tuple[object, ...]] = {}
        self._column_order: list[str] = []
        self._labels: dict[str, str] = {}
        self._column_keys: dict[str, ColumnKey] = {}
        self.sort_column: str | None = None
        self.sort_reverse = False

    # -- columns ---------------------------------------------------------------------------
    def set_columns(self, columns: Sequence[tuple[str, str]]) -> None:
        """Replace the columns (and so every row) when the view changes shape."""
        keys = [key for key, _ in columns]
        if keys == self._column_order:
            return
        self.clear(columns=True)
        self._shown.clear()
        self._column_order = keys
        self._labels = dict(columns)
        self._column_keys = {}
        if self.sort_column not in keys:
            self.sort_column, self.sort_reverse = None, False
        for key, label in columns:
            self._column_keys[key] = self.add_column(self._heading(key, label), key=key)

    def _heading(self, key: str, label: str) -> Text:
        if key != self.sort_column:
            return Text(label)
        return Text(f"{label} {'▼' if self.sort_reverse else '▲'}", style="bold")

    def _relabel(self) -> None:
        for key, column in self.columns.items():
            column.label = self._heading(str(key.value), self._labels.get(str(key.value), ""))
            if column.label.cell_len > column.content_width:
                # A column as narrow as its label would cut the mark off: widen it.
                column.content_width = column.label.cell_len
                self._require_update_dimensions = True
        # The header's cached render would keep the old sort mark when the rows did not move
        # (no sort, so no cache-clearing update count).
        self._clear_caches()
        self.refresh()

    # -- rows --------------------------------------------------------------------------------
    @property
    def highlighted_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except Exception:  # the cursor sits outside the rows while the table is empty
            return None
        return None if row_key.value is None else str(row_key.value)

    @property
    def shown_keys(self) -> list[Hashable]:
        return list(self._shown)

    def show_rows(self, rows: Mapping[Hashable, tuple[object, ...]]) -> TableDiff:
        """Make the table show exactly ``rows`` (in order for new rows, then sorted)."""
        keep = self.highlighted_key
        diff = diff_rows(self._shown, rows)
        if diff.empty:
            return diff
        with self.app.batch_update():
            for key in diff.removed:
                self.remove_row(str(key))
            if diff.reshaped:
                # Rows come or go: the whole table repaints anyway, so the plain path will do.
                for change in diff.updated:
                    self._update_cell(change)
            else:
                self._patch_cells(diff.updated)
            self._store_sort_keys(diff.rekeyed)
            for key, cells in diff.added:
                self.add_row(*cells, key=str(key))
            self._shown = dict(rows)
            if self._sort_may_move_rows(diff):
                self._apply_sort()
            elif self.sort_column is None and diff.added and self._row_order() != [str(key) for key in rows]:
                # Unsorted, the table shows the server's order. Rows that come back (a filter
                # cleared) were appended at the end: put every row back where the server has it.
                self._rebuild()
            self._restore_cursor(keep)
        return diff

    def _column_key(self, index: int) -> ColumnKey:
        return self._column_keys[self._column_order[index]]

    def _grows(self, column: ColumnKey, value: object) -> bool:
        # A narrower value leaves the column as it is: asking DataTable to re-measure would
        # measure every cell of the column, per updated cell (refit() narrows columns).
        return _cell_width(value) > self.columns[column].content_width

    def _update_cell(self, change: CellChange) -> None:
        key, index, value = change
        column = self._column_key(index)
        self.update_cell(str(key), column, value, update_width=self._grows(column, value))

    def _patch_cells(self, changes: list[CellChange]) -> None:
        """Store changed cells and repaint only their rows (see the module's docs)."""
        changed: dict[RowKey, int] = {}  # row key -> row index
        for change in changes:
            key, index, value = change
            column = self._column_key(index)
            if self._grows(column, value):
                # The column widens: every row's cells move, so all of them must re-render.
                self._update_cell(change)
                continue
            row_key = RowKey(str(key))
            self._data[row_key][column] = value
            changed[row_key] = self._row_locations.get(row_key)
        if changed:
            self._forget_renders(changed)

    def _forget_renders(self, rows: dict[RowKey, int]) -> None:
        """Drop DataTable's cached renders of ``rows`` and mark their lines for repaint.

        The caches and their key layouts are DataTable's (textual 8): the row and cell caches
        start with the row key, the renderables cache is (update count, row index) and the line
        cache starts with the table line (header included)."""
        header = self.header_height if self.show_header else 0
        indices = set(rows.values())
        lines = {header + index for index in indices}
        for cache, position, doomed in (
            (self._row_render_cache, 0, rows),
            (self._cell_render_cache, 0, rows),
            (self._row_renderable_cache, 1, indices),
            (self._line_cache, 0, lines),
        ):
            for cache_key in [cache_key for cache_key in cache.keys() if cache_key[position] in doomed]:
                cache.discard(cache_key)
        top = int(self.scroll_y)
        width, height = self.size
        for line in lines:
            on_screen = line - top  # the header stays put; the rows scroll under it
            if header <= on_screen < height:
                self.refresh(Region(0, on_screen, width, 1))

    def _store_sort_keys(self, changes: list[CellChange]) -> None:
        """Cells that draw as before but sort by a new key: stored, nothing repainted."""
        for key, index, value in changes:
            self._data[RowKey(str(key))][self._column_key(index)] = value

    def _sort_may_move_rows(self, diff: TableDiff) -> bool:
        if self.sort_column is None:
            return False
        return bool(diff.added) or diff.touches_column(self._column_order.index(self.sort_column))

    def _row_order(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    def _rebuild(self) -> None:
        """Add the shown rows again, in order, with the columns measured afresh."""
        rows = self._shown
        super().clear()
        for column in self.columns.values():
            column.content_width = column.label.cell_len
        for key, cells in rows.items():
            self.add_row(*cells, key=str(key))
        if self.sort_column is not None:
            self._apply_sort()

    def refit(self) -> None:
        """After the cells got narrower (a smaller terminal): columns as wide as they now need."""
        keep = self.highlighted_key
        with self.app.batch_update():
            self._rebuild()
            self._restore_cursor(keep)

    def sort_by(self, column: str, reverse: bool | None = None) -> None:
        """Sort by ``column``; without ``reverse``, the same column again flips the order."""
        if column not in self._column_order:
            raise ValueError(f"unknown column {column!r}")
        if reverse is None:
            reverse = (not self.sort_reverse) if column == self.sort_column else False
        keep = self.highlighted_key
        self.sort_column, self.sort_reverse = column, reverse
        self._apply_sort()
        self._relabel()
        self._restore_cursor(keep)

    def _apply_sort(self) -> None:
        if self.sort_column is None or not self.row_count:
            return
        column = self._column_keys[self.sort_column]
        # Sorting repaints every row: skip it when the order would stay as it is (a status
        # changed while sorted by status, but no row crossed another).
        wanted = sorted(
            self._data, key=lambda row: cell_sort_key(self._data[row][column]), reverse=self.sort_reverse
        )
        if wanted != [row.key for row in self.ordered_rows]:
            self.sort(self.sort_column, key=cell_sort_key, reverse=self.sort_reverse)

    def _restore_cursor(self, key: str | None) -> None:
        if key is None:
            return
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return  # that row is gone; the cursor stays where it was (clamped by the table)
        if index != self.cursor_row:
            self.move_cursor(row=index, animate=False, scroll=False)

    def select_key(self, key: str) -> bool:
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return False
        self.move_cursor(row=index, animate=False)
        return True
