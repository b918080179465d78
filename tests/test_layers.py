"""The layers of DESIGN.md, read from the source: which package may import which.

``api/`` and ``terminal/`` never import the app (its screens and widgets); ``api/`` does not
import Textual at all; ``local/`` (the backend) never imports the app or the terminal widget.
Every import counts, including the ones inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pocketenv_tui"

FORBIDDEN = {
    "api": ("pocketenv_tui.app", "pocketenv_tui.local", "pocketenv_tui.terminal.widget", "textual"),
    "terminal": ("pocketenv_tui.app", "pocketenv_tui.local"),
    "local": ("pocketenv_tui.app", "pocketenv_tui.terminal.widget", "textual"),
}


def imported_modules(path: Path) -> list[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.append(module)
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, layer
    offences = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in files
        for name in imported_modules(path)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]
    assert offences == []


def test_relative_imports_are_resolved_as_python_does() -> None:
    view = PACKAGE / "terminal" / "widget" / "view.py"
    names = imported_modules(view)
    assert "pocketenv_tui.terminal.screen" in names  # from ..screen import TerminalScreen
    assert "pocketenv_tui.terminal.widget.render" in names  # from .render import ...
