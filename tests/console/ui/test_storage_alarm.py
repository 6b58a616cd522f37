"""The storage writer's troubles are the nurse's technical alarm (issue 12, items 1 and 4).

Before, a writer problem during a session only reached the status bar: a database file deleted
under the console lost the whole session with no alarm at all.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from devices.model import DeviceState, Metric
from tests.console.ui.conftest import ConsoleFactory
from tests.expected_logs import DATABASE_FILE_GONE, expect_logs

pytestmark = pytest.mark.gui

KEY = "storage_unavailable"


@expect_logs(DATABASE_FILE_GONE)
def test_a_deleted_database_file_raises_the_alarm_and_the_record_survives(
    qtbot: QtBot, console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    app = console_factory(**{"simulator.speed": 10.0})
    chair = app.chair
    qtbot.waitUntil(
        lambda: chair.session_id is not None and chair.link_state == DeviceState.STREAMING.value,
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: len(chair.trends[Metric.HR]) > 5, timeout=10_000)
    sid = chair.session_id
    assert sid is not None
    db = tmp_path / "console.sqlite3"
    shown_before = len(chair.trends[Metric.HR])
    deleted_on_clock = chair.clock.now()
    db.unlink()
    deleted_at = time.monotonic()
    qtbot.waitUntil(lambda: any(ev.key == KEY for ev in chair.alarm_log), timeout=5_000)
    assert time.monotonic() - deleted_at < 5.0
    onset = next(ev for ev in chair.alarm_log if ev.key == KEY)
    assert "was deleted" in onset.message
    qtbot.waitUntil(db.exists, timeout=5_000)  # put back from the file the console had open
    qtbot.wait(1_000)
    assert app.writer.flush()
    repo = app.repository
    assert repo.session(sid).started_at is not None
    hr = [r for r in repo.readings(sid) if r.parameter == "HR"]
    # What was written before the deletion is there, and what came after it too.
    assert len([r for r in hr if r.received_at <= deleted_on_clock]) >= shown_before
    assert hr[-1].received_at > deleted_on_clock
    stored = [a for a in repo.alarms(sid) if a.condition == KEY]
    assert stored, "the technical alarm is part of the record"
