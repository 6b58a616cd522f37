"""A console started while its database is unreachable still monitors, and records later.

After a crash, the console may restart while the clinic's database server is down; the nurse
must still see and be alarmed about the patient.  The chair holds what it measures, shows
"session not recorded", and writes everything once the database is back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import build_app
from console.config import load
from console.domain.alarms import Priority
from console.services.shift import ShiftState
from devices.model import Metric

pytestmark = pytest.mark.gui


@pytest.mark.expected_log(
    "console",
    r"^database unreachable at start; monitoring without a record: "
    r"\(sqlite3\.OperationalError\) unable to open database file",
)
@pytest.mark.expected_log(
    "ui.chair",
    r"^chair Chair 1: database unreachable, monitoring without a record: unable to open "
    r"database file$",
)
def test_monitoring_starts_without_the_database_and_the_record_catches_up(
    qtbot: QtBot, tmp_path: Path
) -> None:
    db_dir = tmp_path / "not-yet"  # SQLite cannot open a file in a missing directory
    settings = load(
        overrides={
            "storage.db_url": f"sqlite:///{db_dir / 'console.sqlite3'}",
            "simulator.speed": 60.0,
        },
        environ={},
    )
    app = build_app(settings, journal_dir=tmp_path / "journal", sound=False)
    qtbot.addWidget(app.window)
    app.window.show()
    chair = app.chair
    try:
        # Monitoring and alarming work at once ...
        qtbot.waitUntil(lambda: len(chair.trends[Metric.HR]) > 20, timeout=20_000)
        assert chair.session_id is None
        assert chair.storage_problem
        alarm = next(a for a in chair.alarm_list if a.key == "storage_unavailable")
        assert alarm.priority is Priority.MEDIUM
        # A console condition: in the console-wide strip, not in the chair's alarm slot.
        assert "SESSION NOT RECORDED" in app.window.console_strip.text()
        assert "SESSION NOT RECORDED" not in app.window.panel.banner.text()
        held_before = len(chair.trends[Metric.HR])
        # The shift cannot know whether accounts exist: locked, not a DEMO (issue 16).
        assert app.shift_control is not None
        shift = app.shift_control.shift
        assert shift.state is ShiftState.LOCKED
        assert "accounts not checked" in shift.problem

        # ... and when the database comes back, the record is opened and everything held
        # since the start is written into it.
        db_dir.mkdir()
        qtbot.waitUntil(lambda: chair.session_id is not None, timeout=15_000)
        assert chair.storage_problem is None
        qtbot.waitUntil(
            lambda: all(a.key != "storage_unavailable" for a in chair.alarm_list), timeout=5_000
        )
        assert app.writer.flush()
        stored_hr = [r for r in app.repository.readings(chair.session_id) if r.parameter == "HR"]
        assert len(stored_hr) >= held_before
        # The first stored reading is from the first simulated seconds, long before the
        # database returned: what was measured while it was down was kept, not dropped.
        first_s = (stored_hr[0].received_at - chair.session_start).total_seconds()
        assert first_s < 10
        # The accounts are asked again: none, and only simulated chairs: the DEMO.
        qtbot.waitUntil(lambda: shift.state is ShiftState.DEMO, timeout=15_000)
    finally:
        app.shutdown()
