"""The writer keeps the record through bad rows and its own failures (issue 12, items 4, 5, 16).

- One value the database cannot take costs that value (or that row), never its batch.
- A failure of the writer loop is reported at once and the loop restarted; nothing is lost.
- Logs and status messages never carry patient values.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from console.domain.alarms import AlarmEvent, AlarmEventKind, Direction, Priority
from console.storage import writer as writer_module
from console.storage.journal import Batch, journal_key
from console.storage.repository import SessionRepository
from console.storage.validate import RECORD_ERROR
from console.storage.writer import (
    AlarmItem,
    ReadingsItem,
    StorageWriter,
    TechnicalItem,
)
from devices.model import METRIC_UNITS, Metric, Reading, TechnicalEvent, TechnicalEventKind
from tests.expected_logs import BATCH_REFUSED, expect_logs

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
#: An HL7 time stamp at the edge of the range (``99991231235959-1200``): year 10000 in UTC.
EDGE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12)))
#: A value that must not show up in any log line.
SECRET_VALUE = 123.456


def _hr(value: float, s: float, device_time: datetime | None = None) -> Reading:
    at = T0 + timedelta(seconds=s)
    return Reading(Metric.HR, value, METRIC_UNITS[Metric.HR], at, device_time=device_time or at)


def _session(engine: Engine) -> int:
    return SessionRepository(engine).create_session(
        chair="c", started_at=T0, simulated=True, device_kind="x"
    )


def _onset(s: float) -> AlarmEvent:
    return AlarmEvent(
        AlarmEventKind.ONSET,
        "HR:high",
        Metric.HR,
        Direction.HIGH,
        Priority.MEDIUM,
        131.0,
        120.0,
        T0 + timedelta(seconds=s),
        "HR 131 >= 120",
    )


def test_an_edge_device_time_costs_that_field_not_the_batch(
    migrated: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sid = _session(migrated)
    statuses: list[tuple[bool, str]] = []
    writer = StorageWriter(
        migrated, journal_dir=tmp_path / "j", on_status=lambda ok, d: statuses.append((ok, d))
    )
    writer.start()
    try:
        # One batch: good readings, the edge time stamp, and an alarm transition.
        writer.submit(ReadingsItem(sid, (_hr(70, 0), _hr(SECRET_VALUE, 1, EDGE), _hr(72, 2))))
        writer.submit(AlarmItem(sid, _onset(2)))
        assert writer.flush()
    finally:
        writer.stop()
    repo = SessionRepository(migrated)
    readings = repo.readings(sid)
    assert [r.value for r in readings] == [70.0, SECRET_VALUE, 72.0]
    assert readings[1].device_time is None  # the value is kept, the impossible time is not
    assert readings[0].device_time == T0
    assert [a.condition for a in repo.alarms(sid)] == ["HR:high"]
    (event,) = [e for e in repo.technical_events(sid) if e[0] == RECORD_ERROR]
    assert "device time" in event[1]
    assert str(SECRET_VALUE) not in event[1]
    assert statuses == []  # nothing was lost: no "not recorded"
    assert writer.rows_isolated == 0


def test_a_row_the_database_refuses_is_isolated_and_the_rest_stored(
    migrated: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sid = _session(migrated)
    statuses: list[tuple[bool, str]] = []
    journal_dir = tmp_path / "j"
    writer = StorageWriter(
        migrated, journal_dir=journal_dir, on_status=lambda ok, d: statuses.append((ok, d))
    )
    writer.start()
    try:
        with caplog.at_level(logging.INFO, logger="storage"):
            writer.submit(ReadingsItem(sid, (_hr(70, 0), _hr(71, 1))))
            # A row of a session that does not exist: the database refuses it (foreign key).
            writer.submit(ReadingsItem(999, (_hr(SECRET_VALUE, 1),)))
            writer.submit(AlarmItem(sid, _onset(1)))
            writer.submit(ReadingsItem(sid, (_hr(72, 2),)))
            assert writer.flush()
            writer.submit(ReadingsItem(sid, (_hr(73, 3),)))
            assert writer.flush()
    finally:
        writer.stop()
    repo = SessionRepository(migrated)
    assert [r.value for r in repo.readings(sid)] == [70.0, 71.0, 72.0, 73.0]
    assert [a.condition for a in repo.alarms(sid)] == ["HR:high"]
    assert writer.rows_isolated == 1
    assert [ok for ok, _d in statuses] == [False, True]  # "not recorded" said, then cleared
    assert "could not be stored" in statuses[0][1]
    (aside,) = journal_dir.glob("rejected-*.jsonl")
    assert aside.stat().st_mode & 0o777 == 0o600
    assert str(SECRET_VALUE) in aside.read_text()  # kept for the engineer, on disk, private
    # ... and never in a log line or a status message (issue 12, item 16).
    assert str(SECRET_VALUE) not in caplog.text
    assert "parameters" not in caplog.text
    assert "INSERT" not in caplog.text
    assert all(str(SECRET_VALUE) not in d for _ok, d in statuses)


@expect_logs(BATCH_REFUSED)
@pytest.mark.expected_log(
    "storage", r"^storage: cannot keep batch \w+ aside in \S+: \[Errno 21\] Is a directory"
)
@pytest.mark.expected_log(
    "storage",
    r"^storage: 1 row\(s\) could not be stored \(lost: cannot write "
    r"rejected-\w+\.jsonl\): the database refused it",
)
def test_a_refused_batch_that_cannot_be_kept_aside_does_not_stop_the_writer(
    migrated: Engine, tmp_path: Path
) -> None:
    """It used to kill the writer thread: every later reading was lost, unseen."""
    sid = _session(migrated)
    journal_dir = tmp_path / "j"
    writer = StorageWriter(migrated, journal_dir=journal_dir)
    journal_dir.mkdir()
    (journal_dir / f"rejected-{journal_key(writer._db_label)}.jsonl").mkdir()  # unwritable
    writer.start()
    try:
        writer.submit(ReadingsItem(999, (_hr(1, 0),)))
        assert writer.flush()
        writer.submit(ReadingsItem(sid, (_hr(70, 1),)))
        assert writer.flush()
        assert writer.is_alive()
    finally:
        writer.stop()
    assert [r.value for r in SessionRepository(migrated).readings(sid)] == [70.0]
    assert writer.restarts == 0


class _DyingOnce(StorageWriter):
    """A writer whose loop fails once, unexpectedly, while it holds a batch."""

    died = False

    def _commit_or_spool(self, batch: Batch, *, held: bool = False) -> bool:
        if not self.died and batch.ops:
            self.died = True
            raise RuntimeError("a bug nobody foresaw")
        return super()._commit_or_spool(batch, held=held)


def test_a_writer_loop_that_stops_is_reported_and_restarted(
    migrated: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sid = _session(migrated)
    reported = threading.Event()
    statuses: list[tuple[bool, str]] = []

    def on_status(ok: bool, detail: str) -> None:
        statuses.append((ok, detail))
        if not ok:
            reported.set()

    writer = _DyingOnce(migrated, journal_dir=tmp_path / "j", on_status=on_status)
    writer.start()
    try:
        with caplog.at_level(logging.ERROR, logger="storage"):
            t0 = time.monotonic()
            writer.submit(ReadingsItem(sid, (_hr(70, 0), _hr(71, 1))))
            assert reported.wait(5.0), "no technical alarm within 5 s"
            assert time.monotonic() - t0 < 5.0
            writer.submit(ReadingsItem(sid, (_hr(72, 2),)))
            assert writer.flush()
    finally:
        writer.stop()
    assert writer.restarts == 1
    assert "stopped unexpectedly; restarted" in statuses[0][1]
    assert statuses[-1][0] is True  # recording again
    # The batch the loop held when it stopped was not lost, nor written twice.
    assert [r.value for r in SessionRepository(migrated).readings(sid)] == [70.0, 71.0, 72.0]


@expect_logs(BATCH_REFUSED)
@pytest.mark.expected_log("storage", r"^storage status callback failed$")
def test_a_failing_status_callback_does_not_stop_the_writer(
    migrated: Engine, tmp_path: Path
) -> None:
    sid = _session(migrated)

    def on_status(_ok: bool, _detail: str) -> None:
        raise RuntimeError("the screen is gone")

    writer = StorageWriter(migrated, journal_dir=tmp_path / "j", on_status=on_status)
    writer.start()
    try:
        writer.submit(ReadingsItem(999, (_hr(1, 0),)))  # refused: reports through on_status
        writer.submit(TechnicalItem(sid, TechnicalEvent(TechnicalEventKind.QUIET, T0)))
        assert writer.flush()
        writer.submit(ReadingsItem(sid, (_hr(70, 1),)))
        assert writer.flush()
    finally:
        writer.stop()
    assert writer.restarts == 0
    assert [r.value for r in SessionRepository(migrated).readings(sid)] == [70.0]


@pytest.mark.expected_log(
    "storage",
    r"^storage: 1 row\(s\) (of batch \w+ not stored \(kept aside\)|could not be stored "
    r"\(kept aside in rejected-\w+\.jsonl\)): alarm_log\.condition is longer than 64 "
    r"characters$",
)
def test_a_text_too_long_for_its_column_is_isolated_on_every_backend(
    migrated: Engine, tmp_path: Path
) -> None:
    """PostgreSQL refuses it (SQLite would store it): screened out before the insert, so the
    record is the same on both, and the rest of the batch is stored."""
    sid = _session(migrated)
    long_key = AlarmEvent(
        AlarmEventKind.ONSET,
        "X" * 80,  # the condition column holds 64 characters
        Metric.HR,
        Direction.HIGH,
        Priority.MEDIUM,
        131.0,
        120.0,
        T0,
        "too long a key",
    )
    writer = StorageWriter(migrated, journal_dir=tmp_path / "j")
    writer.start()
    try:
        writer.submit(ReadingsItem(sid, (_hr(70, 0),)))
        writer.submit(AlarmItem(sid, long_key))
        writer.submit(AlarmItem(sid, _onset(1)))
        assert writer.flush()
    finally:
        writer.stop()
    repo = SessionRepository(migrated)
    assert [r.value for r in repo.readings(sid)] == [70.0]
    assert [a.condition for a in repo.alarms(sid)] == ["HR:high"]
    (event,) = [e for e in repo.technical_events(sid) if e[0] == RECORD_ERROR]
    assert "alarm_log.condition is longer than 64 characters" in event[1]
    assert writer.rows_isolated == 1


class _HangingOnce(StorageWriter):
    """A writer whose database call hangs once (a server that accepts but never answers)."""

    hung = False

    def _commit_or_spool(self, batch: Batch, *, held: bool = False) -> bool:
        if not self.hung and batch.ops:
            self.hung = True
            time.sleep(2.5)
        return super()._commit_or_spool(batch, held=held)


@pytest.mark.expected_log("storage", r"^storage writer loop silent for \d+ s$")
@pytest.mark.expected_log("storage", r"^storage: storage writer not responding for \d+ s$")
def test_a_hung_writer_loop_is_reported(
    migrated: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "STALL_ALARM_S", 1.0)  # 10 s in the console
    sid = _session(migrated)
    statuses: list[tuple[bool, str]] = []
    writer = _HangingOnce(
        migrated, journal_dir=tmp_path / "j", on_status=lambda ok, d: statuses.append((ok, d))
    )
    writer.start()
    try:
        writer.submit(ReadingsItem(sid, (_hr(70, 0),)))
        assert writer.flush()
        writer.submit(ReadingsItem(sid, (_hr(71, 1),)))
        assert writer.flush()
    finally:
        writer.stop()
    assert statuses[0][0] is False
    assert "not responding" in statuses[0][1]
    assert statuses[-1] == (True, "")
    assert writer.restarts == 0
    assert [r.value for r in SessionRepository(migrated).readings(sid)] == [70.0, 71.0]
