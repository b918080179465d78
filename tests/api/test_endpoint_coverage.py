"""Every endpoint of reference/api.md §2 has a client method, and a checked request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pocketenv_tui.api import PocketenvClient
from pocketenv_tui.api.endpoints import ENDPOINTS, NSID_PREFIX, UNSERVED_NSIDS
from tests.api.request_cases import cases

REFERENCE = Path("/work/shared/reference/api.md")
# A copy of the §2 NSIDs, used when the reference file is not on this machine (e.g. CI).
FALLBACK_NSIDS_FILE = Path(__file__).with_name("data") / "api_section2_nsids.txt"

DELIBERATELY_UNSUPPORTED = {
    # Lexicons exist, but the hosted server has no handler and answers 404.
    "sandbox.getTailscaleToken",
    "sandbox.putTailscaleToken",
    "sandbox.updateSandboxSettings",
}


def parse_section2(markdown: str) -> list[tuple[str, str]]:
    """(NSID, Q|P) for every row of the §2 endpoint table, expanding ``a.b / c / d`` rows."""
    section = markdown.split("## 2. Endpoints", 1)[1].split("\n## ", 1)[0]
    found: list[tuple[str, str]] = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[1] not in {"Q", "P"}:
            continue
        names = [name.strip() for name in cells[0].split("/")]
        namespace = names[0].split(".")[0]
        for name in names:
            if "." not in name:
                name = f"{namespace}.{name}"
            assert re.fullmatch(r"[a-z]+\.[A-Za-z]+", name), name
            found.append((name, cells[1]))
    return found


def reference_nsids() -> list[tuple[str, str]]:
    if REFERENCE.exists():
        return parse_section2(REFERENCE.read_text(encoding="utf-8"))
    rows = FALLBACK_NSIDS_FILE.read_text(encoding="utf-8").split()
    return [(row.split(":")[0], row.split(":")[1]) for row in rows]


REFERENCE_ROWS = reference_nsids()


def test_reference_table_was_read() -> None:
    assert len(REFERENCE_ROWS) == 58  # the reference says 58 lexicon methods
    assert len({name for name, _ in REFERENCE_ROWS}) == 58


def test_fallback_copy_matches_reference() -> None:
    if not REFERENCE.exists():
        pytest.skip("reference/api.md is not on this machine")
    copy = FALLBACK_NSIDS_FILE.read_text(encoding="utf-8").split()
    assert copy == [f"{name}:{kind}" for name, kind in REFERENCE_ROWS]


def test_unserved_are_exactly_the_deliberate_exclusions() -> None:
    assert {NSID_PREFIX + name for name in DELIBERATELY_UNSUPPORTED} == UNSERVED_NSIDS
    assert not UNSERVED_NSIDS & ENDPOINTS.keys()


@pytest.mark.parametrize("name,kind", REFERENCE_ROWS, ids=[n for n, _ in REFERENCE_ROWS])
def test_every_reference_endpoint_has_a_method(name: str, kind: str) -> None:
    if name in DELIBERATELY_UNSUPPORTED:
        return
    spec = ENDPOINTS.get(NSID_PREFIX + name)
    assert spec is not None, f"no client method for {name}"
    assert spec.method == ("GET" if kind == "Q" else "POST")
    client = PocketenvClient("http://127.0.0.1:9", "t")
    method = getattr(getattr(client, spec.namespace), spec.client_method, None)
    assert callable(method), f"{spec.namespace}.{spec.client_method} missing for {name}"


def test_every_served_endpoint_has_a_checked_request() -> None:
    exercised = {case.nsid for case in cases(lambda text: text)}
    served = {name for name, _ in REFERENCE_ROWS} - DELIBERATELY_UNSUPPORTED
    assert served - exercised == set()


def test_table_has_nothing_beyond_the_reference_but_extensions() -> None:
    reference = {NSID_PREFIX + name for name, _ in REFERENCE_ROWS}
    extra = {nsid for nsid, spec in ENDPOINTS.items() if nsid not in reference}
    assert extra == {nsid for nsid, spec in ENDPOINTS.items() if spec.extension}
