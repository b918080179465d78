"""Compute how a keyed table must change to show new rows, without touching any widget.

The live tables never clear and refill (that resets the cursor and blinks): each refresh is
turned into row additions, single-cell updates and row removals keyed by a stable id, and the
widget applies only those.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

Row = Sequence[object]


@dataclass
class TableDiff:
    added: list[tuple[Hashable, Row]] = field(default_factory=list)
    # (row key, column index, new value): only cells whose value changed.
    updated: list[tuple[Hashable, int, object]] = field(default_factory=list)
    removed: list[Hashable] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.updated or self.removed)


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
        if len(previous) != len(row):
            raise ValueError(f"row {key!r} changed width from {len(previous)} to {len(row)}")
        for index, (before, after) in enumerate(zip(previous, row, strict=True)):
            if before != after:
                diff.updated.append((key, index, after))
    return diff
