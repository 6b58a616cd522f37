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


# -- issue 17: an esketamine session on the record -----------------------------------------------
def test_esketamine_routine_leaves_a_rems_record(tmp_path: Path) -> None:
    """The run stores what a REMS form needs, and its summary says so from the stored record."""
    import sqlite3

    code, summary, stderr = _run(tmp_path, "--scenario", "esketamine-routine")
    assert code == 0, stderr
    esk = summary["session"]["esketamine"]
    assert summary["session"]["session_type"] == "esketamine"
    assert (esk["dose_mg"], esk["devices_planned"], esk["lot"]) == (56.0, 2, "SIM-ESK-24A")
    assert esk["devices_given_s"] == [300.0, 600.0]
    assert esk["device_warnings"] == []
    assert esk["bp_before_dosing"]["at_s"] < 300.0
    assert 300.0 + 35 * 60 <= esk["bp_at_40_min"]["at_s"] <= 300.0 + 45 * 60
    assert 127 * 60 - 30 * 60 <= esk["bp_before_end"]["at_s"] <= 127 * 60
    assert esk["ready_to_leave_s"] == 7200.0
    assert esk["monitoring_min"] >= 120.0
    assert esk["phase"] == "closed"
    intake = summary["session"]["intake"]
    assert intake["medications"] == dict.fromkeys(
        (
            "benzodiazepines",
            "non_benzodiazepine_sedative_hypnotics",
            "psychostimulants",
            "maois",
            "opioids",
        ),
        False,
    )
    assert (intake["date_of_birth"], intake["sex"]) == ("1975-06-14", "female")
    with sqlite3.connect(tmp_path / "qa.db") as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM events ORDER BY at, id")]
        row = db.execute("SELECT session_type, setting_name FROM session_intake").fetchone()
        nibp = db.execute(
            "SELECT count(*) FROM readings WHERE parameter = 'NIBP_SYS' AND valid"
        ).fetchone()[0]
    assert kinds[0] == "esketamine_planned"
    assert kinds.count("device_given") == 2
    assert "end_checks" in kinds
    assert kinds[-1] == "closed"
    assert row == ("esketamine", "Simulated ketamine clinic")
    assert nibp >= 25  # every 5 min for 130 min: the checkpoints are real cuff readings


def _variant(tmp_path: Path, **changes: str) -> Path:
    text = (ROOT / "resources" / "scenarios" / "esketamine-routine.toml").read_text()
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "variant.toml"
    path.write_text(text)
    return path


def test_an_esketamine_discharge_before_two_hours_fails_the_run(tmp_path: Path) -> None:
    """A script that discharges at 1 h 40 min: the rules refuse, the record is not closed and
    the run exits 1 saying why (the verdict is the record's, not the script's intention)."""
    path = _variant(
        tmp_path,
        **{
            "duration_min = 130": "duration_min = 105",
            "discharge_min = 127": "discharge_min = 100",
            "ready_to_leave_min = 120": "ready_to_leave_min = 95",
            "observation_min = 120": "observation_min = 95",
        },
    )
    code, summary, stderr = _run(tmp_path, "--scenario", str(path))
    assert code == 1
    assert summary["passed"] is False
    assert "minimum observation of 120 min not reached" in stderr
    assert summary["session"]["esketamine"]["phase"] != "closed"


def test_a_wrong_esketamine_dose_is_exit_2(tmp_path: Path) -> None:
    path = _variant(tmp_path, **{"dose_mg = 56": "dose_mg = 70"})
    code, _summary, stderr = _run(tmp_path, "--scenario", str(path))
    assert code == 2
    assert "56 mg or 84 mg" in stderr
    assert len(stderr.strip().splitlines()) == 1
