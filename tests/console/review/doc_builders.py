"""Stored sessions for the documentation tests (note, REMS form, FHIR), through the real write path.

``build_esketamine_session`` stores an intranasal (route ``IN``) session as today's record can
hold one: baseline, dosing start and stop, MOAA/S and CADSS-6 scores, an SpO2 low alarm
acknowledged by a nurse, NIBP every 5 min and 1 Hz-ish continuous vitals for two hours, the
discharge checklist and a close.  ``build_long_session`` is an IV session with many events and
alarms, for the note's condensing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine

from console.domain.alarms import AlarmEvent, AlarmEventKind, Direction, Priority
from console.domain.session import BaselineVitals, EventKind, SessionLifecycle, SessionPolicy
from console.storage.repository import SessionRepository
from console.storage.writer import (
    AlarmItem,
    Item,
    ReadingsItem,
    SessionEndItem,
    SessionEventItem,
    apply_ops,
    item_ops,
)
from devices.model import METRIC_UNITS, Metric, Reading

T0 = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)


def _readings(
    start: datetime, minutes: float, *, spo2_dip: tuple[float, float] | None = None
) -> list[Reading]:
    out: list[Reading] = []
    for s in range(0, int(minutes * 60), 10):
        t = start + timedelta(seconds=s)
        m = s / 60.0
        out.append(Reading(Metric.HR, 72.0 + (s // 600) % 3, METRIC_UNITS[Metric.HR], t))
        low = spo2_dip is not None and spo2_dip[0] <= m < spo2_dip[1]
        out.append(Reading(Metric.SPO2, 90.0 if low else 97.0, METRIC_UNITS[Metric.SPO2], t))
        out.append(Reading(Metric.RR, 14.0, METRIC_UNITS[Metric.RR], t))
        if s % 300 == 0:
            sbp = 128.0 + (20.0 if 30 <= m <= 60 else 0.0)
            for metric, value in (
                (Metric.NIBP_SYS, sbp),
                (Metric.NIBP_DIA, 80.0),
                (Metric.NIBP_MEAN, round((sbp + 160.0) / 3)),
            ):
                out.append(Reading(metric, value, METRIC_UNITS[metric], t))
    return out


def _store(engine: Engine, items: list[Item]) -> None:
    with engine.begin() as conn:
        for queued in items:
            apply_ops(conn, item_ops(queued))


def build_esketamine_session(
    engine: Engine, *, with_patient: bool = True, ended: bool = True, start: datetime = T0
) -> int:
    """Store an intranasal esketamine session (route IN); returns its id."""
    repo = SessionRepository(engine)
    pid = None
    if with_patient:
        pid = repo.add_patient(
            "MRN-E-77",
            "Roe, Sam",
            date_of_birth=date(1968, 9, 30),
            weight_kg=80.0,
            weight_measured_on=start.date(),
        )
    sid = repo.create_session(
        chair="Chair 3",
        started_at=start,
        simulated=False,
        device_kind="ge-datex",
        device_url="socket://127.0.0.1:7003",
        patient_id=pid,
    )

    def at(m: float) -> datetime:
        return start + timedelta(minutes=m)

    life = SessionLifecycle(SessionPolicy(observation_min=120))
    life.record_baseline(BaselineVitals(at(2), 128, 80, 72, 98), author="rn.ola")
    life.plan_infusion(
        at(4),
        weight_kg=80.0,
        weight_measured_on=start.date(),
        dose_mg_per_kg=0.7,
        rate_ml_per_h=1.0,
        route="IN",
        author="rn.ola",
    )
    life.start_infusion(at(5), author="rn.ola")
    life.stop_infusion(at(15), author="rn.ola", reason="all devices given", dose_given_mg=56.0)
    life.annotate(EventKind.SEDATION, at(45), author="rn.ola", score=4.0, text="MOAA/S")
    life.annotate(EventKind.DISSOCIATION, at(45), author="rn.ola", score=3.0, text="CADSS-6")
    life.annotate(EventKind.SEDATION, at(110), author="rn.ola", score=5.0, text="MOAA/S")
    end = 140.0
    if ended:
        life.begin_discharge(at(136), author="rn.ola")
        for item in SessionPolicy().discharge_items:
            life.check_discharge_item(at(137), item=item, passed=True, author="rn.ola")
        life.close(at(138), author="rn.ola")
    items: list[Item] = [SessionEventItem(sid, e) for e in life.events]
    items.append(
        ReadingsItem(sid, tuple(_readings(start, end if ended else 60.0, spo2_dip=(50, 53))))
    )

    def alarm(kind: str, when: datetime, actor: str | None = None) -> AlarmItem:
        ev = AlarmEvent(
            AlarmEventKind(kind),
            "SPO2:low",
            Metric.SPO2,
            Direction.LOW,
            Priority.MEDIUM,
            90.0,
            92.0,
            when,
            "SpO2 90 < 92",
            actor,
        )
        return AlarmItem(sid, ev)

    items += [alarm("onset", at(50.2)), alarm("acknowledged", at(50.8), "rn.ola")]
    if ended:
        items += [alarm("end", at(53.1)), SessionEndItem(sid, at(end))]
    _store(engine, items)
    return sid


def build_long_session(engine: Engine, *, notes: int = 40, alarms: int = 12) -> int:
    """An IV session of 4 hours with ``notes`` notes and ``alarms`` alarms (the note's worst
    case); returns its id."""
    repo = SessionRepository(engine)
    start = T0
    sid = repo.create_session(
        chair="Chair 2",
        started_at=start,
        simulated=True,
        device_kind="ge-datex",
        device_url="socket://127.0.0.1:7002",
    )

    def at(m: float) -> datetime:
        return start + timedelta(minutes=m)

    life = SessionLifecycle(SessionPolicy(observation_min=30))
    life.record_baseline(BaselineVitals(at(1), 126, 78, 70, 98), author="rn.kim")
    life.plan_infusion(
        at(2),
        weight_kg=70.0,
        weight_measured_on=start.date(),
        dose_mg_per_kg=0.5,
        rate_ml_per_h=60.0,
        author="rn.kim",
    )
    life.start_infusion(at(5), author="rn.kim")
    for i in range(notes):
        life.annotate(
            EventKind.NOTE,
            at(6 + i * 4),
            author="rn.kim",
            text=f"observation note number {i}: patient resting, talking, comfortable",
        )
    life.stop_infusion(at(185), author="rn.kim", reason="completed")
    life.begin_discharge(at(225), author="rn.kim")
    for item in SessionPolicy().discharge_items:
        life.check_discharge_item(at(226), item=item, passed=True, author="rn.kim")
    life.close(at(228), author="rn.kim")
    items: list[Item] = [SessionEventItem(sid, e) for e in life.events]
    items.append(ReadingsItem(sid, tuple(_readings(start, 230.0))))
    for k in range(alarms):
        onset = at(20 + 12 * k)
        for kind, when, actor in (
            ("onset", onset, None),
            ("acknowledged", onset + timedelta(minutes=1), "rn.kim"),
            ("end", onset + timedelta(minutes=4), None),
        ):
            items.append(
                AlarmItem(
                    sid,
                    AlarmEvent(
                        AlarmEventKind(kind),
                        "HR:high",
                        Metric.HR,
                        Direction.HIGH,
                        Priority.MEDIUM,
                        121.0,
                        120.0,
                        when,
                        "HR 121 > 120",
                        actor,
                    ),
                )
            )
    items.append(SessionEndItem(sid, at(230)))
    _store(engine, items)
    return sid
