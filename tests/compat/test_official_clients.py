"""The official Pocketenv CLI and SDK examples, run against a local backend of their own.

Skipped unless ``POCKETENV_OFFICIAL_CLI`` (a built ``apps/cli`` of pocketenv) and
``POCKETENV_OFFICIAL_SDK`` (a built pocketenv-js) are set; how to build them is in
``tests/compat/official_clients.py``. One test per CLI command (or variant) and SDK example,
named after it. The whole plan runs once, in order, when the first test asks for it (about
two minutes); each test then reports its own step. A step that needs the hosted service is
skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compat import official_clients as oc
from tests.conftest import BackendHandle, launch_backend

PATHS = oc.client_paths_from_env()
UNAVAILABLE = oc.unavailable_reason(PATHS)

pytestmark = [
    pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or ""),
    pytest.mark.timeout(900),  # the first test pays for the whole run
]


@pytest.fixture(scope="module")
def official_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendHandle]:
    base = tmp_path_factory.mktemp("official-backend")
    home = base / "server-home"
    home.mkdir()
    handle = launch_backend(base / "data", env={"HOME": str(home)})
    try:
        yield handle
    finally:
        handle.stop()  # also checks that no sandbox process or mount outlived it


@pytest.fixture(scope="module")
def official_results(
    official_backend: BackendHandle, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, oc.Result]:
    assert PATHS is not None
    work: Path = tmp_path_factory.mktemp("official-clients")
    results, notes = oc.run_all(PATHS, url=official_backend.url, data_dir=official_backend.data_dir, work_dir=work)
    for note in notes:
        print(f"official clients: {note}")
    return {result.id: result for result in results}


@pytest.mark.parametrize("step_id", oc.step_ids())
def test_official_client(official_results: dict[str, oc.Result], step_id: str) -> None:
    result = official_results[step_id]
    if result.status == oc.NOT_RUN:
        pytest.skip(result.detail)
    assert result.status == oc.PASS, result.report()
