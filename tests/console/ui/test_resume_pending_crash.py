"""A console killed while "resume?" waits for the nurse loses nothing (issue 12, item 6).

The chair monitors while the question is open; its data used to wait in memory and died with
the process (39 s and 25 s lost).  Now they are journalled from the first second and go into
the record the nurse chooses at the next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import build_app
from console.config import load
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from devices.model import Metric

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[3]

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


def test_data_held_during_the_resume_question_survive_a_kill(qtbot: QtBot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'console.sqlite3'}"
    journal_dir = tmp_path / "journal"
    engine = make_engine(url)
    repo = SessionRepository(engine)
    repo.upgrade()
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    sid = repo.create_session(chair="Chair 1", started_at=t0, simulated=True, device_kind="x")
    engine.dispose()

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(journal_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"},
    )
    try:
        assert child.stdout is not None
        shown = int(child.stdout.readline())
        time.sleep(1.0)  # everything shown is more than a second old: journalled
        killed_at = datetime.now(UTC)
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert shown >= 5

    settings = load(overrides={"storage.db_url": url, "simulator.speed": 1.0}, environ={})
    app = build_app(settings, journal_dir=journal_dir, sound=False)
    qtbot.addWidget(app.window)
    try:
        chair = app.chair
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
