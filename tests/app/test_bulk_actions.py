"""Marks and bulk lifecycle actions on the sandboxes list (screens/bulk_actions.py), through
Pilot against a real local backend; a real proxy in front of it fails the calls a test names."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pocketenv_tui.app.screens.bulk_actions import BulkOutcome, bulk_question, bulk_summary
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.sandboxes import SandboxesScreen
from tests.app.conftest import (
    client_for,
    create_running,
    delete_quietly,
    make_app,
    status_of,
    unique_name,
    wait_for,
)
from tests.app.test_server_failures import hosted_like_app, proxied_client
from tests.app.test_snapshots import loaded, snapshot_app, snapshot_backend  # noqa: F401 (fixture)
from tests.backend_proxy import BackendProxy, server_error, xrpc_method

pytestmark = pytest.mark.timeout(240)

SIZE = (140, 34)


def table_of(app):
    return app.main_screen.query_one("#sandboxes")


def messages(app) -> list[tuple[str, str]]:
    return [(str(n.message), n.severity) for n in app._notifications]


def header_view(app) -> str:
    return app.main_screen.query_one("#context-header").view_label


async def mark(app, pilot, *sandbox_ids: str) -> None:
    table = table_of(app)
    await wait_for(pilot, lambda: set(sandbox_ids) <= set(table.shown_keys), "the rows")
    table.sort_by("name", reverse=False)  # the question names them in the table's order
    for sandbox_id in sandbox_ids:
        table.select_key(sandbox_id)
        await pilot.press("space")
    assert set(sandbox_ids) <= app.main_screen.marks


async def filter_to(pilot, text: str) -> None:
    await pilot.press("slash", *text, "enter")


async def test_two_marked_stop_after_one_question_naming_both(local_backend):
    async with client_for(local_backend) as client:
        tag = unique_name("bulkx")
        first = await create_running(client, f"{tag}-a")
        second = await create_running(client, f"{tag}-b")
        bystander = await create_running(client, f"{tag}-c")
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                main = app.main_screen
                await mark(app, pilot, first.id, second.id)
                assert "2 marked" in header_view(app)
                assert table_of(app).get_cell(first.id, "mark").plain == "●"
                assert table_of(app).get_cell(bystander.id, "mark").plain == ""
                table_of(app).select_key(bystander.id)  # the highlighted row is not what x acts on

                await pilot.press("x")
                confirm = app.screen
                assert isinstance(confirm, ConfirmScreen)
                assert confirm.question.startswith(f"Stop 2 sandboxes: {first.name}, {second.name}?")
                assert bystander.name not in confirm.question
                assert confirm.focused.id == "no"
                await pilot.press("y")
                assert isinstance(app.screen, SandboxesScreen)

                await wait_for(
                    pilot,
                    lambda: status_of(app, first.id) == "STOPPED" and status_of(app, second.id) == "STOPPED",
                    "both STOPPED",
                )
                await wait_for(pilot, lambda: any(m.startswith("Stopped 2 of 2") for m, _ in messages(app)), "the summary")
                summaries = [(m, s) for m, s in messages(app) if m.startswith("Stopped")]
                assert summaries == [(f"Stopped 2 of 2: {first.name}, {second.name}.", "information")]
                assert (await client.sandboxes.get(first.id)).status == "STOPPED"
                assert (await client.sandboxes.get(second.id)).status == "STOPPED"
                assert (await client.sandboxes.get(bystander.id)).status == "RUNNING"
                assert main.marks == set()  # done: the marks go
                assert "marked" not in header_view(app)
        finally:
            await delete_quietly(client, first.id, second.id, bystander.id)


async def test_deleting_two_marked_says_their_files_go_and_no_keeps_them(local_backend):
    async with client_for(local_backend) as client:
        tag = unique_name("bulkd")
        first = await create_running(client, f"{tag}-a")
        second = await create_running(client, f"{tag}-b")
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await mark(app, pilot, first.id, second.id)
                await pilot.press("d")
                assert isinstance(app.screen, ConfirmScreen)
                question = app.screen.question
                assert f"Delete 2 sandboxes: {first.name}, {second.name}?" in question
                assert "Their files, ports and services go with them." in question
                await pilot.press("enter")  # the focused answer: No
                assert isinstance(app.screen, SandboxesScreen)
                assert await client.sandboxes.get(first.id) is not None
                assert app.main_screen.marks == {first.id, second.id}

                await pilot.press("d", "y")
                table = table_of(app)
                await wait_for(
                    pilot, lambda: not {first.id, second.id} & set(table.shown_keys), "both rows to go"
                )
                assert await client.sandboxes.get(first.id) is None
                assert await client.sandboxes.get(second.id) is None
                await wait_for(pilot, lambda: any(m.startswith("Deleted 2 of 2") for m, _ in messages(app)), "the summary")
                assert app.main_screen.marks == set()
        finally:
            await delete_quietly(client, first.id, second.id)


async def test_mark_all_in_view_toggles_and_escape_clears_marks_before_the_filter(local_backend):
    async with client_for(local_backend) as client:
        tag = unique_name("bulka")
        created = [await create_running(client, f"{tag}-{letter}") for letter in "abc"]
        ids = {sandbox.id for sandbox in created}
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                main = app.main_screen
                table = table_of(app)
                await wait_for(pilot, lambda: ids <= set(table.shown_keys), "the rows")
                await filter_to(pilot, tag)
                await wait_for(pilot, lambda: set(table.shown_keys) == ids, "only the three")
                await pilot.press("asterisk")
                assert main.marks == ids
                assert "3 marked" in header_view(app)
                await pilot.press("asterisk")  # all were marked: * unmarks them
                assert main.marks == set()
                await pilot.press("asterisk")
                assert main.marks == ids

                await pilot.press("escape")  # marks first
                assert main.marks == set()
                assert main.filter_text == tag
                assert "marked" not in header_view(app)
                await pilot.press("escape")  # then the filter
                assert main.filter_text == ""
        finally:
            await delete_quietly(client, *ids)


async def test_marks_survive_polls_and_filters_and_leave_with_their_sandbox(local_backend):
    async with client_for(local_backend) as client:
        tag = unique_name("bulkk")
        kept = await create_running(client, f"{tag}-kept")
        other = await create_running(client, f"{tag}-other")
        doomed = await create_running(client, f"{tag}-doomed")
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                main = app.main_screen
                await mark(app, pilot, kept.id, other.id, doomed.id)
                polls = main.poll_count
                await pilot.press("r")
                await wait_for(pilot, lambda: main.poll_count >= polls + 2, "two more polls")
                assert main.marks == {kept.id, other.id, doomed.id}
                assert table_of(app).get_cell(kept.id, "mark").plain == "●"

                # Deleted behind the app's back: its mark goes with the row at the next poll.
                await client.sandboxes.delete(doomed.id)
                await wait_for(pilot, lambda: doomed.id not in main.items, "the row to go")
                assert main.marks == {kept.id, other.id}

                # Hidden by the filter: still marked, but not acted on, and the question says so.
                await filter_to(pilot, f"{tag}-kept")
                await wait_for(pilot, lambda: table_of(app).shown_keys == [kept.id], "one row")
                assert "2 marked, 1 hidden" in header_view(app)
                await pilot.press("x")
                confirm = app.screen
                assert isinstance(confirm, ConfirmScreen)
                assert confirm.question.startswith(f"Stop 1 sandbox: {kept.name}?")
                assert "1 marked sandbox hidden by the filter is left alone." in confirm.question
                assert other.name not in confirm.question.splitlines()[0]
                await pilot.press("y")
                await wait_for(pilot, lambda: status_of(app, kept.id) == "STOPPED", "kept STOPPED")
                assert (await client.sandboxes.get(other.id)).status == "RUNNING"
                assert main.marks == {other.id}
        finally:
            await delete_quietly(client, kept.id, other.id, doomed.id)


class PerSandboxFailures:
    """The proxy refuses (400) the stop of one sandbox, and answers 500 after storing another's."""

    def __init__(self) -> None:
        self.refused: set[str] = set()
        self.stored_then_500: set[str] = set()

    @staticmethod
    def _stop_of(request: Request) -> str | None:
        return request.query_params.get("id") if xrpc_method(request) == "sandbox.stopSandbox" else None

    def before(self, request: Request) -> Response | None:
        if self._stop_of(request) in self.refused:
            return JSONResponse({"error": "InvalidRequest", "message": "refused by the test proxy"}, status_code=400)
        return None

    def after(self, request: Request, answer: httpx.Response) -> Response | None:
        if self._stop_of(request) in self.stored_then_500 and answer.status_code == 200:
            return server_error()
        return None


@pytest.fixture
def failing(local_backend) -> Iterator[tuple[BackendProxy, PerSandboxFailures]]:
    failures = PerSandboxFailures()
    with BackendProxy(local_backend.url, before=failures.before, after=failures.after) as proxy:
        yield proxy, failures


async def test_the_summary_names_the_failure_and_counts_a_stop_made_despite_a_500(local_backend, failing):
    proxy, failures = failing
    async with proxied_client(local_backend, proxy) as client:
        tag = unique_name("bulkf")
        fine = await create_running(client, f"{tag}-fine")
        made = await create_running(client, f"{tag}-made")
        refused = await create_running(client, f"{tag}-refused")
        failures.refused.add(refused.id)
        failures.stored_then_500.add(made.id)
        app = hosted_like_app(local_backend, proxy)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await mark(app, pilot, fine.id, made.id, refused.id)
                await pilot.press("x", "y")
                await wait_for(pilot, lambda: any(m.startswith("Stopped ") for m, _ in messages(app)), "the summary")
                summary = [(m, s) for m, s in messages(app) if m.startswith("Stopped ")]
                assert summary == [(
                    f"Stopped 2 of 3: {refused.name} failed: refused by the test proxy (HTTP 400 InvalidRequest).\n"
                    f"{made.name}: the server answered HTTP 500 (InternalServerError), but re-reading shows it "
                    "was done",
                    "error",
                )]
                assert status_of(app, fine.id) == "STOPPED"
                assert status_of(app, made.id) == "STOPPED"
                assert status_of(app, refused.id) == "RUNNING"
                # The failed one stays marked, so x again retries just it.
                assert app.main_screen.marks == {refused.id}
        finally:
            await delete_quietly(client, fine.id, made.id, refused.id)


async def test_without_marks_the_keys_act_on_the_highlighted_row_and_read_only_hides_marks(local_backend):
    async with client_for(local_backend) as client:
        sandbox = await create_running(client, unique_name("bulkn"))
        app = make_app(local_backend, refresh=1.0)
        try:
            async with app.run_test(size=SIZE) as pilot:
                table = table_of(app)
                await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
                bindings = app.screen.active_bindings
                assert bindings["space"].binding.id == "sandboxes.mark"
                assert bindings["asterisk"].binding.id == "sandboxes.mark_all"
                table.select_key(sandbox.id)
                await pilot.press("x")  # no marks: no question, straight to the call
                assert isinstance(app.screen, SandboxesScreen)
                await wait_for(pilot, lambda: status_of(app, sandbox.id) == "STOPPED", "STOPPED")
        finally:
            await delete_quietly(client, sandbox.id)

        read_only = make_app(local_backend, refresh=1.0, read_only=True)
        async with read_only.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert "space" not in read_only.screen.active_bindings
            await pilot.press("space", "asterisk")
            assert read_only.main_screen.marks == set()


def test_the_question_and_the_summary_read_well():
    assert bulk_question("start", ["alpha"]) == "Start 1 sandbox: alpha?"
    assert bulk_question("delete", ["alpha"]).endswith("Its files, ports and services go with it.")
    many = [f"s{index}" for index in range(45)]
    assert bulk_question("stop", many).startswith("Stop 45 sandboxes: s0, s1,")
    assert "s39 and 5 more?" in bulk_question("stop", many)
    assert bulk_question("stop", ["a"], hidden=2, busy=["b"]).splitlines()[1:] == [
        "2 marked sandboxes hidden by the filter are left alone.",
        "Busy, so left alone: b.",
    ]
    outcomes = [
        BulkOutcome("1", "alpha", True),
        BulkOutcome("2", "beta", False, "it is RUNNING."),
        BulkOutcome("3", "gamma", False, "refused"),
        BulkOutcome("4", "delta", True),
    ]
    assert bulk_summary("stop", outcomes) == (
        "Stopped 2 of 4: beta failed: it is RUNNING; gamma failed: refused.", "error",
    )
    assert bulk_summary("start", [BulkOutcome("1", "alpha", True, "HTTP 502")]) == (
        "Started 1 of 1: alpha.\nalpha: HTTP 502", "warning",
    )


# -- looks ---------------------------------------------------------------------------------------
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


async def mark_alpha_and_charlie(pilot) -> None:
    await loaded(pilot)  # sorted by name, the cursor on alpha
    table = pilot.app.main_screen.query_one("#sandboxes")
    await pilot.press("space")  # alpha marked, the cursor moves down to bravo
    table.select_key("sbx_charlie")
    await pilot.press("space")
    table.select_key("sbx_bravo")  # the cursor on an unmarked row, between the marked ones
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_marked_list(snap_compare, snapshot_backend, size):  # noqa: F811
    """alpha and charlie marked: ● in the mark column, their rows in the marked style, "2 marked"
    in the header; the cursor on bravo."""
    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=mark_alpha_and_charlie)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_bulk_delete_confirmation(snap_compare, snapshot_backend, size):  # noqa: F811
    """d with alpha and charlie marked: one question naming both, files going with them, No focused."""

    async def run_before(pilot):
        await mark_alpha_and_charlie(pilot)
        await pilot.press("d")
        await pilot.pause()

    assert snap_compare(snapshot_app(snapshot_backend), terminal_size=size, run_before=run_before)
