"""Running ``python main.py run`` as QA does, for the tests of its verdict and its record."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

SHORT = """
name = "{name}"
description = "{minutes} quiet minutes."
duration_min = {minutes}

[patient]
profile = "routine"
"""


def scenario_file(tmp_path: Path, minutes: int, name: str = "short") -> Path:
    """A routine scenario of ``minutes`` session minutes (one second of real time per ~5)."""
    path = tmp_path / f"{name}.toml"
    path.write_text(SHORT.format(name=name, minutes=minutes))
    return path


def run_env(home: Path, data_home: Path | None = None) -> dict[str, str]:
    """Environment of a QA run: its own home (so its own journal directory)."""
    env = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "HOME": str(home)}
    if data_home is not None:
        env["XDG_DATA_HOME"] = str(data_home)
    return env


def run_cmd(*args: str) -> list[str]:
    return [sys.executable, str(ROOT / "main.py"), "run", *args]


def finish(proc: subprocess.CompletedProcess[str]) -> tuple[int, dict[str, Any], str]:
    summary = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, summary, proc.stderr


def run(env: dict[str, str], *args: str, timeout: float = 240) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        run_cmd(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env
    )
    return finish(proc)


def rerun_writes_the_journal(
    env: dict[str, str], tmp_path: Path, db_path: Path, session_id: int
) -> tuple[int, bool]:
    """Run a short scenario again (its start writes what the journal kept) and return the
    earlier session's HR readings in the database and whether its end is stored."""
    code, _s, stderr = run(
        env, "--scenario", str(scenario_file(tmp_path, 2)), "--db", f"sqlite:///{db_path}"
    )
    assert code == 0, stderr
    with sqlite3.connect(db_path) as db:
        (n,) = db.execute(
            "SELECT count(*) FROM readings WHERE session_id = ? AND parameter = 'HR'",
            (session_id,),
        ).fetchone()
        (ended,) = db.execute(
            "SELECT ended_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    return int(n), ended is not None
