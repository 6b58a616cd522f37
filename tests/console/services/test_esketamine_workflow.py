"""Issue 17: an intranasal esketamine session through the nurse's workflow, without Qt: the
start data, "Device given" with its spacing warning, the three checkpoints, the 2-hour
discharge gate and the end checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy.engine import Engine

from console.domain.discharge_gate import DischargeRefusedError
from console.domain.esketamine import (
    CONCOMITANT_MEDICATIONS,
    Checkpoint,
    SessionIntake,
    SessionType,
)
from console.domain.session import (
    BaselineVitals,
    EventKind,
    IllegalTransitionError,
    Phase,
    SessionLifecycle,
    SessionRuleError,
)
from console.services.chair_record import ResumedRecord
from console.services.session_values import SessionPlan, plan_from
from console.storage.repository import SessionRepository
from console.storage.writer import ReadingsItem, SessionEventItem, apply_ops, item_ops
from devices.model import METRIC_UNITS, Metric, Reading
from tests.console.services.test_session_workflow import (  # the same chair around the workflow
    NURSE,
    _advance,
    _Chair,
    _cuff,
    chair,
)

__all__ = ["chair"]  # the fixture, re-used

NO_EFFECTS = dict.fromkeys(("sedation", "dissociation", "respiratory_depression"), False)


def _phase(chair: _Chair) -> Phase:
    """The phase, asked afresh (each step changes it)."""
    return chair.workflow.lifecycle.phase


def _esketamine(dose: float = 56.0, lot: str = "LOT-7") -> SessionPlan:
    intake = SessionIntake(
        SessionType.ESKETAMINE,
        dict.fromkeys(CONCOMITANT_MEDICATIONS, False),
        "Northside Clinic",
        "outpatient clinic",
        date(1980, 1, 2),
        "male",
    )
    return SessionPlan(
        mrn="MRN-E",
        display_name="Esk patient",
        weight_kg=80.0,
        weight_measured_on=date(2026, 12, 1),
        dose_mg_per_kg=0.0,
        infusion_min=5.0,
        session_type=SessionType.ESKETAMINE,
        esketamine_dose_mg=dose,
        lot=lot,
        intake=intake,
    )


def test_an_esketamine_session_from_start_to_close(chair: _Chair) -> None:
    flow = chair.workflow
    sid = flow.new_session(_esketamine(), user=NURSE)
    assert _phase(chair) is Phase.BASELINE
    kinds = [e.kind for e in chair.writer.events(sid)]
    assert kinds == [EventKind.ESKETAMINE_PLANNED, EventKind.NOTE]
    assert "lot LOT-7" in chair.writer.events(sid)[1].text
    _cuff(chair, 124.0, 78.0)
    _advance(chair, 2)
    flow.give_device(NURSE)
    assert _phase(chair) is Phase.INFUSION
    assert flow.pipeline.snapshot().infusion_running
    _advance(chair, 3)  # 3 min: early, recorded with a warning
    second = flow.give_device(NURSE)
    assert "2.0 min early" in second.text
    assert _phase(chair) is Phase.OBSERVATION
    assert not flow.pipeline.snapshot().infusion_running
    for minutes, sbp in ((35.0, 140.0), (60.0, 132.0), (25.0, 126.0)):
        _advance(chair, minutes)
        _cuff(chair, sbp, 80.0)
    # 123 min after the first device: the 2 hours are over.
    points = flow.esketamine_checkpoints()
    assert all(points[c] is not None for c in Checkpoint)
    with pytest.raises(DischargeRefusedError, match="end checks"):
        flow.discharge(dict.fromkeys(flow.policy.discharge_items, True), NURSE)
    assert flow.phase is Phase.DISCHARGE  # the checks are kept; the session stays open
    flow.record_end_checks(
        NURSE,
        occurred=NO_EFFECTS,
        resolved={},
        ready_to_leave_at=chair.clock.now() - timedelta(minutes=10),
    )
    assert flow.discharge_gate().passed, flow.discharge_gate().describe()
    assert flow.discharge(dict.fromkeys(flow.policy.discharge_items, True), NURSE)
    assert flow.lifecycle.closed
    assert chair.writer.events(sid)[-1].kind == EventKind.CLOSED


def test_the_gate_refuses_before_two_hours_and_without_the_40_min_bp(chair: _Chair) -> None:
    flow = chair.workflow
    flow.new_session(_esketamine(84.0), user=NURSE)
    _cuff(chair, 124.0, 78.0)
    for _ in range(3):
        _advance(chair, 5)
        flow.give_device(NURSE)
    _advance(chair, 60)
    with pytest.raises(IllegalTransitionError, match="120 min not reached"):
        flow.discharge(dict.fromkeys(flow.policy.discharge_items, True), NURSE)
    assert flow.phase is Phase.OBSERVATION
    needs = flow.discharge_needs()
    assert needs[0].startswith("observation")
    assert "end checks" in needs
    _advance(chair, 60)
    _cuff(chair, 126.0, 80.0)  # no reading 35-45 min after the first device
    flow.record_end_checks(
        NURSE, occurred=NO_EFFECTS, resolved={}, ready_to_leave_at=chair.clock.now()
    )
    gate = flow.discharge_gate()
    assert "no reading for the BP at 40 min" in gate.describe()
    with pytest.raises(DischargeRefusedError, match="BP at 40 min"):
        flow.discharge(dict.fromkeys(flow.policy.discharge_items, True), NURSE)
    # A physician may override the missing checkpoint (recorded with the reason).
    assert flow.discharge(
        dict.fromkeys(flow.policy.discharge_items, True),
        NURSE,
        physician="dr.lee",
        override_reason="cuff failed at 40 min; BP stable at 120 min",
    )


def test_bad_start_data_change_nothing(chair: _Chair) -> None:
    flow = chair.workflow
    intake = _esketamine().intake
    assert intake is not None
    bad_intake = replace(_esketamine(), intake=replace(intake, setting_name=" "))
    for plan, text in (
        (_esketamine(70.0), "56 mg or 84 mg"),
        (_esketamine(lot=""), "lot number"),
        (bad_intake, "setting"),
    ):
        with pytest.raises(SessionRuleError, match=text):
            flow.new_session(plan, user=NURSE)
    assert chair.host.calls == []  # no record was opened
    assert flow.phase is None


def test_resume_rebuilds_the_esketamine_plan(chair: _Chair) -> None:
    flow = chair.workflow
    flow.new_session(_esketamine(84.0), user=NURSE)
    plan = plan_from(flow.lifecycle, flow.patient_record)
    assert plan is not None
    assert plan.session_type is SessionType.ESKETAMINE
    assert (plan.esketamine_dose_mg, plan.lot) == (84.0, "LOT-7")


def test_a_resumed_session_keeps_its_cuff_readings_for_the_checkpoints(
    chair: _Chair, migrated: Engine
) -> None:
    """After a crash the pre-dose and 40-min readings are in the database, not in the new
    chair's memory: the resumed workflow takes them from the stored trends."""
    repo = SessionRepository(migrated)
    t0 = chair.clock.now()
    sid = repo.create_session(chair="Chair 1", started_at=t0, simulated=True, device_kind="sim")
    life = SessionLifecycle()
    life.plan_esketamine(t0, dose_mg=56, lot="L-R", author=NURSE)
    life.record_baseline(BaselineVitals(t0, 124, 78, 70, 98), author="monitor")
    life.give_device(t0 + timedelta(minutes=2), author=NURSE)
    life.give_device(t0 + timedelta(minutes=7), author=NURSE)
    readings = []
    for minutes, sbp in ((1, 124.0), (40, 141.0)):
        at = t0 + timedelta(minutes=minutes)
        readings += [
            Reading(Metric.NIBP_SYS, sbp, METRIC_UNITS[Metric.NIBP_SYS], at),
            Reading(Metric.NIBP_DIA, 80.0, METRIC_UNITS[Metric.NIBP_DIA], at),
        ]
    with migrated.begin() as conn:
        for ev in life.events:
            apply_ops(conn, item_ops(SessionEventItem(sid, ev)))
        apply_ops(conn, item_ops(ReadingsItem(sid, tuple(readings))))
    summary = repo.unfinished_sessions("Chair 1")[0]
    chair.workflow.adopt_resumed(
        ResumedRecord(
            summary=summary,
            by=NURSE,
            record=repo.session(sid),
            lifecycle=repo.lifecycle(sid),
            events=repo.events(sid),
            patient=None,
            trends=repo.trends(sid),
        )
    )
    _advance(chair, 45)
    points = chair.workflow.esketamine_checkpoints()
    before, forty = points[Checkpoint.BEFORE_DOSING], points[Checkpoint.AT_40_MIN]
    assert before is not None
    assert (before.sbp, before.dbp) == (124.0, 80.0)
    assert forty is not None
    assert forty.sbp == 141.0
