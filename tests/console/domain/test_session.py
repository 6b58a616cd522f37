"""The session lifecycle rules (clinical.md A-G, pre-dose gate b1), table-driven."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from console.domain.session import (
    BaselineVitals,
    EventKind,
    GateVerdict,
    IllegalTransitionError,
    InfusionState,
    Phase,
    SessionLifecycle,
    SessionPolicy,
    SessionRuleError,
    assess_baseline,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
POLICY = SessionPolicy(observation_min=30.0)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def vitals(minutes: float, sbp: float | None, dbp: float | None, **kw: float) -> BaselineVitals:
    return BaselineVitals(at(minutes), sbp, dbp, kw.get("hr", 72.0), kw.get("spo2", 98.0))


# -- the pre-dose gate ------------------------------------------------------------------------
GATE_CASES = [
    # (label, baseline sets, verdict, text expected in the reasons)
    ("normal", [vitals(0, 120, 80)], GateVerdict.CLEAR, ""),
    ("no BP at all", [], GateVerdict.BLOCKED, "no baseline blood pressure"),
    ("SBP 139 is clear", [vitals(0, 139, 89)], GateVerdict.CLEAR, ""),
    ("SBP 140 asks for review", [vitals(0, 140, 80)], GateVerdict.REVIEW, "physician review"),
    ("DBP 90 asks for review", [vitals(0, 130, 90)], GateVerdict.REVIEW, "physician review"),
    ("SBP 179 is review, not blocked", [vitals(0, 179, 100)], GateVerdict.REVIEW, "140/90"),
    ("SBP 180 blocks", [vitals(0, 180, 100)], GateVerdict.BLOCKED, "repeat in 5 min"),
    ("DBP 110 blocks", [vitals(0, 150, 110)], GateVerdict.BLOCKED, "do not start"),
    (
        "severe twice 5 min apart is confirmed",
        [vitals(0, 185, 100), vitals(5, 182, 104)],
        GateVerdict.BLOCKED,
        "confirmed",
    ),
    (
        "severe twice 2 min apart is not confirmed",
        [vitals(0, 185, 100), vitals(2, 182, 104)],
        GateVerdict.BLOCKED,
        "repeat in 5 min",
    ),
    (
        "repeat below severe decides",
        [vitals(0, 185, 100), vitals(5, 135, 85)],
        GateVerdict.CLEAR,
        "",
    ),
    ("HR 111 review", [vitals(0, 120, 80, hr=111)], GateVerdict.REVIEW, "HR 111"),
    ("HR 49 review", [vitals(0, 120, 80, hr=49)], GateVerdict.REVIEW, "HR 49"),
    ("SpO2 93 review", [vitals(0, 120, 80, spo2=93)], GateVerdict.REVIEW, "SpO2 93"),
]


@pytest.mark.parametrize(
    ("sets", "verdict", "text"),
    [c[1:] for c in GATE_CASES],
    ids=[c[0] for c in GATE_CASES],
)
def test_pre_dose_gate(sets: list[BaselineVitals], verdict: GateVerdict, text: str) -> None:
    gate = assess_baseline(sets, POLICY)
    assert gate.verdict is verdict
    assert text in " ".join(gate.reasons)


# -- a scripted session -------------------------------------------------------------------------
def planned(sbp: float = 120, dbp: float = 80) -> SessionLifecycle:
    life = SessionLifecycle(POLICY)
    life.record_baseline(vitals(0, sbp, dbp), author="rn1")
    life.plan_infusion(
        at(1),
        weight_kg=80.0,
        weight_measured_on=date(2026, 2, 20),
        dose_mg_per_kg=0.5,
        rate_ml_per_h=100.0,
        author="rn1",
    )
    return life


def running() -> SessionLifecycle:
    life = planned()
    life.start_infusion(at(5), author="rn1")
    return life


def stopped() -> SessionLifecycle:
    life = running()
    life.stop_infusion(at(45), author="rn1", reason="completed")
    return life


def in_discharge() -> SessionLifecycle:
    life = stopped()
    life.begin_discharge(at(76), author="rn1")
    return life


def test_happy_path_and_dose_computed() -> None:
    life = running()
    assert life.plan is not None
    assert life.plan.dose_mg == 40.0  # 80 kg x 0.5 mg/kg, computed, never typed
    life.pause_infusion(at(20), author="rn1", reason="nausea")
    life.change_rate(at(21), rate_ml_per_h=80.0, author="md1", reason="BP 182/100")
    life.resume_infusion(at(22), author="rn1")
    life.stop_infusion(at(50), author="rn1", reason="completed", dose_given_mg=38.0)
    assert life.phase is Phase.OBSERVATION
    assert life.observation_ends_at() == at(80)
    life.begin_discharge(at(80), author="rn1")
    for item in POLICY.discharge_items:
        life.check_discharge_item(at(81), item=item, passed=True, author="rn1")
    life.close(at(82), author="rn1")
    assert life.closed
    kinds = [e.kind for e in life.events]
    assert kinds[:6] == [
        "baseline_vitals",
        "infusion_planned",
        "infusion_start",
        "infusion_pause",
        "rate_change",
        "infusion_resume",
    ]
    assert life.events[4].data == {"old_rate_ml_per_h": 100.0}
    assert kinds[-1] == "closed"


Action = Callable[[SessionLifecycle], object]

ILLEGAL: list[tuple[str, Callable[[], SessionLifecycle], Action, str]] = [
    (
        "start without baseline",
        lambda: SessionLifecycle(POLICY),
        lambda s: s.start_infusion(at(5), author="rn1"),
        "no infusion plan",
    ),
    (
        "start without plan",
        lambda: _with_baseline(120, 80),
        lambda s: s.start_infusion(at(5), author="rn1"),
        "no infusion plan",
    ),
    (
        "start with severe baseline and no override",
        lambda: planned(185, 100),
        lambda s: s.start_infusion(at(5), author="rn1"),
        "physician override",
    ),
    (
        "start with elevated baseline and no review",
        lambda: planned(150, 85),
        lambda s: s.start_infusion(at(5), author="rn1"),
        "physician review",
    ),
    (
        "review cannot unblock a severe baseline",
        lambda: planned(185, 100),
        lambda s: s.physician_review(at(3), physician="md1", reason="ok"),
        "physician override",
    ),
    (
        "pause before start",
        planned,
        lambda s: s.pause_infusion(at(5), author="rn1", reason="x"),
        "it is not_started",
    ),
    (
        "resume while running",
        running,
        lambda s: s.resume_infusion(at(6), author="rn1"),
        "it is running",
    ),
    (
        "rate change after stop",
        stopped,
        lambda s: s.change_rate(at(46), rate_ml_per_h=50, author="rn1", reason="x"),
        "the infusion is stopped",
    ),
    ("stop twice", stopped, lambda s: s.stop_infusion(at(46), author="rn1", reason="x"), "stopped"),
    (
        "discharge before minimum observation",
        stopped,
        lambda s: s.begin_discharge(at(70), author="rn1"),
        "minimum observation of 30 min not reached (5 min left)",
    ),
    (
        "discharge while infusing",
        running,
        lambda s: s.begin_discharge(at(90), author="rn1"),
        "in the infusion phase",
    ),
    (
        "close with checklist incomplete",
        in_discharge,
        lambda s: s.close(at(80), author="rn1"),
        "discharge items not passed: vitals_stable",
    ),
    (
        "baseline after the start",
        running,
        lambda s: s.record_baseline(vitals(6, 120, 80)),
        "in the infusion phase",
    ),
    (
        "abort while the pump runs",
        running,
        lambda s: s.abort(at(10), author="rn1", reason="declined"),
        "stop the infusion",
    ),
    (
        "annotate a closed session",
        lambda: _aborted(),
        lambda s: s.annotate(EventKind.NOTE, at(10), author="rn1", text="late note"),
        "closed",
    ),
]


def _with_baseline(sbp: float, dbp: float) -> SessionLifecycle:
    life = SessionLifecycle(POLICY)
    life.record_baseline(vitals(0, sbp, dbp))
    return life


def _aborted() -> SessionLifecycle:
    life = planned()
    life.abort(at(3), author="rn1", reason="patient declined")
    return life


@pytest.mark.parametrize(
    ("make", "action", "message"), [c[1:] for c in ILLEGAL], ids=[c[0] for c in ILLEGAL]
)
def test_illegal_transitions_raise_and_change_nothing(
    make: Callable[[], SessionLifecycle], action: Action, message: str
) -> None:
    life = make()
    before = (life.phase, life.infusion, len(life.events))
    with pytest.raises(IllegalTransitionError, match=re.escape(message)):
        action(life)
    assert (life.phase, life.infusion, len(life.events)) == before


REQUIRED_REASON: list[tuple[str, Callable[[], SessionLifecycle], Action]] = [
    ("pause", running, lambda s: s.pause_infusion(at(6), author="rn1", reason=" ")),
    (
        "rate change",
        running,
        lambda s: s.change_rate(at(6), rate_ml_per_h=50, author="rn1", reason=""),
    ),
    ("stop", running, lambda s: s.stop_infusion(at(6), author="rn1", reason="")),
    (
        "override",
        lambda: planned(185, 100),
        lambda s: s.physician_override(at(3), physician="md1", reason=""),
    ),
    (
        "override without physician",
        lambda: planned(185, 100),
        lambda s: s.physician_override(at(3), physician="", reason="benefit outweighs"),
    ),
    ("abort", planned, lambda s: s.abort(at(3), author="rn1", reason="")),
    (
        "weight too old",
        lambda: _with_baseline(120, 80),
        lambda s: s.plan_infusion(
            at(1),
            weight_kg=80,
            weight_measured_on=date(2026, 1, 1),
            dose_mg_per_kg=0.5,
            rate_ml_per_h=100,
        ),
    ),
    (
        "10x dose",
        lambda: _with_baseline(120, 80),
        lambda s: s.plan_infusion(
            at(1),
            weight_kg=80,
            weight_measured_on=date(2026, 3, 1),
            dose_mg_per_kg=5.0,
            rate_ml_per_h=100,
        ),
    ),
    (
        "time going backwards",
        running,
        lambda s: s.pause_infusion(at(4), author="rn1", reason="nausea"),
    ),
]


@pytest.mark.parametrize(
    ("make", "action"), [c[1:] for c in REQUIRED_REASON], ids=[c[0] for c in REQUIRED_REASON]
)
def test_rule_violations_are_refused(make: Callable[[], SessionLifecycle], action: Action) -> None:
    life = make()
    n = len(life.events)
    with pytest.raises(SessionRuleError):
        action(life)
    assert len(life.events) == n


def test_severe_baseline_starts_only_with_an_override_and_reason() -> None:
    life = planned(185, 100)
    assert not life.may_start_infusion()
    ev = life.physician_override(at(3), physician="Dr A", reason="benefit outweighs; BP rechecked")
    assert (ev.kind, ev.author) == ("physician_override", "Dr A")
    life.start_infusion(at(5), author="rn1")
    assert life.infusion is InfusionState.RUNNING


def test_override_does_not_cover_a_new_worse_baseline() -> None:
    life = SessionLifecycle(POLICY)
    life.record_baseline(BaselineVitals(at(0)))  # cuff failed: no BP
    life.physician_override(at(1), physician="Dr A", reason="cuff broken, clinically stable")
    assert life.may_start_infusion()
    life.record_baseline(vitals(2, 210, 120))
    assert not life.may_start_infusion()


def test_elevated_baseline_starts_after_review() -> None:
    life = planned(150, 92)
    life.physician_review(at(3), physician="Dr A", reason="known treated hypertension")
    life.start_infusion(at(5), author="rn1")
    assert life.phase is Phase.INFUSION


def test_annotations_in_any_open_phase_and_back_dated() -> None:
    life = running()
    life.pause_infusion(at(20), author="rn1", reason="nausea")
    life.annotate(EventKind.NAUSEA, at(18), author="rn1", score=2)
    life.annotate(EventKind.DISSOCIATION, at(21), author="rn1", score=12.0, text="CADSS-6")
    life.annotate(EventKind.INTERVENTION, at(21), author="rn1", text="ondansetron 4 mg IV")
    assert [e.phase for e in life.events[-3:]] == [Phase.INFUSION] * 3
    with pytest.raises(SessionRuleError, match="needs text"):
        life.annotate(EventKind.NOTE, at(22), author="rn1")
    with pytest.raises(SessionRuleError, match="not an annotation"):
        life.annotate(EventKind.INFUSION_START, at(22), author="rn1")


def test_rebuild_from_events_gives_the_same_state() -> None:
    life = in_discharge()
    life.annotate(EventKind.NOTE, at(77), author="rn1", text="escort arrived")
    life.check_discharge_item(at(78), item="escort_present", passed=True, author="rn1")
    again = SessionLifecycle.from_events(life.events, POLICY)
    assert (again.phase, again.infusion, again.discharge_checks) == (
        life.phase,
        life.infusion,
        life.discharge_checks,
    )
    assert again.plan == life.plan
    assert [e.kind for e in again.events] == [e.kind for e in life.events]


def test_unknown_discharge_item_is_refused() -> None:
    life = in_discharge()
    with pytest.raises(SessionRuleError, match="unknown discharge item"):
        life.check_discharge_item(at(77), item="ate_lunch", passed=True, author="rn1")
