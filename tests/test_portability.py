"""The console loads where POSIX-only modules do not exist (Windows), and keeps it so.

Issue 15: ``devices/transport.py`` imported ``termios`` at module level, so the console could not
start on Windows at all, although its help offered ``COM3``.  POSIX-only modules may be imported
only inside functions (the simulator's pty endpoint, the journal's file lock); this holds for
every module of the project (an AST check), and the console's modules really import in an
interpreter where those modules are missing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Modules Windows does not have (the standard library guards its own imports of them).
POSIX_ONLY = ("termios", "fcntl", "pty", "tty", "grp", "pwd", "resource", "syslog")


def _module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """Imports not inside a function or class body (in try/if blocks too)."""
    found: list[tuple[int, str]] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.extend((node.lineno, a.name.split(".")[0]) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((node.lineno, node.module.split(".")[0]))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    children = getattr(node, field, None)
                    if isinstance(children, list):
                        visit([c for c in children if isinstance(c, ast.stmt)])
                        for handler in children:
                            if isinstance(handler, ast.ExceptHandler):
                                visit(handler.body)

    visit(tree.body)
    return found


def test_no_module_imports_a_posix_only_module_at_load_time() -> None:
    sources = [ROOT / "main.py", *sorted((ROOT / "console").rglob("*.py"))]
    sources += sorted((ROOT / "devices").rglob("*.py"))
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sources
        for line, name in _module_level_imports(ast.parse(path.read_text(), str(path)))
        if name in POSIX_ONLY
    ]
    assert len(sources) > 100  # the scan really read the project
    assert offenders == []


def test_the_check_finds_an_import_in_a_try_block() -> None:
    tree = ast.parse("try:\n    import termios\nexcept ImportError:\n    pass\n")
    assert _module_level_imports(tree) == [(2, "termios")]


@pytest.mark.slow
def test_the_console_imports_without_posix_only_modules() -> None:
    """As on Windows: each POSIX-only module is made unimportable, then the console's entry
    points, the device runner and the headless commands are imported (the project's own code;
    third-party packages are loaded first)."""
    code = (
        # Third-party packages pick their own backend by platform (pyserial's POSIX one uses
        # fcntl and termios): loaded first, as they would be their Windows backends there.
        "import sys, serial, serial.tools.list_ports\n"
        f"for name in {POSIX_ONLY!r}:\n"
        "    sys.modules[name] = None\n"
        "import console.cli, console.app, console.ui.main_window, console.commands.run\n"
        "import console.commands.sessions, console.commands.export, console.commands.review\n"
        "import devices.runner, devices.transport, devices.cli, devices.simulator.launch\n"
        "print('imported')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-1500:]
    assert done.stdout.strip() == "imported"
