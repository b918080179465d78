"""A 5xx answer to a change the server may have made anyway: the app re-reads and says which
state the server is in (server_state.py). The hosted behaviour (store the row, then fail
mirroring it) is stood in for by a real proxy in front of a real local backend that forwards
a call and then answers 500, or answers 500 without forwarding."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from pocketenv_tui.api import PocketenvClient, PocketenvError
from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.app.app import PocketenvApp
from pocketenv_tui.app.config import AppConfig
from pocketenv_tui.app.contexts.resolve import AppContext
from pocketenv_tui.app.resources.form import FormScreen
from pocketenv_tui.app.screens.confirm import ConfirmScreen
from pocketenv_tui.app.screens.create import CreateScreen
from pocketenv_tui.app.server_state import lifecycle_report
from tests.app.conftest import create_running, delete_quietly, status_of, unique_name, wait_for
from tests.app.test_resources_support import ResourcesApp, fill
from tests.backend_proxy import BackendProxy, server_error, xrpc_method

pytestmark = pytest.mark.timeout(180)

SIZE = (120, 34)


class Failures:
    """Which XRPC methods the proxy fails, and whether the backend did the work first."""

    def __init__(self) -> None:
        self.after_storing: set[str] = set()  # forwarded, then 500
        self.instead: set[str] = set()  # 500, never forwarded

    def before(self, request: Request) -> Response | None:
        return server_error() if xrpc_method(request) in self.instead else None

    def after(self, request: Request, answer: httpx.Response) -> Response | None:
        if xrpc_method(request) in self.after_storing and answer.status_code == 200:
            return server_error()
        return None


@pytest.fixture
def failing(local_backend) -> Iterator[tuple[BackendProxy, Failures]]:
    failures = Failures()
    with BackendProxy(local_backend.url, before=failures.before, after=failures.after) as proxy:
        yield proxy, failures


def hosted_like_app(local_backend, proxy: BackendProxy) -> PocketenvApp:
    context = AppContext("api", proxy.url, local_backend.token, local_backend.public_key, storage_url=proxy.url)
    return PocketenvApp(context, config=AppConfig(), refresh=1.0)


def messages(app) -> list[tuple[str, str]]:
    return [(n.message, n.severity) for n in app._notifications]


async def stop_and_read_the_report(app, pilot, sandbox) -> list[tuple[str, str]]:
    """Press x on the sandbox's row; the notifications that report a re-read."""
    table = app.main_screen.query_one("#sandboxes")
    await wait_for(pilot, lambda: sandbox.id in table.shown_keys, "the row")
    table.select_key(sandbox.id)
    await pilot.press("x")
    await wait_for(pilot, lambda: any("re-reading" in m for m, _ in messages(app)), "the report")
    return [(m, s) for m, s in messages(app) if "re-reading" in m]


def proxied_client(local_backend, proxy: BackendProxy) -> PocketenvClient:
    return PocketenvClient(api_url=proxy.url, token=local_backend.token, public_key=local_backend.public_key,
                           storage_url=proxy.url)


async def test_a_stop_stored_before_a_500_is_reported_as_done(local_backend, failing):
    proxy, failures = failing
    failures.after_storing.add("sandbox.stopSandbox")
    async with proxied_client(local_backend, proxy) as client:
        sandbox = await create_running(client, unique_name("stop500"))
        app = hosted_like_app(local_backend, proxy)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                said = await stop_and_read_the_report(app, pilot, sandbox)
                assert said == [(
                    f"{sandbox.name} is stopped. (the server answered HTTP 500 (InternalServerError), "
                    "but re-reading shows the change was made.)", "warning",
                )]
                assert not any(s == "error" for _, s in messages(app))
                await wait_for(pilot, lambda: status_of(app, sandbox.id) == "STOPPED", "the row to say STOPPED")
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_stop_the_server_did_not_make_says_it_still_runs(local_backend, failing):
    proxy, failures = failing
    failures.instead.add("sandbox.stopSandbox")
    async with proxied_client(local_backend, proxy) as client:
        sandbox = await create_running(client, unique_name("stop500n"))
        app = hosted_like_app(local_backend, proxy)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                said = await stop_and_read_the_report(app, pilot, sandbox)
                assert said == [(
                    f"Could not stop {sandbox.name}: it is RUNNING. (the server answered HTTP 500 "
                    "(InternalServerError); re-reading shows nothing changed.)", "error",
                )]
                assert status_of(app, sandbox.id) == "RUNNING"
        finally:
            await delete_quietly(client, sandbox.id)


async def test_a_create_stored_before_a_500_goes_on_with_the_sandbox(local_backend, failing):
    proxy, failures = failing
    failures.after_storing.add("sandbox.createSandbox")
    name = unique_name("made500")
    app = hosted_like_app(local_backend, proxy)
    async with proxied_client(local_backend, proxy) as client:
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await pilot.press("n")
                form = app.screen
                assert isinstance(form, CreateScreen)
                await wait_for(pilot, lambda: form.query_one("#base").value == "shell", "catalog bases")
                form.query_one("#name").value = name
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: not isinstance(app.screen, CreateScreen), "the form to close")
                assert (f"{name} was created. (the server answered HTTP 500 (InternalServerError), but "
                        "re-reading shows the change was made.)", "warning") in messages(app)
                await wait_for(pilot, lambda: any(f"{name} is running" in m for m, _ in messages(app)), "running")
        finally:
            found = await client.sandboxes.get(name)
            if found is not None:
                await delete_quietly(client, found.id)


async def test_a_create_that_was_not_stored_keeps_the_form_open(local_backend, failing):
    proxy, failures = failing
    failures.instead.add("sandbox.createSandbox")
    name = unique_name("lost500")
    app = hosted_like_app(local_backend, proxy)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("n")
        form = app.screen
        await wait_for(pilot, lambda: form.query_one("#base").value == "shell", "catalog bases")
        form.query_one("#name").value = name
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "re-reading" in str(form.query_one("#form-error").render()), "the form error")
        assert f"{name} was not created." in str(form.query_one("#form-error").render())
        assert app.screen is form and form.query_one("#name").value == name  # nothing lost


async def test_resource_add_and_delete_after_a_500_say_what_the_server_holds(local_backend, failing):
    proxy, failures = failing
    async with proxied_client(local_backend, proxy) as client:
        sandbox = await create_running(client, unique_name("res500"))
        app = ResourcesApp(client, sandbox, initial="variables")
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                pane = app.tabs.pane("variables")
                await wait_for(pilot, lambda: pane.loaded, "the variables")
                pane.focus_main()
                failures.after_storing.add("variable.addVariable")
                await pilot.press("a")
                fill(app, name="STORED_ANYWAY", value="yes")
                await pilot.press("ctrl+s")
                await wait_for(pilot, lambda: not isinstance(app.screen, FormScreen), "the form to close")
                await wait_for(pilot, lambda: len(pane.items) == 1, "the row")
                assert any(m.startswith("Variable STORED_ANYWAY added. (the server answered HTTP 500")
                           for m, _ in messages(app))

                failures.instead.add("variable.deleteVariable")
                await pilot.press("d")
                assert isinstance(app.screen, ConfirmScreen)
                await pilot.press("y")
                await wait_for(pilot, lambda: any("nothing changed" in m for m, _ in messages(app)), "the report")
                assert ("Could not delete STORED_ANYWAY. (the server answered HTTP 500 (InternalServerError); "
                        "re-reading shows nothing changed.)", "error") in messages(app)
                assert len(pane.items) == 1
        finally:
            await delete_quietly(client, sandbox.id)


def test_lifecycle_report_words() -> None:
    exc = PocketenvError(502, "UpstreamFailure", "Bad gateway")
    starting = Sandbox(id="sbx_1", name="alpha", status="INITIALIZING")
    assert lifecycle_report("start", "alpha", exc, starting, True).message.startswith("alpha is starting.")
    assert lifecycle_report("delete", "alpha", exc, None, True).outcome == "made"
    stopped = Sandbox(id="sbx_1", name="alpha", status="STOPPED")
    assert lifecycle_report("delete", "alpha", exc, stopped, True).message.startswith(
        "Could not delete alpha: it is STOPPED.")
    unknown = lifecycle_report("stop", "alpha", exc, None, False)
    assert unknown.outcome == "unknown" and "re-reading failed too" in unknown.message
