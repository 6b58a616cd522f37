"""Stored rows: readings, alarms and technical events reach SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from console.config import load
from console.domain.alarms import AlarmEngine, AlarmPolicy, AlarmTimings, ThresholdProfile
from console.storage.engine import StorageConfigError, make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import AlarmItem, ReadingsItem, StorageWriter, TechnicalItem
from devices.model import (
    METRIC_UNITS,
    Metric,
    Reading,
    ReadingFlag,
    TechnicalEvent,
    TechnicalEventKind,
)

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _reading(metric: Metric, value: float | None, s: float, *, valid: bool = True) -> Reading:
    return Reading(
        metric,
        value,
        METRIC_UNITS[metric],
        T0 + timedelta(seconds=s),
        device_time=T0 + timedelta(seconds=s - 0.5),
        valid=valid,
        flags=() if valid else (ReadingFlag.NOT_UPDATED,),
    )


def test_writer_stores_readings_alarms_and_events(engine: Engine) -> None:
    repo = SessionRepository(engine)
    repo.ensure_schema()
    sid = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=True, device_kind="ge-datex"
    )
    # The default tiers, judged at once: no repeat request, no latch, so the stored episode is
    # onset -> escalated -> end.
    policy = load(environ={}).alarm_policy
    instant = AlarmPolicy(
        tuple(replace(r, confirm=False, confirmed_priority=None) for r in policy.rules)
    )
    alarms = AlarmEngine(ThresholdProfile(policy=instant, timings=AlarmTimings(latch_high=False)))
    writer = StorageWriter(engine)
    writer.start()
    try:
        sys_values = [150, 185, 205, 150]
        for i, v in enumerate(sys_values):
            batch = [_reading(Metric.NIBP_SYS, v, i * 60), _reading(Metric.HR, 70 + i, i * 60)]
            writer.submit(ReadingsItem(sid, tuple(batch)))
            for ev in alarms.process_readings(batch, batch[0].received_at):
                writer.submit(AlarmItem(sid, ev))
        writer.submit(ReadingsItem(sid, (_reading(Metric.SPO2, None, 300, valid=False),)))
        writer.submit(
            TechnicalItem(sid, TechnicalEvent(TechnicalEventKind.QUIET, T0, "no data for 5 s"))
        )
        assert writer.flush()
    finally:
        writer.stop()
    repo.end_session(sid, T0 + timedelta(minutes=5))

    readings = repo.readings(sid)
    assert len(readings) == 9
    sbp = [r.value for r in repo.readings(sid, "NIBP_SYS")]
    assert sbp == sys_values
    invalid = repo.readings(sid, "SPO2")[0]
    assert (invalid.value, invalid.valid, invalid.flags) == (None, False, "not_updated")
    assert readings[0].received_at == T0
    assert readings[0].device_time == T0 - timedelta(seconds=0.5)

    (alarm,) = repo.alarms(sid)
    assert alarm.parameter == "NIBP_SYS"
    assert alarm.priority == "high"  # highest priority reached is kept
    assert alarm.onset_at == T0 + timedelta(seconds=60)
    assert alarm.ended_at == T0 + timedelta(seconds=180)
    with engine.connect() as conn:
        log_kinds = [k for (k,) in conn.execute(text("SELECT kind FROM alarm_log ORDER BY id"))]
    assert log_kinds == ["onset", "escalated", "end"]
    assert repo.technical_events(sid) == [("quiet", "no data for 5 s", T0)]
    (summary,) = repo.list_sessions()
    assert (summary.id, summary.readings, summary.alarms, summary.simulated) == (sid, 9, 1, True)
    assert summary.ended_at == T0 + timedelta(minutes=5)


@pytest.mark.expected_log(
    "storage",
    r"^storage: database unavailable: OperationalError: no such table: (readings|audit_head) "
    r"\(held in memory only: lost if this process ends\)$",
)
def test_writer_keeps_items_while_database_is_unavailable(tmp_path) -> None:
    """A missing table stands in for an unreachable database: nothing is lost, it catches up."""
    url = f"sqlite:///{tmp_path / 'late.sqlite3'}"
    engine = make_engine(url)
    statuses: list[bool] = []
    writer = StorageWriter(engine, on_status=lambda ok, _d: statuses.append(ok))
    writer.start()
    try:
        writer.submit(ReadingsItem(1, (_reading(Metric.HR, 72, 0),)))
        assert not writer.flush(timeout_s=1.0)  # cannot write yet
        repo = SessionRepository(engine)
        repo.ensure_schema()
        repo.create_session(chair="c", started_at=T0, simulated=False, device_kind="ge-datex")
        assert writer.flush(timeout_s=10.0)
    finally:
        writer.stop()
        engine.dispose()
    assert statuses == [False, True]
    assert [r.value for r in SessionRepository(make_engine(url)).readings(1)] == [72]


@pytest.mark.parametrize("url", ["not a url", "mysql+nosuchdriver://x/y"])
def test_bad_database_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(StorageConfigError):
        make_engine(url)


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()
