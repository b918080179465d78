"""LiveTable repaints only the rows whose cells changed (widgets/live_table.py): what it draws
must still be what a table filled afresh with the same rows draws, in view and out of it."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal

from pocketenv_tui.app.sandbox_rows import Cell
from pocketenv_tui.app.table_diff import diff_rows
from pocketenv_tui.app.widgets.live_table import LiveTable

COLUMNS = [("name", "NAME"), ("status", "STATUS"), ("up", "UP")]


def rows(statuses: dict[int, str] | None = None, bold: set[int] | None = None, count: int = 60):
    statuses = statuses or {}
    bold = bold or set()
    return {
        f"r{index:03d}": (
            Cell(f"row-{index:03d}", index, style="bold" if index in bold else ""),
            Cell(statuses.get(index, "RUNNING"), statuses.get(index, "RUNNING")),
            Cell(f"{index}m", index * 60),
        )
        for index in range(count)
    }


class TwoTables(App):
    CSS = "LiveTable { width: 1fr; height: 20; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            for name in ("live", "fresh"):
                table = LiveTable(id=name)
                table.can_focus = False  # the two must not differ by focus
                yield table


def drawn(table: LiveTable) -> list[list[tuple[str, object]]]:
    """The table's lines as (text, style) segments, as the screen gets them (without the
    mouse metadata, which differs between two tables)."""
    strips = table.render_lines(table.size.region)
    return [
        [(segment.text, segment.style.clear_meta_and_links() if segment.style else None) for segment in strip]
        for strip in strips
    ]


async def fresh_copy(app: TwoTables, pilot, wanted, scroll_y: float) -> LiveTable:
    fresh = app.query_one("#fresh", LiveTable)
    fresh.clear(columns=True)
    fresh._column_order = []
    fresh.set_columns(COLUMNS)
    fresh.show_rows(wanted)
    await pilot.pause()
    fresh.scroll_to(y=scroll_y, animate=False, immediate=True)
    await pilot.pause()
    return fresh


async def test_changed_cells_draw_as_a_fresh_table_in_view_and_after_scrolling():
    app = TwoTables()
    async with app.run_test(size=(120, 30)) as pilot:
        live = app.query_one("#live", LiveTable)
        live.set_columns(COLUMNS)
        live.show_rows(rows())
        await pilot.pause()
        live.scroll_to(y=20, animate=False, immediate=True)
        await pilot.pause()
        drawn(live)  # everything in view rendered and cached

        # In view (rows 20-38) and out of it; row 25 only turns bold (same words).
        wanted = rows({22: "STOPPED", 30: "STOPPED", 3: "STOPPED", 55: "FAILED"}, bold={25})
        diff = live.show_rows(wanted)
        assert {key for key, _, _ in diff.updated} == {"r022", "r030", "r003", "r055", "r025"}
        await pilot.pause()
        fresh = await fresh_copy(app, pilot, wanted, 20)
        assert drawn(live) == drawn(fresh)

        live.scroll_to(y=0, animate=False, immediate=True)
        fresh.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()
        assert drawn(live) == drawn(fresh)
        assert live.get_cell("r003", "status").plain == "STOPPED"


async def test_only_a_change_in_the_sort_column_moves_rows_and_the_cursor_follows():
    app = TwoTables()
    async with app.run_test(size=(120, 30)) as pilot:
        live = app.query_one("#live", LiveTable)
        live.set_columns(COLUMNS)
        live.show_rows(rows(count=10))
        live.sort_by("status")
        live.select_key("r004")
        await pilot.pause()
        assert live.columns[live._column_keys["status"]].label.plain == "STATUS ▲"
        order = [str(row.key.value) for row in live.ordered_rows]

        live.show_rows(rows({4: "RUNNING"}, bold={2}, count=10))  # nothing in the sort column
        assert [str(row.key.value) for row in live.ordered_rows] == order

        live.show_rows(rows({4: "FAILED"}, count=10))  # FAILED sorts before RUNNING
        await pilot.pause()
        assert str(live.ordered_rows[0].key.value) == "r004"
        assert live.highlighted_key == "r004"
        fresh = await fresh_copy(app, pilot, rows({4: "FAILED"}, count=10), 0)
        fresh.sort_by("status")
        fresh.select_key("r004")
        await pilot.pause()
        assert drawn(live) == drawn(fresh)


async def test_a_wider_value_widens_its_column():
    app = TwoTables()
    async with app.run_test(size=(120, 30)) as pilot:
        live = app.query_one("#live", LiveTable)
        live.set_columns(COLUMNS)
        live.show_rows(rows(count=5))
        await pilot.pause()
        status = live.columns[live._column_keys["status"]]
        before = status.content_width
        live.show_rows(rows({1: "INITIALIZING-FOR-A-WHILE"}, count=5))
        await pilot.pause()
        assert status.content_width == len("INITIALIZING-FOR-A-WHILE") > before
        fresh = await fresh_copy(app, pilot, rows({1: "INITIALIZING-FOR-A-WHILE"}, count=5), 0)
        assert drawn(live) == drawn(fresh)


def test_the_diff_sees_style_changes_and_new_sort_keys_apart():
    old = {"a": (Cell("5m", 300), Text("x")), "b": (Cell("ok", 1), "y")}
    new = {"a": (Cell("5m", 301), Text("x", style="bold")), "b": (Cell("ok", 1), "y")}
    diff = diff_rows(old, new)
    assert [(key, index) for key, index, _ in diff.updated] == [("a", 1)]
    assert [(key, index) for key, index, _ in diff.rekeyed] == [("a", 0)]
    assert not diff.reshaped and diff.touches_column(0) and not diff.touches_column(2)
    same = dict(new)
    assert diff_rows(new, same).empty
