"""A small App mounting ResourceTabs on a real local backend, shared by the resource tests.

(Named test_resources_* to sit with the tests it serves; it holds no tests itself.)
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Footer, Input, TextArea

from pocketenv_tui.api.resource_models import Backup, SandboxFile, Secret, Service, Variable, Volume
from pocketenv_tui.app.contexts.resolve import AppContext
from pocketenv_tui.app.resources import ResourceTabs
from pocketenv_tui.app.resources.form import FormScreen
from pocketenv_tui.app.screens.help import HelpScreen, describe_bindings
from tests.app.snapshot_support import DISPLAY_URL, FIXED_INSTANT, StableView, stable_value

STYLES = Path(__file__).resolve().parents[2] / "styles"
SIZE = (120, 34)


class ResourcesApp(App[None]):
    """Stands in for the sandbox screen: the tabs, a footer and `?` help."""

    CSS_PATH = [STYLES / "app.tcss", STYLES / "dialogs.tcss", STYLES / "resources.tcss"]
    BINDINGS = [("question_mark", "help", "Help")]

    def __init__(self, client, sandbox, *, read_only: bool = False, initial: str = "", refresh: float = 1.0,
                 now: Callable[[], datetime] | None = None, context: AppContext | None = None) -> None:
        super().__init__()
        self.client = client
        self.sandbox = sandbox
        self.read_only = read_only
        self.initial = initial
        self.refresh_interval = refresh
        self._clock = now or (lambda: datetime.now(UTC))
        if context is not None:
            self.context = context

    def now(self) -> datetime:
        return self._clock()

    def compose(self) -> ComposeResult:
        yield ResourceTabs(self.client, self.sandbox, read_only=self.read_only, initial=self.initial)
        yield Footer()

    @property
    def tabs(self) -> ResourceTabs:
        return self.query_one(ResourceTabs)

    def action_help(self) -> None:
        self.push_screen(HelpScreen("resources", describe_bindings(self.screen), []))


def form(app: App) -> FormScreen:
    assert isinstance(app.screen, FormScreen), f"expected a form, got {app.screen!r}"
    return app.screen


def fill(app: App, **values: str) -> None:
    """Type into the open form's fields (by key)."""
    screen = form(app)
    for key, value in values.items():
        widget = screen.query_one(f"#field-{key}")
        if isinstance(widget, TextArea):
            widget.load_text(value)
        else:
            assert isinstance(widget, Input)
            widget.value = value


def field_error(app: App, key: str) -> str:
    return str(form(app).query_one(f"#error-{key}").render())


def form_error(app: App) -> str:
    return str(form(app).query_one("#form-error").render())


def notifications(app: App) -> str:
    return "\n".join(f"{n.title} {n.message}" for n in app._notifications)


def data_dir_bytes(data_dir: Path) -> bytes:
    """Every byte the backend keeps in its data dir's SQLite files (db, WAL, journal)."""
    blobs = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and (".db" in path.name or ".sqlite" in path.name):
            blobs.append(path.read_bytes())
    return b"".join(blobs)


# -- snapshots: the client with per-run values replaced -------------------------------------

def _stable_record(value: object, book) -> object:
    if isinstance(value, Secret | Variable | SandboxFile | Volume):
        return dataclasses.replace(value, created_at=FIXED_INSTANT)
    if isinstance(value, Service):
        return dataclasses.replace(value, id=f"svc_{value.name}", created_at=FIXED_INSTANT)
    if isinstance(value, Backup):
        return dataclasses.replace(value, created_at=FIXED_INSTANT)
    if isinstance(value, list):
        return [_stable_record(item, book) for item in value]
    return stable_value(value, book)


class StableResources(StableView):
    """StableView extended to the resource namespaces (fixed timestamps, service ids)."""

    def __init__(self, client) -> None:
        super().__init__(client)
        self._service_ids: dict[str, str] = {}
        self.secrets = _Stable(client.secrets, self)
        self.variables = _Stable(client.variables, self)
        self.services = _Stable(client.services, self)

    def real_service(self, value: object) -> object:
        return self._service_ids.get(value, value) if isinstance(value, str) else value


class _Stable:
    def __init__(self, inner, view: StableResources) -> None:
        self._inner = inner
        self._view = view

    def __getattr__(self, name: str):
        attribute = getattr(self._inner, name)
        view = self._view

        def call(*args, **kwargs):
            args = tuple(view.real_service(view._book.real(a)) for a in args)
            result = attribute(*args, **kwargs)
            if hasattr(result, "__aiter__"):
                return _iterate(result, view)
            return _await(result, view)

        return call


def _remember(value: object, view: StableResources) -> object:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Service):
                view._service_ids[f"svc_{item.name}"] = item.id
    return _stable_record(value, view._book)


async def _await(awaitable, view: StableResources):
    return _remember(await awaitable, view)


async def _iterate(iterator, view: StableResources):
    async for item in iterator:
        yield _stable_record(item, view._book)


def snapshot_context(backend) -> AppContext:
    return AppContext("local", DISPLAY_URL, backend.token, backend.public_key)


def shown_text(widget) -> str:
    """What a Static shows, as plain text (Rich renderables included)."""
    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()
