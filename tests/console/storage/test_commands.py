"""``python main.py sessions`` and ``export``: output formats and one-line errors with exit 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from console.commands import COMMANDS, export, sessions
from console.domain.alarms import AlarmEvent, AlarmEventKind, Direction, Priority
from console.domain.session import BaselineVitals, EventKind, SessionLifecycle
from console.storage.repository import SessionRepository
from console.storage.writer import (
    AlarmItem,
    ReadingsItem,
    SessionEventItem,
    StorageWriter,
    TechnicalItem,
)
from devices.model import METRIC_UNITS, Metric, Reading, TechnicalEvent, TechnicalEventKind

ROOT = Path(__file__).resolve().parents[3]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def filled(migrated: Engine) -> tuple[Engine, int]:
    repo = SessionRepository(migrated)
    pid = repo.add_patient("MRN-7", "A.B.")
    sid = repo.create_session(
        chair="Chair 2", started_at=T0, simulated=True, device_kind="ge-datex", patient_id=pid
    )
    repo.create_session(chair="Chair 1", started_at=at(-60), simulated=False, device_kind="x")
    life = SessionLifecycle()
    life.record_baseline(BaselineVitals(at(0), 120, 80, 70, 98), author="rn1")
    life.plan_infusion(
        at(1),
        weight_kg=80,
        weight_measured_on=date(2026, 3, 1),
        dose_mg_per_kg=0.5,
        rate_ml_per_h=100,
    )
    life.start_infusion(at(2), author="rn1")
    life.annotate(EventKind.NAUSEA, at(3), author="rn1", text="mild, with a comma")
    writer = StorageWriter(migrated)
    writer.start()
    try:
        for ev in life.events:
            writer.submit(SessionEventItem(sid, ev))
        writer.submit(
            ReadingsItem(
                sid,
                tuple(
                    Reading(Metric.HR, 70.0 + i, METRIC_UNITS[Metric.HR], at(i)) for i in range(5)
                ),
            )
        )
        onset = AlarmEvent(
            AlarmEventKind.ONSET,
            "HR:high",
            Metric.HR,
            Direction.HIGH,
            Priority.MEDIUM,
            121.0,
            120.0,
            at(2.5),
            "HR 121 >= 120",
        )
        writer.submit(AlarmItem(sid, onset))
        writer.submit(
            TechnicalItem(sid, TechnicalEvent(TechnicalEventKind.QUIET, at(4), "no data"))
        )
        assert writer.flush()
    finally:
        writer.stop()
    return migrated, sid


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_commands_are_registered() -> None:
    assert COMMANDS["sessions"][0] == "console.commands.sessions:main"
    assert COMMANDS["export"][0] == "console.commands.export:main"


def test_sessions_table_and_json(
    filled: tuple[Engine, int], capsys: pytest.CaptureFixture[str]
) -> None:
    engine, sid = filled
    assert sessions.main(["--db", _url(engine)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ID",
        "PATIENT",
        "CHAIR",
        "STARTED",
        "ENDED",
        "PHASE",
        "SIM",
        "READINGS",
        "ALARMS",
    ]
    assert lines[1].split() == [
        str(sid),
        "MRN-7",
        "Chair",
        "2",
        "2026-03-01",
        "09:00:00",
        "-",
        "infusion",
        "yes",
        "5",
        "1",
    ]
    assert sessions.main(["--db", _url(engine), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0] == {
        "id": sid,
        "patient": "MRN-7",
        "series_number": 1,
        "chair": "Chair 2",
        "started": "2026-03-01T09:00:00+00:00",
        "ended": None,
        "phase": "infusion",
        "simulated": True,
        "resumed": False,
        "device": "ge-datex",
        "readings": 5,
        "alarms": 1,
    }
    assert sessions.main(["--db", _url(engine), "--json", "--chair", "Chair 1"]) == 0
    assert [d["chair"] for d in json.loads(capsys.readouterr().out)] == ["Chair 1"]


def test_export_one_csv_in_time_order(
    filled: tuple[Engine, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, sid = filled
    out = tmp_path / "session.csv"
    assert (
        export.main(
            ["--db", _url(engine), "--session", str(sid), "--format", "csv", "--out", str(out)]
        )
        == 0
    )
    assert "exported" in capsys.readouterr().err
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["record_type"] == "session"
    assert (rows[0]["patient"], rows[0]["weight_kg"], rows[0]["dose_mg"]) == (
        "MRN-7",
        "80.0",
        "40.0",
    )
    types = [r["record_type"] for r in rows[1:]]
    assert types.count("reading") == 5
    assert types.count("alarm") == 1
    assert types.count("alarm_log") == 1
    assert types.count("technical") == 1
    assert [r["kind"] for r in rows if r["record_type"] == "event"] == [
        "baseline_vitals",
        "infusion_planned",
        "infusion_start",
        "nausea",
    ]
    times = [r["time"] for r in rows[1:]]
    assert times == sorted(times)
    nausea = next(r for r in rows if r["kind"] == "nausea")
    assert nausea["text"] == "mild, with a comma"


def test_errors_are_one_line_and_exit_2(
    filled: tuple[Engine, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, _sid = filled
    assert (
        export.main(["--db", _url(engine), "--session", "999", "--out", str(tmp_path / "x.csv")])
        == 2
    )
    err = capsys.readouterr().err
    assert err == "infusion-console export: no session with id 999\n"
    assert not (tmp_path / "x.csv").exists()
    assert sessions.main(["--db", "nosuchdb://x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "database error" in err


def test_unreachable_server_via_main_py(tmp_path: Path) -> None:
    bad = "postgresql+psycopg://app:secret@127.0.0.1:1/nothing"
    for args in (
        ["sessions", "--db", bad],
        ["export", "--db", bad, "--session", "1", "--out", "x.csv"],
    ):
        result = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1, result.stderr
        assert "cannot use the database" in result.stderr
        assert "secret" not in result.stderr  # never print the password


def test_gui_start_refuses_a_newer_database_in_one_line(tmp_path: Path) -> None:
    from sqlalchemy import text

    from console.storage.engine import make_engine
    from console.storage.migrate import upgrade_to_head

    url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0042_newer'"))
    engine.dispose()
    for args in (["--db", url], ["sessions", "--db", url]):
        result = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert result.returncode == 2
        last = result.stderr.strip().splitlines()[-1]
        assert "0042_newer" in last
        assert "newer than this console" in last


def test_default_database_is_the_guis(
    filled: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, sid = filled
    monkeypatch.setenv("INFUSION_CONSOLE_DB_URL", _url(engine))  # what config.load() reads
    assert sessions.main(["--json"]) == 0
    assert sid in [d["id"] for d in json.loads(capsys.readouterr().out)]
