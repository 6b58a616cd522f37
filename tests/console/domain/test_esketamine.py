"""Intranasal esketamine sessions (issue 17): 2 vs 3 devices, their spacing, the lot, the
three BP checkpoints, the 2-hour observation and the end checks; and the start-of-session data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from console.domain.alarm_rules import AlarmPolicy
from console.domain.discharge_gate import assess_discharge
from console.domain.esketamine import (
    CONCOMITANT_MEDICATIONS,
    Checkpoint,
    EsketamineRuleError,
    SessionIntake,
    SessionType,
    bp_checkpoints,
    esketamine_discharge_reasons,
)
from console.domain.esketamine_record import esketamine_record
from console.domain.session import (
    BaselineVitals,
    EventKind,
    IllegalTransitionError,
    InfusionState,
    Phase,
    SessionLifecycle,
    SessionRuleError,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NO_EFFECTS = dict.fromkeys(("sedation", "dissociation", "respiratory_depression"), False)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def planned(dose_mg: float = 56.0) -> SessionLifecycle:
    life = SessionLifecycle()
    life.plan_esketamine(at(0), dose_mg=dose_mg, lot="LOT-42A", author="rn")
    life.record_baseline(BaselineVitals(at(1), 124, 78, 70, 98), author="monitor")
    return life


@pytest.mark.parametrize(("dose", "devices"), [(56.0, 2), (84.0, 3)])
def test_the_dose_decides_the_devices_and_the_last_one_ends_dosing(
    dose: float, devices: int
) -> None:
    life = planned(dose)
    assert life.session_type is SessionType.ESKETAMINE
    for n in range(devices):
        ev = life.give_device(at(5 + 5 * n), author="rn")
        assert ev.data["device"] == n + 1
        assert ev.data["of"] == devices
        assert ev.data["lot"] == "LOT-42A"
        assert ev.text == ""
        want = Phase.OBSERVATION if n + 1 == devices else Phase.INFUSION
        assert life.phase is want
    assert life.infusion is InfusionState.STOPPED
    assert life.devices_given == [at(5 + 5 * n) for n in range(devices)]
    with pytest.raises(IllegalTransitionError, match="dosing has ended"):
        life.give_device(at(40), author="rn")


@pytest.mark.parametrize("dose", [28.0, 70.0, 112.0, 0.0])
def test_only_56_or_84_mg(dose: float) -> None:
    with pytest.raises(SessionRuleError, match="56 mg or 84 mg"):
        SessionLifecycle().plan_esketamine(at(0), dose_mg=dose, lot="L1")


def test_the_lot_is_required() -> None:
    with pytest.raises(SessionRuleError, match="lot number"):
        SessionLifecycle().plan_esketamine(at(0), dose_mg=56, lot="  ")


def test_an_early_second_device_is_recorded_with_a_warning() -> None:
    life = planned()
    life.give_device(at(5), author="rn")
    ev = life.give_device(at(8), author="rn")  # 3 min after the first
    assert "2.0 min early" in ev.text
    assert ev.data["early_min"] == pytest.approx(2.0)
    on_time = planned(84)
    on_time.give_device(at(5), author="rn")
    assert on_time.give_device(at(10), author="rn").text == ""


def test_the_first_device_needs_the_pre_dose_gate() -> None:
    life = SessionLifecycle()
    life.plan_esketamine(at(0), dose_mg=56, lot="L1")
    life.record_baseline(BaselineVitals(at(1), 186, 112, 70, 98))
    with pytest.raises(IllegalTransitionError, match="pre-dose gate"):
        life.give_device(at(5), author="rn")
    assert life.devices_given == []
    assert life.phase is Phase.BASELINE


def test_iv_and_esketamine_do_not_mix() -> None:
    life = planned()
    with pytest.raises(IllegalTransitionError, match="esketamine"):
        life.start_infusion(at(5), author="rn")
    with pytest.raises(IllegalTransitionError, match="not an esketamine session"):
        SessionLifecycle().give_device(at(5), author="rn")


def test_two_hours_from_the_first_device_before_discharge() -> None:
    life = planned()
    life.give_device(at(5), author="rn")
    life.give_device(at(10), author="rn")
    assert life.observation_ends_at() == at(125)
    with pytest.raises(IllegalTransitionError, match="120 min not reached"):
        life.begin_discharge(at(124), author="rn")
    life.begin_discharge(at(125), author="rn")
    assert life.phase is Phase.DISCHARGE


def finish(life: SessionLifecycle, *, ready: float = 115.0, **occurred: bool) -> None:
    life.give_device(at(5), author="rn")
    life.give_device(at(10), author="rn")
    life.begin_discharge(at(125), author="rn")
    effects = {**NO_EFFECTS, **occurred}
    life.record_end_checks(
        at(126),
        occurred=effects,
        resolved=dict.fromkeys(effects, True),
        ready_to_leave_at=at(ready),
        author="rn",
    )
    for item in life.policy.discharge_items:
        life.check_discharge_item(at(126), item=item, passed=True, author="rn")


def test_close_needs_the_end_checks_resolved() -> None:
    life = planned()
    life.give_device(at(5), author="rn")
    life.give_device(at(10), author="rn")
    life.begin_discharge(at(125), author="rn")
    for item in life.policy.discharge_items:
        life.check_discharge_item(at(126), item=item, passed=True, author="rn")
    with pytest.raises(IllegalTransitionError, match="end checks"):
        life.close(at(127), author="rn")
    for minute, resolved in ((127, False), (129, True)):  # answered again when resolved
        life.record_end_checks(
            at(minute),
            occurred={**NO_EFFECTS, "dissociation": True},
            resolved={"dissociation": resolved},
            ready_to_leave_at=at(minute - 1),
            author="rn",
        )
        if not resolved:
            with pytest.raises(IllegalTransitionError, match="not resolved: dissociation"):
                life.close(at(128), author="rn")
    life.close(at(130), author="rn")
    assert life.closed


def test_end_checks_refuse_a_missing_answer_and_a_future_time() -> None:
    life = planned()
    life.give_device(at(5), author="rn")
    life.give_device(at(10), author="rn")
    with pytest.raises(SessionRuleError, match="respiratory depression"):
        life.record_end_checks(
            at(60),
            occurred={"sedation": False, "dissociation": False},
            resolved={},
            ready_to_leave_at=at(60),
            author="rn",
        )
    with pytest.raises(SessionRuleError, match="future"):
        life.record_end_checks(
            at(60), occurred=NO_EFFECTS, resolved={}, ready_to_leave_at=at(61), author="rn"
        )


def test_the_lifecycle_rebuilds_from_its_events() -> None:
    life = planned()
    finish(life, sedation=True)
    life.close(at(130), author="rn")
    again = SessionLifecycle.from_events(life.events)
    assert again.closed
    assert again.esketamine == life.esketamine
    assert again.devices_given == life.devices_given
    assert again.end_checks == life.end_checks


def cuff(*points: tuple[float, float]) -> list[tuple[datetime, float]]:
    return [(at(m), v) for m, v in points]


def test_three_checkpoints() -> None:
    sbp = cuff((1, 124), (4, 126), (30, 140), (41, 146), (44, 150), (100, 130), (124, 128))
    dbp = cuff((1, 78), (4, 80), (30, 88), (41, 92), (44, 93), (100, 82), (124, 81))
    points = bp_checkpoints(at(5), at(130), sbp, dbp)
    before, forty, end = (points[c] for c in Checkpoint)
    assert before is not None
    assert (before.sbp, before.dbp) == (126, 80)
    assert forty is not None
    assert forty.at == at(41)  # minutes after the first device
    assert end is not None
    assert end.at == at(124)
    # A last reading long before the end of monitoring does not answer "before the end".
    assert bp_checkpoints(at(5), at(200), sbp, dbp)[Checkpoint.BEFORE_END] is None
    # No reading 35-45 min after the first device: the 40-min checkpoint is missed.
    early = cuff((1, 124), (30, 140), (55, 130), (124, 128))
    assert bp_checkpoints(at(5), at(130), early)[Checkpoint.AT_40_MIN] is None
    # Before the first device nothing but the pre-dose one can be answered.
    none = bp_checkpoints(None, None, sbp, dbp)
    assert none[Checkpoint.AT_40_MIN] is None
    assert none[Checkpoint.BEFORE_DOSING] is not None


def test_the_discharge_gate_refuses_before_two_hours_and_without_checkpoints() -> None:
    life = planned()
    life.give_device(at(5), author="rn")
    life.give_device(at(10), author="rn")
    points = bp_checkpoints(at(5), at(90), cuff((1, 124), (41, 140), (85, 130)))
    early = esketamine_discharge_reasons(
        plan=life.esketamine,
        devices_given=life.devices_given,
        checkpoints=points,
        checks=None,
        now=at(90),
    )
    assert any("120 min observation" in r and "35 min left" in r for r in early)
    assert any("end checks" in r for r in early)
    gate = assess_discharge(
        [],
        policy=AlarmPolicy(),
        last_nibp=(130, 80),
        baseline=(124, 78),
        session_reasons=early,
    )
    assert not gate.passed
    assert "120 min observation" in gate.describe()
    missing = bp_checkpoints(at(5), at(130), cuff((1, 124), (85, 130)))
    late = esketamine_discharge_reasons(
        plan=life.esketamine,
        devices_given=life.devices_given,
        checkpoints=missing,
        checks=None,
        now=at(130),
    )
    assert "no reading for the BP at 40 min" in late
    assert "no reading for the BP before end of monitoring" in late
    assert not any("observation" in r for r in late)


def test_the_record_for_the_rems_form() -> None:
    life = planned()
    finish(life, ready=112)
    life.close(at(130), author="rn")
    sbp = cuff((1, 124), (41, 140), (120, 128))
    rec = esketamine_record(life.events, sbp, cuff((1, 78), (41, 88), (120, 80)))
    assert rec is not None
    assert (rec.dose_mg, rec.devices_planned, rec.lot) == (56.0, 2, "LOT-42A")
    assert rec.devices_given_at == (at(5), at(10))
    assert rec.monitoring_min == pytest.approx(125.0)
    assert rec.ready_to_leave_min == pytest.approx(107.0)
    assert rec.bp_before_dosing is not None
    assert rec.bp_before_dosing.dbp == 78
    assert rec.bp_at_40_min is not None
    assert rec.bp_at_40_min.sbp == 140
    assert rec.bp_before_end is not None
    assert rec.bp_before_end.at == at(120)
    assert rec.end_checks is not None
    assert rec.end_checks.unresolved() == []
    assert rec.vitals_acceptable_before_dosing is True
    assert rec.vitals_acceptable_before_completion is True
    assert rec.monitored_by == ("rn",)
    assert esketamine_record([], sbp) is None
    assert EventKind.ESKETAMINE_PLANNED.value == "esketamine_planned"


def test_intake_needs_every_answer() -> None:
    meds = dict.fromkeys(CONCOMITANT_MEDICATIONS, False)
    ok = SessionIntake(
        SessionType.IV_KETAMINE, meds, "Northside", "outpatient clinic", date(1980, 5, 1), "female"
    )
    assert ok.validated(date(2026, 3, 1)) is ok
    assert "Opioids: No" in ok.medication_text()
    bad = [
        (
            SessionIntake(SessionType.ESKETAMINE, {"opioids": True}, "N", "outpatient clinic"),
            "answer Yes or No for: Benzodiazepines",
        ),
        (SessionIntake(SessionType.ESKETAMINE, meds, " ", "outpatient clinic"), "setting"),
        (SessionIntake(SessionType.ESKETAMINE, meds, "N", "spa"), "setting type"),
        (
            SessionIntake(SessionType.ESKETAMINE, meds, "N", "other", date(2027, 1, 1)),
            "date of birth",
        ),
        (SessionIntake(SessionType.ESKETAMINE, meds, "N", "other", None, "x"), "sex"),
    ]
    for intake, text in bad:
        with pytest.raises(EsketamineRuleError, match=text):
            intake.validated(date(2026, 3, 1))


def test_an_iv_intake_may_leave_the_rems_questions_unanswered() -> None:
    iv = SessionIntake(SessionType.IV_KETAMINE, {"opioids": True}, "", "")
    assert iv.validated(date(2026, 3, 1)) is iv
    assert "Benzodiazepines: not asked" in iv.medication_text()
    assert "Opioids: Yes" in iv.medication_text()
    with pytest.raises(EsketamineRuleError, match="answer Yes or No"):
        SessionIntake(SessionType.ESKETAMINE, {"opioids": True}, "N", "other").validated(
            date(2026, 3, 1)
        )
