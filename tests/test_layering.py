"""Layering that import-linter cannot express: only console.ui may import QtWidgets."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


NON_UI = [
    p
    for pkg in ("devices", "console/domain", "console/storage", "console/services")
    for p in sorted((ROOT / pkg).rglob("*.py"))
] + [ROOT / "console" / "config.py"]


@pytest.mark.parametrize("path", NON_UI, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_widgets_outside_ui(path: Path) -> None:
    bad = {n for n in _imports(path) if n.startswith(("PySide6.QtWidgets", "pyqtgraph"))}
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; only console/ui may"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "devices").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_devices_is_standalone(path: Path) -> None:
    bad = {
        n
        for n in _imports(path)
        if n.split(".")[0] in {"PySide6", "pyqtgraph", "sqlalchemy", "console"}
    }
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
