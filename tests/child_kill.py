"""Run a Python child, wait for its first line, let it work, then kill -9 it.

The crash tests (held data, crash resume, resume question open) all need the same steps:
start a child running ``code``, read the line it prints when ready, wait, SIGKILL it and
make sure it is reaped even when an assertion fails halfway.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_then_kill(
    code: str,
    args: list[str],
    *,
    work_s: float,
    env: Mapping[str, str] | None = None,
    ready_within_s: float = 60.0,
) -> tuple[str, datetime]:
    """Start ``python -c code *args``; return (its first stdout line, when it was killed).

    The child is killed ``work_s`` seconds after its first line.

    Raises:
        AssertionError: the child printed nothing within ``ready_within_s`` (its stderr is
            shown by pytest) or was not killed by the signal.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + ready_within_s
        line = ""
        while not line and time.monotonic() < deadline and child.poll() is None:
            line = child.stdout.readline()
        assert line, f"the child never became ready (exit {child.poll()})"
        time.sleep(work_s)
        killed_at = datetime.now(UTC)
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
        return line.strip(), killed_at
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
