"""Stable data for snapshot tests, read from a real local backend.

A snapshot must not change between runs, but a real backend hands out random ids, preview
tokens, ports and timestamps. ``StableView`` wraps the app's real client: every call still goes
over HTTP to the backend; only the values that differ per run are replaced on the way back
(ids become ``sbx_<name>``, timestamps a fixed instant, preview URLs a fixed host), and ids the
app sends are translated back to the real ones.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime

from pocketenv_tui.api.models import Sandbox
from pocketenv_tui.api.resource_models import Port
from pocketenv_tui.local.sandbox.facilities import PROTECTIONS

FIXED_INSTANT = datetime(2026, 4, 15, 9, 30, 0, tzinfo=UTC)
DISPLAY_URL = "http://127.0.0.1:8789"  # what the header shows instead of the test's random port


# What confines a sandbox depends on the machine (root or not, loop devices, slirp4netns...):
# a snapshot shows every protection in force unless the test names some as missing.
ALL_PROTECTIONS = list(PROTECTIONS)


class IdBook:
    def __init__(self, missing: list[str] | None = None) -> None:
        self.real_by_stable: dict[str, str] = {}
        self.missing = missing or []

    def stable(self, sandbox: Sandbox) -> str:
        stable = f"sbx_{sandbox.name}"
        self.real_by_stable[stable] = sandbox.id
        return stable

    def real(self, value: object) -> object:
        return self.real_by_stable.get(value, value) if isinstance(value, str) else value


def stable_value(value: object, book: IdBook) -> object:
    if isinstance(value, Sandbox):
        confined = value.protections is not None
        off = {line.split(":")[0] for line in book.missing}
        return dataclasses.replace(
            value,
            id=book.stable(value),
            created_at=FIXED_INSTANT if value.created_at else None,
            started_at=FIXED_INSTANT if value.started_at else None,
            protections=[p for p in ALL_PROTECTIONS if p not in off] if confined else None,
            missing_protections=list(book.missing) if confined else None,
        )
    if isinstance(value, Port):
        url = value.preview_url and f"{DISPLAY_URL}/preview/p{value.port}/"
        return dataclasses.replace(value, preview_url=url)
    if isinstance(value, list):
        return [stable_value(item, book) for item in value]
    return value


class StableNamespace:
    def __init__(self, inner: object, book: IdBook) -> None:
        self._inner = inner
        self._book = book

    def __getattr__(self, name: str):
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute
        book = self._book

        def call(*args, **kwargs):
            args = tuple(book.real(a) for a in args)
            kwargs = {k: book.real(v) for k, v in kwargs.items()}
            result = attribute(*args, **kwargs)
            if hasattr(result, "__aiter__"):
                return _stable_iter(result, book)
            if inspect.isawaitable(result):
                return _stable_await(result, book)
            return result

        return call


async def _stable_await(awaitable, book: IdBook):
    return stable_value(await awaitable, book)


async def _stable_iter(iterator, book: IdBook):
    async for item in iterator:
        yield stable_value(item, book)


class StableView:
    """The app's client, with per-run values replaced by fixed ones."""

    def __init__(self, client, missing_protections: list[str] | None = None) -> None:
        self._client = client
        self._book = IdBook(missing_protections)
        self.sandboxes = StableNamespace(client.sandboxes, self._book)
        self.actor = StableNamespace(client.actor, self._book)
        from tests.app.usage_support import FixedMonitoring  # usage figures move: fixed ones

        self.monitoring = FixedMonitoring(client.monitoring, self._book)

    def terminal_url(self, sandbox_id: str, **options) -> str:
        return self._client.terminal_url(self._book.real(sandbox_id), **options)

    async def aclose(self) -> None:
        await self._client.aclose()

    def __getattr__(self, name: str):
        attribute = getattr(self._client, name)
        # Every other namespace (secrets, variables, services...) gets the id translation too.
        if type(attribute).__module__.startswith("pocketenv_tui.api.namespaces"):
            return StableNamespace(attribute, self._book)
        return attribute
