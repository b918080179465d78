"""Character widths for the screen's drawing fast paths.

pyte asks ``wcwidth`` about every character it draws. The screen instead matches whole runs
of characters that share a width with one precompiled regular expression, so a run of
ordinary text costs one ``re.match``. The character classes are computed from the very
``wcwidth`` function pyte uses (so widths agree with pyte by construction) for the Basic
Multilingual Plane and the emoji blocks; anything outside falls back to a per-character
lookup. They are built on first use of non-ASCII text, which costs about 50 ms once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from pyte.screens import wcwidth
from wcwidth import wcwidth as _uncached_wcwidth

__all__ = [
    "ascii_run",
    "char_width",
    "narrow_run",
    "run_matcher",
    "special_splitter",
    "wide_run",
    "zero_or_wide_matcher",
]

# Printable ASCII is always one cell wide.
ascii_run: Callable[[str, int], re.Match[str] | None] = re.compile(r"[\x20-\x7e]+").match

char_width: Callable[[str], int] = wcwidth

_SCANNED_RANGES = ((0x00A0, 0xD800), (0xE000, 0x10000), (0x1F000, 0x1FB00))


def _class_for(codepoints: list[int]) -> str:
    """A regex character class body covering ``codepoints`` (sorted) as ranges."""
    parts: list[str] = []
    start = prev = None
    for cp in codepoints:
        if start is None:
            start = prev = cp
            continue
        assert prev is not None
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(_range(start, prev))
        start = prev = cp
    if start is not None and prev is not None:
        parts.append(_range(start, prev))
    return "".join(parts)


def _range(first: int, last: int) -> str:
    if first == last:
        return re.escape(chr(first))
    return f"{re.escape(chr(first))}-{re.escape(chr(last))}"


@lru_cache(maxsize=1)
def _widths() -> tuple[list[int], list[int], list[int]]:
    """Code points of the scanned ranges that are one, two and zero cells wide."""
    narrow = list(range(0x20, 0x7F))
    wide: list[int] = []
    zero: list[int] = []
    for first, stop in _SCANNED_RANGES:
        for cp in range(first, stop):
            # The uncached function: the scan must not flush pyte's small lru_cache.
            width = _uncached_wcwidth(chr(cp))
            if width == 1:
                narrow.append(cp)
            elif width == 2:
                wide.append(cp)
            elif width == 0:
                zero.append(cp)
    return narrow, wide, zero


@lru_cache(maxsize=1)
def _run_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    narrow, wide, _ = _widths()
    narrow_class, wide_class = _class_for(narrow), _class_for(wide)
    return (
        re.compile(f"[{narrow_class}]+"),
        re.compile(f"[{wide_class}]+"),
        re.compile(f"([{narrow_class}]+)|([{wide_class}]+)"),
    )


def narrow_run(text: str, pos: int) -> re.Match[str] | None:
    """Match the longest run of one-cell characters at ``pos``."""
    return _run_patterns()[0].match(text, pos)


def wide_run(text: str, pos: int) -> re.Match[str] | None:
    """Match the longest run of two-cell characters at ``pos``."""
    return _run_patterns()[1].match(text, pos)


def run_matcher() -> Callable[[str, int], re.Match[str] | None]:
    """``match`` for a run of one width: group 1 is a one-cell run, group 2 a two-cell run."""
    return _run_patterns()[2].match


@lru_cache(maxsize=1)
def special_splitter() -> Callable[[str], list[str]]:
    """``split`` into [narrow, special, narrow, special, ..., narrow] pieces.

    The even pieces hold only one-cell characters of the Basic Multilingual Plane (each is
    one cell); the odd ones hold everything else (wide, zero-width, unprintable or astral
    characters), which the caller looks at one by one. The class has no astral ranges, so
    ``re`` compiles it to a constant-time bitmap lookup; a class with astral ranges would
    be scanned range by range for every character (several times slower).
    """
    narrow = [cp for cp in _widths()[0] if cp < 0x10000]
    return re.compile(f"([^{_class_for(narrow)}]+)").split


@lru_cache(maxsize=1)
def zero_or_wide_matcher() -> Callable[[str], re.Match[str] | None]:
    """``fullmatch``: group 1 if all characters are zero-width, group 2 if all are wide.

    Only scanned code points count, so a match means every character's width is known.
    """
    _, wide, zero = _widths()
    return re.compile(f"([{_class_for(zero)}]+)|([{_class_for(wide)}]+)").fullmatch
