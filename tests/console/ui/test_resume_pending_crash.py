"""A console killed while "resume?" waits for the nurse loses nothing (issue 12, item 6).

The chair monitors while the question is open; its data used to wait in memory and died with
the process (39 s and 25 s lost).  Now they are journalled from the first second and go into
the record the nurse chooses at the next start.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import build_app
from console.config import load
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from devices.model import Metric
from tests.child_kill import run_then_kill
from tests.expected_logs import HELD_BATCHES_ADOPTED, expect_logs

pytestmark = pytest.mark.gui


#: The console (offscreen, one simulated chair in real time) with the resume question open.
CHILD = r"""
import sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from console.app import build_app
from console.config import load
from devices.model import Metric

url, journal_dir = sys.argv[1], Path(sys.argv[2])
qapp = QApplication(sys.argv[:1])
settings = load(overrides={"storage.db_url": url, "simulator.speed": 1.0}, environ={})
console = build_app(settings, journal_dir=journal_dir, sound=False)
chair = console.chair
start = time.monotonic()
while chair.pending_resume is None and time.monotonic() - start < 30:
    qapp.processEvents()  # the record opens on the chair's database worker
    time.sleep(0.01)
assert chair.pending_resume is not None, "the resume question must be open"
start = time.monotonic()
while time.monotonic() - start < 60:
    qapp.processEvents()
    shown = len(chair.trends[Metric.HR])
    if shown >= 5:
        break
    time.sleep(0.01)
print(shown, flush=True)
while True:
    qapp.processEvents()
    time.sleep(0.01)
"""


@expect_logs(HELD_BATCHES_ADOPTED)
def test_data_held_during_the_resume_question_survive_a_kill(qtbot: QtBot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    journal_dir = tmp_path / "journal"
    engine = make_engine(url)
    repo = SessionRepository(engine)
    repo.upgrade()
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    sid = repo.create_session(chair="Chair 1", started_at=t0, simulated=True, device_kind="x")
    engine.dispose()

    # Everything shown is more than a second old when the child dies: journalled.
    line, killed_at = run_then_kill(
        CHILD, [url, str(journal_dir)], work_s=1.0, env={"QT_QPA_PLATFORM": "offscreen"}
    )
    shown = int(line)
    assert shown >= 5

    settings = load(overrides={"storage.db_url": url, "simulator.speed": 1.0}, environ={})
    app = build_app(settings, journal_dir=journal_dir, sound=False)
    qtbot.addWidget(app.window)
    try:
        chair = app.chair
        qtbot.waitUntil(lambda: chair.pending_resume is not None, timeout=15_000)
        assert chair.pending_resume is not None
        assert chair.pending_resume.id == sid  # still unanswered: asked again
        chair.decide_resume(True, user="rn1")
        assert chair.session_id == sid
        assert app.writer.flush()
        hr = [r for r in app.repository.readings(sid) if r.parameter == Metric.HR.value]
        before_kill = [r for r in hr if r.received_at <= killed_at]
        assert len(before_kill) >= shown  # the killed run's readings are in the record
        assert len({r.received_at for r in before_kill}) == len(before_kill)  # none twice
    finally:
        app.shutdown()
