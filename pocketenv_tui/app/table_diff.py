"""Compute how a keyed table must change to show new rows, without touching any widget.

The live tables never clear and refill (that resets the cursor and blinks): each refresh is
turned into row additions, single-cell updates and row removals keyed by a stable id, and the
widget applies only those.

Cells are compared by what they draw: for rich ``Text`` that is the plain text, the style, the
spans and the justification (``Text.__eq__`` looks at text and spans only, so a row that turns
bold or changes colour with the same words would otherwise never be redrawn). A cell that
draws the same but sorts by a new key (an up-time of "5m" that is now 301 s rather than 300 s)
is reported apart, in ``rekeyed``: the table stores it without repainting anything.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from rich.text import Text

Row = Sequence[object]
CellChange = tuple[Hashable, int, object]  # (row key, column index, new value)


@dataclass
class TableDiff:
    added: list[tuple[Hashable, Row]] = field(default_factory=list)
    # Only cells whose drawing changed.
    updated: list[CellChange] = field(default_factory=list)
    removed: list[Hashable] = field(default_factory=list)
    # Cells that draw as before but carry a new sort key (nothing to repaint).
    rekeyed: list[CellChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.updated or self.removed or self.rekeyed)

    @property
    def reshaped(self) -> bool:
        """Rows came or went: the row order and the table's height change."""
        return bool(self.added or self.removed)

    def touches_column(self, index: int) -> bool:
        """Whether a changed or re-keyed cell is in column ``index`` (a sort by it may move rows)."""
        return any(column == index for _, column, _ in self.updated) or any(
            column == index for _, column, _ in self.rekeyed
        )


def draws_the_same(before: object, after: object) -> bool:
    if before is after:
        return True
    if before.__class__ is not after.__class__:
        return False
    if isinstance(before, Text):
        assert isinstance(after, Text)
        # ``_text`` rather than ``plain``: the same test without a property call per cell,
        # which is most of a 1,000-row diff's time.
        return (
            before._text == after._text
            and before.style == after.style
            and before._spans == after._spans
            and before.justify == after.justify
        )
    return before == after


def diff_rows(old: Mapping[Hashable, Row], new: Mapping[Hashable, Row]) -> TableDiff:
    """Rows in ``new`` but not ``old`` are added (in ``new``'s order), rows only in ``old`` are
    removed, and rows in both yield one update per differing cell."""
    diff = TableDiff()
    for key in old:
        if key not in new:
            diff.removed.append(key)
    for key, row in new.items():
        previous = old.get(key)
        if previous is None:
            diff.added.append((key, row))
            continue
        if previous is row:  # a caller that kept an unchanged row's tuple skips comparing it
            continue
        if len(previous) != len(row):
            raise ValueError(f"row {key!r} changed width from {len(previous)} to {len(row)}")
        for index, before in enumerate(previous):
            after = row[index]
            if not draws_the_same(before, after):
                diff.updated.append((key, index, after))
            elif getattr(before, "sort_key", None) != getattr(after, "sort_key", None):
                diff.rekeyed.append((key, index, after))
    return diff
