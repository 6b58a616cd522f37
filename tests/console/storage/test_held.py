"""Data of a chair with no record yet are journalled from the first second (issue 12, item 6).

While the nurse has not answered "resume?" (or the database is away at start) a chair's data
used to wait in memory only; a crash at that moment lost them (39 s and 25 s measured).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository
from console.storage.schema import WriteBatchRow
from console.storage.writer import (
    HELD_SESSION_ID,
    AdoptHeldItem,
    HeldItem,
    ReadingsItem,
    StorageWriter,
)
from devices.model import METRIC_UNITS, Metric, Reading
from tests.child_kill import run_then_kill
from tests.expected_logs import HELD_BATCHES_ADOPTED, expect_logs

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

#: A console holding one chair's readings at 50 Hz (the record not chosen yet) until killed.
CHILD = r"""
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from console.storage.engine import make_engine
from console.storage.writer import HELD_SESSION_ID, HeldItem, ReadingsItem, StorageWriter
from devices.model import METRIC_UNITS, Metric, Reading

url, journal_dir = sys.argv[1], Path(sys.argv[2])
writer = StorageWriter(make_engine(url), journal_dir=journal_dir)
writer.start()
i = 0
while True:
    r = Reading(Metric.HR, float(i), METRIC_UNITS[Metric.HR], datetime.now(UTC))
    writer.submit(HeldItem("Chair 1", ReadingsItem(HELD_SESSION_ID, (r,))))
    if i == 10:
        writer.flush()
        print("ready", flush=True)
    i += 1
    time.sleep(0.02)
"""


def _hr(i: int) -> Reading:
    return Reading(Metric.HR, float(i), METRIC_UNITS[Metric.HR], T0 + timedelta(seconds=i))


@expect_logs(HELD_BATCHES_ADOPTED)
def test_held_readings_survive_a_kill_and_go_to_the_record_chosen_next(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    journal_dir = tmp_path / "journal"
    engine = make_engine(url)
    upgrade_to_head(engine)
    repo = SessionRepository(engine)
    sid = repo.create_session(
        chair="Chair 1", started_at=datetime.now(UTC), simulated=True, device_kind="x"
    )
    ready, killed_at = run_then_kill(CHILD, [url, str(journal_dir)], work_s=3.0)
    assert ready == "ready"
    assert repo.readings(sid) == []  # held, not in any record yet

    # The next start: the nurse chose the record (resume or new); the held data go first.
    writer = StorageWriter(engine, journal_dir=journal_dir)
    writer.start()
    try:
        writer.submit(AdoptHeldItem("Chair 1", sid))
        after = Reading(Metric.HR, 100_000.0, METRIC_UNITS[Metric.HR], datetime.now(UTC))
        writer.submit(ReadingsItem(sid, (after,)))
        assert writer.flush()
    finally:
        writer.stop()
    values = [r.value for r in repo.readings(sid)]
    held = values[:-1]
    assert held == [float(i) for i in range(len(held))]  # no hole, nothing twice, in order
    assert values[-1] == 100_000.0  # what came after the answer comes after them
    stored = repo.readings(sid)[:-1]
    assert stored[-1].received_at >= killed_at - timedelta(seconds=1)  # loses < 1 s
    assert len(held) >= 100
    with engine.connect() as conn:  # the held copies are gone, so are their markers
        assert (conn.scalar(select(func.count()).select_from(WriteBatchRow)) or 0) <= 1
    assert all(p.stat().st_size == 0 for p in journal_dir.glob("held-*.jsonl"))
    engine.dispose()


@expect_logs(HELD_BATCHES_ADOPTED)
@pytest.mark.expected_log("storage", r"^chair c: 3 held batches kept in \S+ for its next record$")
def test_held_batches_are_applied_once_even_if_adopted_twice(tmp_path: Path) -> None:
    """A crash after the held batches were committed but before the spool was emptied:
    adopting them again (the next start) writes nothing twice."""
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    repo = SessionRepository(engine)
    sid = repo.create_session(chair="c", started_at=T0, simulated=True, device_kind="x")
    journal_dir = tmp_path / "journal"

    class _CrashBeforeClear(StorageWriter):
        def _adopt(self, adopt: AdoptHeldItem) -> None:
            clear = self._held.clear
            self._held.clear = lambda chair: None  # type: ignore[method-assign]
            try:
                super()._adopt(adopt)
            finally:
                self._held.clear = clear  # type: ignore[method-assign]

    writer: StorageWriter = _CrashBeforeClear(engine, journal_dir=journal_dir)
    writer.start()
    try:
        for i in range(3):
            writer.submit(HeldItem("c", ReadingsItem(HELD_SESSION_ID, (_hr(i),))))
            assert writer.flush()
        writer.submit(AdoptHeldItem("c", sid))
        assert writer.flush()
    finally:
        writer.stop()
    assert [r.value for r in repo.readings(sid)] == [0.0, 1.0, 2.0]
    writer = StorageWriter(engine, journal_dir=journal_dir)
    writer.start()
    try:
        writer.submit(AdoptHeldItem("c", sid))
        assert writer.flush()
    finally:
        writer.stop()
    assert [r.value for r in repo.readings(sid)] == [0.0, 1.0, 2.0]
    engine.dispose()


def test_a_new_record_starts_with_the_data_held_before_it(tmp_path: Path) -> None:
    """'Start new' after a crash: the record opened now also takes the crashed run's held
    data, so it starts with them (a resumed record, older than them, keeps its start)."""
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    repo = SessionRepository(engine)
    resumed = repo.create_session(
        chair="c", started_at=T0 - timedelta(hours=1), simulated=True, device_kind="x"
    )
    new = repo.create_session(
        chair="c", started_at=T0 + timedelta(minutes=5), simulated=True, device_kind="x"
    )
    writer = StorageWriter(engine, journal_dir=tmp_path / "journal")
    writer.start()
    try:
        for sid in (resumed, new):
            writer.submit(HeldItem("c", ReadingsItem(HELD_SESSION_ID, (_hr(0), _hr(1)))))
            writer.submit(AdoptHeldItem("c", sid))
            assert writer.flush()
    finally:
        writer.stop()
    assert repo.session(new).started_at == T0
    assert repo.session(resumed).started_at == T0 - timedelta(hours=1)
    assert [r.value for r in repo.readings(new)] == [0.0, 1.0]
    engine.dispose()
