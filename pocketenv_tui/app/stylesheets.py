"""Where the .tcss files live, and the list a screen names in its CSS_PATH.

Each screen loads only its own sheets, when it is first shown: parsing every sheet up front
would cost start-up time for screens the user may never open.
"""

from __future__ import annotations

from pathlib import Path

STYLES = Path(__file__).resolve().parent.parent / "styles"


def stylesheets(*names: str) -> list[Path]:
    return [STYLES / f"{name}.tcss" for name in names]
