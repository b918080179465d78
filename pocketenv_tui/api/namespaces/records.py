"""The shared list/get/delete shape of secrets, variables, files and volumes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar, Generic, TypeVar

from pocketenv_tui.api.models import Page, items_of, total_of
from pocketenv_tui.api.namespaces.base import Namespace
from pocketenv_tui.api.pagination import iterate_pages

R = TypeVar("R")


class RecordNamespace(Namespace, Generic[R]):
    """``get<Things>`` (paged, optionally per sandbox), ``get<Thing>`` and ``delete<Thing>``."""

    list_nsid: ClassVar[str]
    get_nsid: ClassVar[str]
    delete_nsid: ClassVar[str]
    list_key: ClassVar[str]  # key of the array in the list answer
    parse: ClassVar[Callable[[Any], Any]]  # the model's from_json

    async def list(
        self, sandbox_id: str | None = None, limit: int = 20, offset: int = 0
    ) -> Page[R]:
        """One page, of one sandbox's records or (``sandbox_id=None``) all of the caller's."""
        data = await self._xrpc.call(
            self.list_nsid,
            {
                "sandboxId": await self._optional_sandbox_id(sandbox_id),
                "limit": limit,
                "offset": offset,
            },
        )
        parse = type(self).parse
        items = [item for item in map(parse, items_of(data, self.list_key)) if item is not None]
        return Page(items=items, total=total_of(data))

    async def iterate(
        self, sandbox_id: str | None = None, page_size: int = 100
    ) -> AsyncIterator[R]:
        """Every record, one page at a time."""
        resolved = await self._optional_sandbox_id(sandbox_id)

        async def fetch(limit: int, offset: int) -> tuple[list[R], int | None]:
            page = await self.list(resolved, limit, offset)
            return page.items, page.total

        async for item in iterate_pages(fetch, page_size):
            yield item

    async def get(self, id: str) -> R | None:
        """The record, or None if the server does not know it (it answers ``{}``)."""
        data = await self._xrpc.call(self.get_nsid, {"id": id})
        return type(self).parse(data)

    async def delete(self, id: str) -> None:
        await self._xrpc.call(self.delete_nsid, {"id": id})
