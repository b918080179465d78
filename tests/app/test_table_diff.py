import pytest
from hypothesis import given
from hypothesis import strategies as st

from pocketenv_tui.app.table_diff import diff_rows


def test_adds_updates_and_removes_by_key():
    old = {"a": ("a", "RUNNING"), "b": ("b", "STOPPED"), "c": ("c", "RUNNING")}
    new = {"a": ("a", "STOPPED"), "c": ("c", "RUNNING"), "d": ("d", "INITIALIZING")}
    diff = diff_rows(old, new)
    assert diff.removed == ["b"]
    assert diff.updated == [("a", 1, "STOPPED")]
    assert diff.added == [("d", ("d", "INITIALIZING"))]
    assert not diff.empty


def test_identical_rows_give_an_empty_diff():
    rows = {"a": (1, 2), "b": (3, 4)}
    assert diff_rows(rows, dict(rows)).empty


def test_rows_changing_width_are_refused():
    with pytest.raises(ValueError):
        diff_rows({"a": (1, 2)}, {"a": (1, 2, 3)})


rows_strategy = st.dictionaries(
    st.sampled_from("abcdefgh"), st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=8
)


@given(rows_strategy, rows_strategy)
def test_applying_the_diff_reproduces_the_new_rows(old, new):
    diff = diff_rows(old, new)
    table = {key: list(row) for key, row in old.items()}
    for key in diff.removed:
        del table[key]
    for key, column, value in diff.updated:
        table[key][column] = value
    for key, row in diff.added:
        table[key] = list(row)
    assert table == {key: list(row) for key, row in new.items()}
