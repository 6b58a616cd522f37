"""A run's verdict does not depend on machine load (issue 12, item 8).

The same scenario and seed are run at ``--speed max`` on an idle machine and with two busy
processes spinning on the CPU (the machine has two cores) for the whole run: the readings, the
record, the alarms, the technical episodes and the verdict must be identical.  The scenario packs
line noise, a pulled cable, a bradycardia and a sensor-off episode into 20 minutes (about 5 s of
real time when idle).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from console.commands import run as run_command
from devices.pacing import PacedClock
from tests.console.runs import run, run_env

pytestmark = pytest.mark.slow

BUSY = """
name = "busy-20"
description = "Noise, an unplug, a bradycardia and a sensor-off in 20 minutes."
duration_min = 20

[patient]
profile = "routine"
base_hr = 72

[timeline]
baseline_min = 2

[[events]]
at_min = 3
action = "noise"
duration_s = 120
every_s = 7

[[events]]
at_min = 7
action = "unplug"
duration_s = 45

[[events]]
at_min = 10
action = "hr"
delta = -42
duration_s = 180
ramp_s = 20

[[events]]
at_min = 16
action = "sensor_off"
duration_s = 60

[[expect]]
parameter = "COMM_LOST"
priority = "medium"
from_min = 7
to_min = 8.5

[[expect]]
parameter = "HR"
priority = "medium"
from_min = 10
to_min = 14

[[expect]]
parameter = "SENSOR_OFF"
priority = "medium"
from_min = 16
to_min = 18
"""

#: Everything in the summary that must not depend on the machine's load.
COMPARED = (
    "readings",
    "invalid_readings",
    "frame_errors",
    "alarms",
    "expected",
    "unexpected",
    "passed",
    "record",
)


def _run(tmp_path: Path, scenario: Path, tag: str) -> dict[str, Any]:
    db = f"sqlite:///{tmp_path / f'{tag}.db'}"
    code, summary, stderr = run(
        run_env(tmp_path), "--scenario", str(scenario), "--seed", "4", "--db", db, timeout=300
    )
    assert code == 0, stderr
    return summary


def test_same_scenario_and_seed_same_verdict_under_full_cpu_load(tmp_path: Path) -> None:
    scenario = tmp_path / "busy-20.toml"
    scenario.write_text(BUSY)
    idle = _run(tmp_path, scenario, "idle")
    # Busy on every core for the loaded run; each spinner also ends by itself (bounded).
    spin = "import time\nend = time.monotonic() + 300\nwhile time.monotonic() < end: pass"
    spinners = [
        subprocess.Popen([sys.executable, "-c", spin]) for _ in range(max(2, os.cpu_count() or 2))
    ]
    try:
        loaded = _run(tmp_path, scenario, "loaded")
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert idle["passed"] is True
    assert all(row["lost"] == 0 for row in idle["record"].values())
    assert idle["frame_errors"] > 0  # the noise was on the wire
    for key in COMPARED:
        assert loaded[key] == idle[key], key
    # The episodes' details name the run's own temporary pty: compare everything else.
    assert [{**e, "detail": ""} for e in loaded["technical_episodes"]] == [
        {**e, "detail": ""} for e in idle["technical_episodes"]
    ]


def test_a_clock_that_cannot_move_ends_the_run_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Stuck is not slow: a paced clock that stands still (here: no host ever opens the port)
    ends the wait with what holds it, instead of hanging the QA job."""
    monkeypatch.setattr(run_command, "STALL_REAL_S", 0.2)
    why = run_command._wait_for(PacedClock(300), 10.0)
    assert why == "the run stalled at 0.0 s: no host has the port open"
