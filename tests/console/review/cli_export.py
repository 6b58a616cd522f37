"""Run ``main.py export`` as a user would: a child process, offscreen Qt, a bare environment."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Engine

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[3]


def run_export(*args: str) -> subprocess.CompletedProcess[str]:
    """``python main.py export ARGS`` from the repository root; never raises on exit codes."""
    return subprocess.run(
        [sys.executable, "main.py", "export", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )


def file_database(path: Path, build: Callable[[Engine], T]) -> tuple[str, T]:
    """A migrated SQLite file at ``path`` filled by ``build``; returns its URL and what
    ``build`` returned (the engine is disposed: the child process opens the file itself)."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        return url, build(engine)
    finally:
        engine.dispose()
