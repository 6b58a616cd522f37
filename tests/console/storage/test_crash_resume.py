"""kill -9 in the middle of a session: everything older than 1 s is stored, and it resumes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository
from console.storage.writer import ReadingsItem, StorageWriter
from devices.model import METRIC_UNITS, Metric, Reading
from tests.child_kill import run_then_kill

#: The child: one chair's readings at 50 Hz (each stamped when submitted) through the real
#: StorageWriter, until it is killed.
CHILD = r"""
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from console.storage.engine import make_engine
from console.storage.writer import ReadingsItem, StorageWriter
from devices.model import METRIC_UNITS, Metric, Reading

url, journal_dir, sid = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
writer = StorageWriter(make_engine(url), journal_dir=journal_dir)
writer.start()
i = 0
while True:
    r = Reading(Metric.HR, float(i), METRIC_UNITS[Metric.HR], datetime.now(UTC))
    writer.submit(ReadingsItem(sid, (r,)))
    if i == 10:
        writer.flush()
        print("ready", flush=True)
    i += 1
    time.sleep(0.02)
"""


@pytest.mark.slow
def test_sigkill_mid_session_then_resume(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    journal_dir = tmp_path / "journal"
    engine = make_engine(url)
    upgrade_to_head(engine)
    repo = SessionRepository(engine)
    t0 = datetime.now(UTC)
    sid = repo.create_session(chair="Chair 3", started_at=t0, simulated=True, device_kind="x")

    ready, killed_at = run_then_kill(CHILD, [url, str(journal_dir), str(sid)], work_s=3.0)
    assert ready == "ready"

    # The next start: a writer replays whatever the dead one had journalled.
    writer = StorageWriter(engine, journal_dir=journal_dir)
    writer.start()
    try:
        assert writer.flush()
        stored = repo.readings(sid)
        values = [r.value for r in stored]
        # No holes, no duplicates: reading i was submitted before reading i+1.
        assert values == [float(i) for i in range(len(values))]
        # Loses at most the last second: every reading submitted > 1 s before the kill is there.
        assert stored[-1].received_at >= killed_at - timedelta(seconds=1)
        assert len(values) >= 100  # ~3 s at 50 Hz

        (unfinished,) = repo.unfinished_sessions("Chair 3")
        assert unfinished.id == sid
        resumed = repo.resume_session(sid, by="rn1")
        assert resumed.resumed
        assert repo.events(sid)[-1].kind == "resumed"
        n = len(values)
        more = tuple(
            Reading(Metric.HR, float(n + i), METRIC_UNITS[Metric.HR], datetime.now(UTC))
            for i in range(5)
        )
        writer.submit(ReadingsItem(sid, more))
        assert writer.flush()
    finally:
        writer.stop()
    assert [r.value for r in repo.readings(sid)][-5:] == [float(n + i) for i in range(5)]
    assert repo.list_sessions()[0].resumed
    engine.dispose()
