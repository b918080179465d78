"""Walking offset/limit lists page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

# A fetcher takes (limit, offset) and returns that page's items and the server's total (or None).
PageFetcher = Callable[[int, int], Awaitable[tuple[Sequence[T], int | None]]]


async def iterate_pages(fetch: PageFetcher[T], page_size: int = 100) -> AsyncIterator[T]:
    """Yield every item, one page at a time.

    Stops at the reported total, at a short or empty page, or when the server ignores the
    offset and repeats a page (some error paths answer the same list every time), so a
    misbehaving server cannot make this loop forever.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    offset = 0
    previous: list[T] | None = None
    while True:
        items, total = await fetch(page_size, offset)
        page = list(items)
        if not page or page == previous:
            return
        for item in page:
            yield item
        offset += len(page)
        if len(page) < page_size or (total is not None and offset >= total):
            return
        previous = page
