"""The session record on both backends: patients, lifecycle, annotations, trends, resume."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from console.domain.alarms import AlarmEventKind, Direction, Priority
from console.domain.session import EventKind, Phase, SessionLifecycle, SessionPolicy
from console.storage.engine import make_engine
from console.storage.repository import (
    DuplicatePatientError,
    SessionAlreadyEndedError,
    SessionRepository,
    UnknownSessionError,
)
from console.storage.schema import ReadingRow, WriteBatchRow
from console.storage.writer import (
    AlarmItem,
    ProfileChangeItem,
    ReadingsItem,
    SessionEndItem,
    SessionEventItem,
    StorageWriter,
)
from devices.model import METRIC_UNITS, Metric, Reading

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _readings(n: int, start_s: float = 0.0) -> tuple[Reading, ...]:
    return tuple(
        Reading(
            Metric.HR, 60.0 + i % 40, METRIC_UNITS[Metric.HR], T0 + timedelta(seconds=start_s + i)
        )
        for i in range(n)
    )


def test_patients_series_numbers_and_chairs(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    pid = repo.add_patient(
        "MRN-001",
        "J.D.",
        date_of_birth=date(1980, 5, 1),
        weight_kg=80.0,
        weight_measured_on=date(2026, 2, 20),
    )
    with pytest.raises(DuplicatePatientError):
        repo.add_patient("MRN-001")
    patient = repo.patient("MRN-001")
    assert patient is not None
    assert (patient.id, patient.display_name, patient.weight_kg) == (pid, "J.D.", 80.0)
    repo.record_weight(pid, 81.5, date(2026, 3, 1))
    assert repo.patient("MRN-001").weight_kg == 81.5  # type: ignore[union-attr]
    ids = [
        repo.create_session(
            chair=f"Chair {i % 2 + 1}",
            started_at=at(i),
            simulated=False,
            device_kind="ge-datex",
            patient_id=pid,
        )
        for i in range(3)
    ]
    anon = repo.create_session(
        chair="Chair 1", started_at=at(5), simulated=True, device_kind="ge-datex"
    )
    assert [repo.session(i).series_number for i in ids] == [1, 2, 3]
    assert repo.session(anon).series_number is None
    assert repo.chair_id("Chair 1") == repo.chair_id("Chair 1")
    listed = {s.id: s for s in repo.list_sessions()}
    assert listed[ids[0]].patient == "MRN-001"
    assert listed[anon].patient is None
    with pytest.raises(UnknownSessionError):
        repo.session(9999)


def test_lifecycle_is_persisted_and_rebuilt(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    sid = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=False, device_kind="ge-datex"
    )
    policy = SessionPolicy(observation_min=30)
    life = SessionLifecycle(policy)
    from console.domain.session import BaselineVitals

    life.record_baseline(BaselineVitals(at(0), 185, 100, 80, 98), author="rn1")
    life.physician_override(at(2), physician="Dr A", reason="benefit outweighs risk")
    life.plan_infusion(
        at(3),
        weight_kg=70,
        weight_measured_on=date(2026, 2, 28),
        dose_mg_per_kg=0.5,
        rate_ml_per_h=90,
    )
    life.start_infusion(at(5), author="rn1")
    life.change_rate(at(20), rate_ml_per_h=60, author="Dr A", reason="BP 190/105")
    life.annotate(EventKind.DISSOCIATION, at(21), author="rn1", score=14.0, text="CADSS-6")
    life.stop_infusion(at(45), author="rn1", reason="completed", dose_given_mg=33.0)
    life.begin_discharge(at(75), author="rn1")
    life.check_discharge_item(
        at(76), item="escort_present", passed=True, author="rn1", note="spouse"
    )
    writer = StorageWriter(migrated)
    writer.start()
    try:
        for ev in life.events:
            writer.submit(SessionEventItem(sid, ev))
        assert writer.flush()
    finally:
        writer.stop()
    record = repo.session(sid)
    assert record.phase == Phase.DISCHARGE.value
    assert (record.weight_kg, record.dose_mg_per_kg, record.dose_mg) == (70.0, 0.5, 35.0)
    assert record.rate_ml_per_h == 60.0  # the rate change reached the header
    events = repo.events(sid)
    assert [e.kind for e in events] == [e.kind for e in life.events]
    override = events[1]
    assert (override.author, override.reason) == ("Dr A", "benefit outweighs risk")
    assert events[5].score == 14.0
    assert repo.discharge_checks(sid) == [("escort_present", True, at(76), "rn1", "spouse")]
    again = repo.lifecycle(sid, policy)
    assert (again.phase, again.infusion, again.plan) == (life.phase, life.infusion, life.plan)
    # a synchronous step through the repository continues the same timeline
    step = again.check_discharge_item(at(77), item="vitals_stable", passed=False, author="rn1")
    repo.record_event(sid, step)
    assert repo.events(sid)[-1].data == {"item": "vitals_stable", "passed": False}


@dataclass(frozen=True)
class _NewAlarmEvent:
    """The shape another engineer is adding: more kinds, and who acted."""

    kind: enum.Enum | str
    key: str
    metric: Metric
    direction: Direction
    priority: Priority
    value: float | None
    limit: float | None
    at: datetime
    message: str
    actor: str | None = None


class _Kind(enum.StrEnum):
    ACKNOWLEDGED = "acknowledged"
    AUDIO_PAUSED = "audio_paused"


def test_alarm_log_keeps_actor_and_unknown_kinds(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    sid = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=True, device_kind="ge-datex"
    )

    def ev(kind: enum.Enum | str, minutes: float, actor: str | None = None) -> _NewAlarmEvent:
        return _NewAlarmEvent(
            kind,
            "NIBP_SYS:high",
            Metric.NIBP_SYS,
            Direction.HIGH,
            Priority.HIGH,
            205.0,
            200.0,
            at(minutes),
            "SBP 205 >= 200",
            actor,
        )

    writer = StorageWriter(migrated)
    writer.start()
    try:
        for item in (
            ev(AlarmEventKind.ONSET, 1),
            ev(_Kind.ACKNOWLEDGED, 2, "rn1"),
            ev(_Kind.AUDIO_PAUSED, 3, "rn2"),
            ev("totally_new_kind", 4),
            ev(AlarmEventKind.END, 5),
        ):
            writer.submit(AlarmItem(sid, item))  # type: ignore[arg-type]
        assert writer.flush()
    finally:
        writer.stop()
    log = repo.alarm_log(sid)
    assert [(x.kind, x.actor) for x in log] == [
        ("onset", None),
        ("acknowledged", "rn1"),
        ("audio_paused", "rn2"),
        ("totally_new_kind", None),
        ("end", None),
    ]
    (alarm,) = repo.alarms(sid)
    assert (alarm.onset_at, alarm.ended_at) == (at(1), at(5))


def test_trends_and_review(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    sid = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=True, device_kind="ge-datex"
    )
    writer = StorageWriter(migrated)
    writer.start()
    try:
        writer.submit(ReadingsItem(sid, _readings(30)))
        writer.submit(
            ReadingsItem(
                sid,
                (
                    Reading(Metric.SPO2, None, "%", T0, valid=False),
                    Reading(Metric.SPO2, 97.0, "%", at(1)),
                ),
            )
        )
        writer.submit(
            ProfileChangeItem(at(2), "Dr A", "first session", '{"SBP": 180}', '{"SBP": 170}', sid)
        )
        writer.submit(SessionEndItem(sid, at(3)))
        assert writer.flush()
    finally:
        writer.stop()
    trends = repo.trends(sid)
    assert set(trends) == {"HR", "SPO2"}
    assert trends["HR"].value.tolist() == [60.0 + i for i in range(30)]
    assert trends["HR"].t[-1] - trends["HR"].t[0] == pytest.approx(29.0, abs=1e-3)
    assert np.isnan(trends["SPO2"].value[0])  # invalid reading kept, but not as a value
    assert trends["SPO2"].value[1] == 97.0
    review = repo.load_review(sid)
    assert review.session.ended_at == at(3)
    assert set(review.trends) == {"HR", "SPO2"}
    (change,) = repo.profile_changes(sid)
    assert (change["actor"], change["reason"], change["new_json"]) == (
        "Dr A",
        "first session",
        '{"SBP": 170}',
    )


def test_unfinished_sessions_and_resume(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    done = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=False, device_kind="ge-datex"
    )
    repo.end_session(done, at(60))
    crashed = repo.create_session(
        chair="Chair 1", started_at=at(70), simulated=False, device_kind="ge-datex"
    )
    repo.create_session(chair="Chair 2", started_at=at(71), simulated=False, device_kind="ge-datex")
    writer = StorageWriter(migrated)
    writer.start()
    try:
        writer.submit(ReadingsItem(crashed, _readings(5, start_s=70 * 60)))
        assert writer.flush()
    finally:
        writer.stop()
    assert [s.id for s in repo.unfinished_sessions("Chair 1")] == [crashed]
    resumed = repo.resume_session(crashed, at=at(80), by="rn1")
    assert resumed.resumed
    assert resumed.ended_at is None
    note = repo.events(crashed)[-1]
    assert note.kind == "resumed"
    assert "no data from 2026-03-01T10:10:04+00:00 to 2026-03-01T10:20:00+00:00" in note.text
    with pytest.raises(SessionAlreadyEndedError):
        repo.resume_session(done)
    with pytest.raises(UnknownSessionError):
        repo.resume_session(12345)


def test_batch_markers_do_not_pile_up(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    sid = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=True, device_kind="ge-datex"
    )
    writer = StorageWriter(migrated, batch_interval_s=0.01)
    writer.start()
    try:
        for i in range(20):
            writer.submit(ReadingsItem(sid, _readings(1, start_s=i)))
            assert writer.flush()
    finally:
        writer.stop()
    with migrated.connect() as conn:
        markers = conn.scalar(select(func.count()).select_from(WriteBatchRow))
    assert markers is not None
    assert markers <= 1  # only the newest batch's marker is left


def test_two_writers_concurrently(db_url: str, migrated: Engine) -> None:
    """Several consoles writing to one (PostgreSQL) server at once: every row, once."""
    repo = SessionRepository(migrated)
    n_writers, n_batches, per_batch = 2, 40, 16
    sids = [
        repo.create_session(
            chair=f"Chair {w}", started_at=T0, simulated=True, device_kind="ge-datex"
        )
        for w in range(n_writers)
    ]
    engines = [make_engine(db_url) for _ in range(n_writers)]
    writers = [StorageWriter(e, batch_interval_s=0.02) for e in engines]
    for w in writers:
        w.start()
    go = threading.Event()

    def produce(w: int) -> None:
        go.wait()
        for b in range(n_batches):
            writers[w].submit(ReadingsItem(sids[w], _readings(per_batch, start_s=b * per_batch)))
            # chairs register themselves concurrently too (ON CONFLICT DO NOTHING)
            SessionRepository(engines[w]).chair_id("Shared chair")

    threads = [
        threading.Thread(target=produce, args=(w,), name=f"producer-{w}") for w in range(n_writers)
    ]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join(30)
    try:
        assert all(w.flush(30) for w in writers)
    finally:
        for w in writers:
            w.stop()
        for e in engines:
            e.dispose()
    with migrated.connect() as conn:
        for sid in sids:
            n = conn.scalar(
                select(func.count()).select_from(ReadingRow).where(ReadingRow.session_id == sid)
            )
            distinct = conn.scalar(
                select(func.count(func.distinct(ReadingRow.received_at))).where(
                    ReadingRow.session_id == sid
                )
            )
            assert (n, distinct) == (n_batches * per_batch, n_batches * per_batch)
