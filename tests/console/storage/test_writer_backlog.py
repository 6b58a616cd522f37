"""The writer's memory is bounded at any speed (issue 14).

At x60 the writer's queue grew by about 330 items/s without bound, and closing the window then
took 45-65 s.  A writer whose database is slower than its producers spills to its journal,
raises RECORDING FALLING BEHIND, and later writes everything exactly once, in order.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from console.domain.alarm_technical import RECORDING_BEHIND
from console.storage import writer as writer_module
from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository
from console.storage.schema import ReadingRow
from console.storage.writer import ReadingsItem, StorageWriter
from devices.model import METRIC_UNITS, Metric, Reading

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
#: Seconds the slow database takes per row written: 5,000 rows (1,250 items) a second.
SLOW_ROW_S = 0.0002
#: Items a second the test feeds: more than twice what the slow database takes.
FEED_PER_S = 3_000
BOUND = 2_000
ITEMS = 9_000
READINGS_PER_ITEM = 4


@pytest.fixture
def slow_db(tmp_path: Path) -> Any:
    """A SQLite database that sleeps per row written while the event it yields is set."""
    engine = make_engine(f"sqlite:///{tmp_path / 'slow.sqlite3'}")
    upgrade_to_head(engine)
    slow = threading.Event()

    def sleep(
        _conn: object,
        _cursor: object,
        _statement: str,
        parameters: object,
        _context: object,
        executemany: bool,
    ) -> None:
        if slow.is_set():
            rows = len(parameters) if executemany and isinstance(parameters, list) else 1
            time.sleep(SLOW_ROW_S * rows)

    event.listen(engine, "before_cursor_execute", sleep)
    yield engine, slow
    engine.dispose()


def _item(sid: int, n: int) -> ReadingsItem:
    first = n * READINGS_PER_ITEM
    return ReadingsItem(
        sid,
        tuple(
            Reading(Metric.HR, float(v), METRIC_UNITS[Metric.HR], T0 + timedelta(seconds=v))
            for v in range(first, first + READINGS_PER_ITEM)
        ),
    )


def test_a_writer_fed_faster_than_its_database_stays_bounded_and_loses_nothing(
    slow_db: tuple[Engine, threading.Event], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, slow = slow_db
    monkeypatch.setattr(writer_module, "MAX_QUEUED", BOUND, raising=False)
    sid = SessionRepository(engine).create_session(
        chair="c", started_at=T0, simulated=True, device_kind="x"
    )
    statuses: list[tuple[bool, str]] = []
    writer = StorageWriter(
        engine, journal_dir=tmp_path / "j", on_status=lambda ok, d: statuses.append((ok, d))
    )
    slow.set()
    writer.start()
    most_waiting = 0
    try:
        t0 = time.monotonic()
        for n in range(ITEMS):
            writer.submit(_item(sid, n))
            if n % 50 == 49:
                most_waiting = max(most_waiting, writer.waiting)
                time.sleep(max(0.0, t0 + (n + 1) / FEED_PER_S - time.monotonic()))
        behind = [d for ok, d in statuses if not ok]
        slow.clear()
        assert writer.flush(timeout_s=60.0), "not stored within 60 s of the feed's end"
    finally:
        writer.stop()
    assert most_waiting <= BOUND, f"{most_waiting} items waited in memory (bound {BOUND})"
    assert writer.spill_episodes >= 1
    assert writer.over_bound == 0  # room was made by spilling, not by queueing past the bound
    assert behind, "no technical alarm while the database fell behind"
    assert behind[0].startswith(RECORDING_BEHIND)
    assert statuses[-1] == (True, "")  # caught up: the alarm ended
    with engine.connect() as conn:
        values = conn.scalars(
            select(ReadingRow.value).where(ReadingRow.session_id == sid).order_by(ReadingRow.id)
        ).all()
    assert values == [float(v) for v in range(ITEMS * READINGS_PER_ITEM)]  # once, in order
