"""Realistic stored sessions for the review tests, written through the production write path.

A session is built with the real lifecycle (:class:`SessionLifecycle`) and stored through the
writer's own operations (:func:`apply_ops` of writer items), so the review reads exactly what a
console stores: readings every 5 s (NIBP every 5 min) with a hypertensive surge peaking ~35 min
into the infusion, a communication gap, an SpO2 sensor-off stretch flagged invalid, an SBP alarm
that was acknowledged and ended, a dissociation score and a nausea annotation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine

from console.domain.alarms import AlarmEvent, AlarmEventKind, Direction, Priority
from console.domain.session import BaselineVitals, EventKind, SessionLifecycle, SessionPolicy
from console.storage.repository import SessionRepository
from console.storage.writer import (
    AlarmItem,
    Item,
    ProfileChangeItem,
    ReadingsItem,
    SessionEndItem,
    SessionEventItem,
    TechnicalItem,
    apply_ops,
    item_ops,
)
from devices.model import (
    METRIC_UNITS,
    Metric,
    Reading,
    ReadingFlag,
    TechnicalEvent,
    TechnicalEventKind,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class BuiltSession:
    """Ids and key times of a built session (for assertions)."""

    session_id: int
    started_at: datetime
    infusion_start: datetime
    alarm_onset: datetime
    gap_start: datetime
    gap_end: datetime


def build_session(
    engine: Engine,
    *,
    start: datetime = T0,
    patient_id: int | None = None,
    surge_mmhg: float = 45.0,
    baseline_sbp: float = 132.0,
    ended: bool = True,
    simulated: bool = True,
    chair: str = "Chair 1",
    minutes: float = 95.0,
) -> BuiltSession:
    """Store one complete session and return its id and key times."""
    repo = SessionRepository(engine)
    sid = repo.create_session(
        chair=chair,
        started_at=start,
        simulated=simulated,
        device_kind="ge-datex",
        device_url="socket://127.0.0.1:7001",
        patient_id=patient_id,
    )

    def at(m: float) -> datetime:
        return start + timedelta(minutes=m)

    items: list[Item] = []
    life = SessionLifecycle(SessionPolicy(observation_min=30))
    life.record_baseline(BaselineVitals(at(2), baseline_sbp, 82, 74, 98), author="rn.kim")
    life.plan_infusion(
        at(4),
        weight_kg=72.0,
        weight_measured_on=start.date() - timedelta(days=3),
        dose_mg_per_kg=0.5,
        rate_ml_per_h=60.0,
        author="rn.kim",
    )
    inf = at(10)
    life.start_infusion(inf, author="rn.kim")
    alarm_onset = inf + timedelta(minutes=30)
    life.annotate(EventKind.DISSOCIATION, at(30), author="rn.kim", score=12.0, text="CADSS-6")
    if surge_mmhg >= 40:
        life.change_rate(
            alarm_onset + timedelta(minutes=3),
            rate_ml_per_h=40.0,
            author="dr.lee",
            reason="SBP surge",
        )
    life.annotate(EventKind.NAUSEA, at(44), author="rn.kim", text="mild, no vomiting")
    life.stop_infusion(at(50), author="rn.kim", reason="completed", dose_given_mg=34.0)
    if ended:
        life.begin_discharge(at(85), author="rn.kim")
        for item in SessionPolicy().discharge_items:
            life.check_discharge_item(at(86), item=item, passed=True, author="rn.kim")
        life.close(at(88), author="rn.kim")
    items += [SessionEventItem(sid, e) for e in life.events]

    # readings: continuous every 5 s, NIBP every 5 min
    gap_start, gap_end = at(60), at(63)  # communication lost: nothing stored
    sensor_off = (at(70), at(73))  # SpO2 sent but flagged invalid
    readings: list[Reading] = []
    total_s = int((minutes if ended else 45.0) * 60)

    def surge(m: float) -> float:
        x = m - 10.0  # minutes into the infusion
        return surge_mmhg * math.exp(-(((x - 32.0) / 14.0) ** 2)) if x > 0 else 0.0

    for s in range(0, total_s, 5):
        t = start + timedelta(seconds=s)
        if gap_start <= t < gap_end:
            continue
        m = s / 60.0
        hr = 74 + 0.25 * surge(m) + 2 * math.sin(s / 97.0)
        readings.append(Reading(Metric.HR, round(hr), METRIC_UNITS[Metric.HR], t))
        off = sensor_off[0] <= t < sensor_off[1]
        readings.append(
            Reading(
                Metric.SPO2,
                None if off else 97.0 + (s // 60) % 2,
                METRIC_UNITS[Metric.SPO2],
                t,
                valid=not off,
                flags=(ReadingFlag.SENSOR_OFF,) if off else (),
            )
        )
        readings.append(Reading(Metric.RR, 14.0, METRIC_UNITS[Metric.RR], t))
        if s % 300 == 0:
            sbp = baseline_sbp + surge(m)
            dbp = 82 + 0.55 * surge(m)
            for metric, value in (
                (Metric.NIBP_SYS, sbp),
                (Metric.NIBP_DIA, dbp),
                (Metric.NIBP_MEAN, (sbp + 2 * dbp) / 3),
            ):
                readings.append(Reading(metric, round(value), METRIC_UNITS[metric], t))
    items.append(ReadingsItem(sid, tuple(readings)))
    items.append(
        TechnicalItem(sid, TechnicalEvent(TechnicalEventKind.DISCONNECTED, gap_start, "cable"))
    )
    items.append(
        TechnicalItem(sid, TechnicalEvent(TechnicalEventKind.CONNECTED, gap_end, "cable back"))
    )
    # an SBP alarm at the surge: onset medium, escalated on repeat, acknowledged, ended
    peak_sbp = round(baseline_sbp + surge(40.0))
    if peak_sbp >= 160:

        def alarm(kind: str, when: datetime, prio: Priority, actor: str | None = None) -> AlarmItem:
            ev = AlarmEvent(
                AlarmEventKind(kind),
                "NIBP_SYS:high",
                Metric.NIBP_SYS,
                Direction.HIGH,
                prio,
                float(peak_sbp),
                160.0,
                when,
                f"SBP {peak_sbp} >= 160",
                actor,
            )
            return AlarmItem(sid, ev)

        items += [
            alarm("onset", alarm_onset, Priority.MEDIUM),
            alarm("escalated", alarm_onset + timedelta(minutes=2), Priority.HIGH),
            alarm("acknowledged", alarm_onset + timedelta(minutes=3), Priority.HIGH, "dr.lee"),
        ]
        if ended:
            items.append(alarm("end", alarm_onset + timedelta(minutes=15), Priority.HIGH))
    items.append(
        ProfileChangeItem(
            at=at(3),
            actor="dr.lee",
            reason="first session: tighter SBP limit",
            old_json='{"parameter": "NIBP_SYS", "setting": "high medium", "value": 180}',
            new_json='{"parameter": "NIBP_SYS", "setting": "high medium", "value": 170}',
            session_id=sid,
        )
    )
    if ended:
        items.append(SessionEndItem(sid, at(minutes)))
    with engine.begin() as conn:
        for queued in items:
            apply_ops(conn, item_ops(queued))
    return BuiltSession(sid, start, inf, alarm_onset, gap_start, gap_end)


def build_series(engine: Engine, n: int = 4, mrn: str = "MRN-4711") -> tuple[int, list[int]]:
    """A patient with ``n`` sessions three days apart, the surge shrinking a little each time."""
    repo = SessionRepository(engine)
    pid = repo.add_patient(
        mrn,
        "Doe, Jane",
        date_of_birth=date(1975, 4, 12),
        weight_kg=72.0,
        weight_measured_on=T0.date(),
    )
    ids = [
        build_session(
            engine,
            start=T0 + timedelta(days=3 * i),
            patient_id=pid,
            surge_mmhg=50.0 - 9 * i,
            baseline_sbp=130.0 + 2 * i,
            simulated=False,
        ).session_id
        for i in range(n)
    ]
    return pid, ids
