"""Issue 17: the start-of-session data and an esketamine session, stored through the
production write path and read back as the review and the reports read them (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine

from console.domain.esketamine import CONCOMITANT_MEDICATIONS, SessionIntake, SessionType
from console.domain.session import BaselineVitals, SessionLifecycle
from console.reports.session_type_html import session_type_html
from console.storage.repository import SessionRepository
from console.storage.review import ReviewRepository
from console.storage.writer import (
    Item,
    ReadingsItem,
    SessionEndItem,
    SessionEventItem,
    apply_ops,
    item_ops,
)
from devices.model import METRIC_UNITS, Metric, Reading

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _cuff(sid: int, minutes: float, sbp: float, dbp: float) -> ReadingsItem:
    t = at(minutes)
    return ReadingsItem(
        sid,
        (
            Reading(Metric.NIBP_SYS, sbp, METRIC_UNITS[Metric.NIBP_SYS], t),
            Reading(Metric.NIBP_DIA, dbp, METRIC_UNITS[Metric.NIBP_DIA], t),
        ),
    )


def test_intake_and_esketamine_round_trip(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    pid = repo.add_patient("MRN-77", "A. Patient", sex="female")
    repo.set_patient_identity(pid, date_of_birth=date(1971, 4, 9), sex=None)
    sid = repo.create_session(
        chair="Chair 2", started_at=T0, simulated=False, device_kind="ge-datex", patient_id=pid
    )
    meds = dict.fromkeys(CONCOMITANT_MEDICATIONS, False) | {"opioids": True}
    intake = SessionIntake(SessionType.ESKETAMINE, meds, "Northside Clinic", "outpatient clinic")
    repo.store_intake(sid, intake, at=T0, by="rn Ada")

    life = SessionLifecycle()
    life.plan_esketamine(at(0), dose_mg=84, lot="LOT-9", author="rn Ada")
    life.record_baseline(BaselineVitals(at(2), 126, 80, 70, 98), author="monitor")
    for m in (5, 10, 14):  # the third device one minute early
        life.give_device(at(m), author="rn Ada")
    life.begin_discharge(at(126), author="rn Ada")
    life.record_end_checks(
        at(126),
        occurred={"sedation": True, "dissociation": True, "respiratory_depression": False},
        resolved={"sedation": True, "dissociation": True},
        ready_to_leave_at=at(110),
        author="rn Ada",
    )
    for check in life.policy.discharge_items:
        life.check_discharge_item(at(126), item=check, passed=True, author="rn Ada")
    life.close(at(127), author="rn Ada")
    items: list[Item] = [SessionEventItem(sid, ev) for ev in life.events]
    items += [_cuff(sid, m, s, d) for m, s, d in ((2, 126, 80), (44, 150, 92), (120, 130, 82))]
    items.append(SessionEndItem(sid, at(127)))
    with migrated.begin() as conn:
        for item in items:
            apply_ops(conn, item_ops(item))

    stored = ReviewRepository(migrated).load(sid)
    assert stored.intake is not None
    assert stored.intake.session_type is SessionType.ESKETAMINE
    assert stored.intake.medications == meds
    assert (stored.intake.setting_name, stored.intake.setting_type) == (
        "Northside Clinic",
        "outpatient clinic",
    )
    assert (stored.intake.date_of_birth, stored.intake.sex) == (date(1971, 4, 9), "female")
    assert stored.patient is not None
    assert stored.patient.sex == "female"
    assert stored.session_type is SessionType.ESKETAMINE
    rec = stored.esketamine
    assert rec is not None
    assert (rec.dose_mg, rec.devices_planned, rec.lot) == (84.0, 3, "LOT-9")
    assert rec.devices_given_at == (at(5), at(10), at(14))
    assert len(rec.device_warnings) == 1
    assert "device 3" in rec.device_warnings[0]
    assert rec.bp_before_dosing is not None
    assert (rec.bp_before_dosing.sbp, rec.bp_before_dosing.dbp) == (126, 80)
    assert rec.bp_at_40_min is not None
    assert rec.bp_at_40_min.at == at(44)
    assert rec.bp_before_end is not None
    assert rec.bp_before_end.sbp == 130
    assert rec.monitoring_min == 122.0
    assert rec.ready_to_leave_min == 105.0
    assert rec.end_checks is not None
    assert rec.end_checks.occurred["sedation"] is True
    assert rec.vitals_acceptable_before_dosing is True
    assert rec.vitals_acceptable_before_completion is True
    assert rec.monitored_by == ("rn Ada",)
    # The review's "Start / REMS" tab says what the REMS form will say.
    page = session_type_html(stored)
    for text in ("Intranasal esketamine", "LOT-9", "84 mg intranasal (3 devices)", "Northside"):
        assert text in page
    assert "Opioids</td><td" in page
    assert "occurred, resolved" in page
    assert "no reading" not in page  # all three checkpoints are answered
    # The lifecycle rebuilds from the stored events (resume after a crash).
    assert repo.lifecycle(sid).devices_given == [at(5), at(10), at(14)]
    # Answering again replaces the row.
    repo.store_intake(
        sid, SessionIntake(SessionType.ESKETAMINE, meds, "Clinic B", "other"), at=at(1)
    )
    again = repo.session_intake(sid)
    assert again is not None
    assert again.setting_name == "Clinic B"


def test_an_iv_session_without_intake_reads_as_before(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    sid = repo.create_session(chair="C", started_at=T0, simulated=True, device_kind="ge-datex")
    stored = ReviewRepository(migrated).load(sid)
    assert stored.intake is None
    assert stored.session_type is SessionType.IV_KETAMINE
    assert stored.esketamine is None
