"""Issue 11 item 11: a resumed session's stored gap always runs forward in time, on SQLite and
PostgreSQL, even when the resuming clock is behind the stored data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from console.domain.session import EventKind, SessionEvent
from console.storage.repository import SessionRepository
from console.storage.writer import ReadingsItem, StorageWriter
from tests.console.storage.test_record import _readings, at


def test_a_clock_behind_the_record_resumes_at_its_end(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    sid = repo.create_session(chair="Chair 1", started_at=at(0), simulated=True, device_kind="x")
    assert repo.last_stored_at(sid) is None
    writer = StorageWriter(migrated)
    writer.start()
    try:
        writer.submit(ReadingsItem(sid, _readings(5, start_s=10 * 60)))  # 10:00-10:04 min
        assert writer.flush()
    finally:
        writer.stop()
    repo.record_event(sid, SessionEvent(EventKind.NOTE.value, at(11), "rn1", text="last step"))
    assert repo.last_stored_at(sid) == at(11)

    repo.resume_session(sid, at=at(5), by="rn1")  # the restarted clock is 6 minutes behind

    resumed = repo.events(sid)[-1]
    assert resumed.kind == EventKind.RESUMED
    assert resumed.at >= at(11)
    start, end = (datetime.fromisoformat(t) for t in resumed.text.split("from ")[1].split(" to "))
    assert start <= end
