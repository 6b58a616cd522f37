"""Every built-in scenario passes its own expectations headless, through the real path.

``python main.py run`` is run as QA runs it (a subprocess, at ``--speed max``): virtual monitor on
a pty -> pyserial -> runner -> decoding -> alarm engine -> storage, then its JSON summary and exit
code are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devices.simulator.scenario import builtin_scenarios

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "run",
            "--db",
            f"sqlite:///{tmp_path / 'qa.db'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)},
    )
    summary = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, summary, result.stderr


@pytest.mark.parametrize("scenario", builtin_scenarios())
def test_builtin_scenario_passes_on_datex(tmp_path: Path, scenario: str) -> None:
    code, summary, stderr = _run(tmp_path, "--scenario", scenario)
    assert code == 0, stderr
    assert summary["passed"] is True
    assert summary["simulated"] is True
    assert all(e["met"] for e in summary["expected"])
    assert summary["unexpected"] == []
    assert summary["readings"]["HR"] > 0
    if scenario == "noisy-line":
        assert summary["frame_errors"] > 50  # the damage was on the wire, and survived
    for alarm in summary["alarms"]:
        assert set(alarm) == {"parameter", "priority", "category", "onset_s", "end_s", "message"}


@pytest.mark.parametrize("protocol", ["intellivue", "masimo", "hl7"])
@pytest.mark.parametrize("scenario", ["sensor-off", "cable-unplug", "bradycardia"])
def test_key_scenarios_pass_on_every_protocol(tmp_path: Path, protocol: str, scenario: str) -> None:
    code, summary, stderr = _run(tmp_path, "--scenario", scenario, "--protocol", protocol)
    assert code == 0, stderr
    assert summary["protocol"] == protocol
    assert summary["passed"] is True


def test_a_scenario_the_device_cannot_show_fails_with_the_reason(tmp_path: Path) -> None:
    code, summary, stderr = _run(
        tmp_path, "--scenario", "hypertensive-surge", "--protocol", "masimo"
    )
    assert code == 1
    assert summary["passed"] is False
    assert "does not measure this parameter" in stderr


def test_same_seed_same_patient(tmp_path: Path) -> None:
    """Deterministic for a seed: the cuff readings (the model's values) are the same twice."""
    import sqlite3

    for name in ("a", "b"):
        run_dir = tmp_path / name
        run_dir.mkdir()
        code, _summary, stderr = _run(run_dir, "--scenario", "routine", "--seed", "7")
        assert code == 0, stderr
    values = []
    for name in ("a", "b"):
        with sqlite3.connect(tmp_path / name / "qa.db") as db:
            rows = db.execute(
                "SELECT value FROM readings WHERE parameter = 'NIBP_SYS' AND valid ORDER BY id"
            ).fetchall()
        values.append([v for (v,) in rows])
    assert values[0]
    assert values[0] == values[1]


def test_bad_scenario_is_exit_2(tmp_path: Path) -> None:
    code, _summary, stderr = _run(tmp_path, "--scenario", "no-such-scenario")
    assert code == 2
    assert "no scenario" in stderr
