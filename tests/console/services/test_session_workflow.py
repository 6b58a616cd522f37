"""SessionWorkflow without Qt: the nurse's session from New session to discharge.

The workflow runs against the real alarm pipeline and record keeper; the chair around it
(screen, simulator, database worker) is a plain fake host that writes down what it was asked.
No QApplication, no event loop: the rules can be read and tested on their own (issue 13).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from console.config import load
from console.domain.alarm_events import AlarmEvent, AlarmEventKind
from console.domain.alarms import Direction, Priority
from console.domain.discharge_gate import DischargeRefusedError
from console.domain.pipeline import ChairOutputs, ChairPipeline
from console.domain.session import (
    EventKind,
    IllegalTransitionError,
    InfusionState,
    Phase,
    SessionEvent,
    SessionRuleError,
)
from console.services.chair_alarm_actions import ChairAlarmActions
from console.services.chair_record import OpenedRecord
from console.services.record_keeper import RecordKeeper
from console.services.session_handover import DEMO_STOP_REASON
from console.services.session_values import LatestValue, SessionPlan
from console.services.session_workflow import MONITOR_AUTHOR, SessionWorkflow
from console.storage.items import SessionEventItem
from console.storage.repository import PatientRecord, SessionSummary
from devices.model import Metric
from tests.console.domain.test_pipeline import FakeClock

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
NURSE = "rn.kim"


class _Writer:
    """Stands in for the storage writer: keeps what was submitted."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def submit(self, item: Any) -> None:
        self.items.append(item)

    def events(self, session_id: int) -> list[SessionEvent]:
        return [
            i.event
            for i in self.items
            if isinstance(i, SessionEventItem) and i.session_id == session_id
        ]


@dataclass
class _Host:
    """The chair around the workflow, as plain lists."""

    keeper: RecordKeeper
    scripted_infusion: bool = False
    next_id: int = 2
    shown: list[SessionEvent] = field(default_factory=list)
    changes: int = 0
    calls: list[str] = field(default_factory=list)
    ended: list[tuple[datetime, str, int | None]] = field(default_factory=list)

    def on_session_event(self, ev: SessionEvent) -> None:
        self.shown.append(ev)

    def on_session_changed(self) -> None:
        self.changes += 1

    def take_over_script(self) -> None:
        self.scripted_infusion = False
        self.calls.append("take_over")

    def retime_patient(self) -> None:
        self.calls.append("retime")

    def request_cuff(self, now: datetime) -> None:
        self.calls.append("cuff")

    def end_record(self, now: datetime, *, user: str, then: int | None = None) -> None:
        self.ended.append((now, user, then))
        self.keeper.detach()
        if then is not None:
            self.keeper.adopt(then)

    def open_patient_record(self, plan: SessionPlan, now: datetime) -> OpenedRecord:
        self.calls.append(f"open {plan.mrn}")
        patient = PatientRecord(7, plan.mrn, plan.display_name, None, plan.weight_kg, now.date())
        sid, self.next_id = self.next_id, self.next_id + 1
        return OpenedRecord(session_id=sid, series_number=1, patient=patient)

    def start_clean(self, now: datetime) -> None:
        self.calls.append("start_clean")


@dataclass
class _Chair:
    workflow: SessionWorkflow
    host: _Host
    writer: _Writer
    clock: FakeClock
    latest: dict[Metric, LatestValue]
    alarm_events: list[AlarmEvent]
    alarm_refreshes: list[int]


@pytest.fixture
def chair() -> _Chair:
    """A workflow on a monitoring-only record (id 1), as a chair has after start-up."""
    settings = load(environ={})
    clock, writer = FakeClock(T0), _Writer()
    alarm_events: list[AlarmEvent] = []
    outputs = ChairOutputs(
        readings=lambda rs: None,
        alarms=alarm_events.extend,
        technical=lambda ev: None,
        state=lambda st: None,
    )
    pipeline = ChairPipeline(settings.alarm_profile, [outputs])
    refreshes: list[int] = []
    alarms = ChairAlarmActions(
        pipeline, clock, settings.alarm_policy, lambda: refreshes.append(len(refreshes))
    )
    keeper = RecordKeeper(cast(Any, writer), "Chair 1")
    host = _Host(keeper)
    latest: dict[Metric, LatestValue] = {}
    workflow = SessionWorkflow(
        "Chair 1",
        keeper=keeper,
        alarms=alarms,
        latest=latest,
        host=host,
        measures_nibp=True,
    )
    workflow.begin_record(OpenedRecord(session_id=1), None, clock.now(), "console")
    return _Chair(workflow, host, writer, clock, latest, alarm_events, refreshes)


def _plan(mrn: str = "MRN-1") -> SessionPlan:
    return SessionPlan(
        mrn=mrn,
        display_name="Test patient",
        weight_kg=70.0,
        weight_measured_on=date(2026, 12, 1),
        dose_mg_per_kg=0.5,
    )


def _advance(chair: _Chair, minutes: float) -> None:
    chair.clock.set(chair.clock.now() + timedelta(minutes=minutes))


def _cuff(chair: _Chair, sbp: float, dbp: float) -> None:
    """A cuff reading reaches the screen's latest values (as ChairService does)."""
    now = chair.clock.now()
    chair.latest[Metric.NIBP_SYS] = LatestValue(sbp, now, None)
    chair.latest[Metric.NIBP_DIA] = LatestValue(dbp, now, None)
    chair.workflow.maybe_record_baseline()


def test_module_imports_no_qt() -> None:
    code = (
        "import sys, console.services.session_workflow, console.services.chair_alarm_actions\n"
        "sys.exit(any(m.split('.')[0] == 'PySide6' for m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[3]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_a_session_from_new_session_to_discharge(chair: _Chair) -> None:
    flow = chair.workflow
    assert flow.phase is None  # monitoring only: no patient yet
    sid = flow.new_session(_plan(), user=NURSE)
    assert sid == 2
    assert chair.host.ended == [(T0, NURSE, 2)]  # the monitoring record ended first
    assert chair.host.calls[:2] == ["open MRN-1", "start_clean"]
    assert flow.patient == "MRN-1 Test patient"
    assert flow.phase is Phase.BASELINE
    kinds = [e.kind for e in chair.writer.events(2)]
    assert kinds == [EventKind.INFUSION_PLANNED, EventKind.NOTE]  # plan, then its pump note

    _cuff(chair, 122.0, 78.0)
    baseline = chair.writer.events(2)[-1]
    assert (baseline.kind, baseline.author) == (EventKind.BASELINE_VITALS, MONITOR_AUTHOR)
    _cuff(chair, 122.0, 78.0)  # the same reading again: not a second set
    assert len(chair.writer.events(2)) == 3

    _advance(chair, 1)
    flow.start_infusion(NURSE)
    assert flow.lifecycle.infusion is InfusionState.RUNNING
    snap = flow.pipeline.snapshot()
    assert snap.baseline is not None
    assert (snap.baseline.sbp, snap.baseline.dbp) == (122.0, 78.0)
    assert "take_over" in chair.host.calls

    _advance(chair, 40)
    progress = flow.progress()
    assert progress is not None
    stop = flow.stop_infusion(NURSE, "completed")
    assert stop.kind == EventKind.INFUSION_STOP
    assert flow.phase is Phase.OBSERVATION
    with pytest.raises(SessionRuleError):
        flow.discharge(dict.fromkeys(flow.policy.discharge_items, True), NURSE)
    assert flow.phase is Phase.OBSERVATION  # a refused opening changes nothing

    _advance(chair, 31)
    _cuff(chair, 118.0, 76.0)
    assert flow.discharge_gate().passed
    assert flow.discharge_needs() != []
    closed = flow.discharge(dict.fromkeys(flow.policy.discharge_items, True), NURSE)
    assert closed
    assert flow.lifecycle.closed
    assert chair.host.ended[-1] == (chair.clock.now(), NURSE, None)
    assert chair.writer.events(2)[-1].kind == EventKind.CLOSED
    # Every stored step was shown, in the order stored: first the monitoring record's end.
    assert chair.host.shown == chair.writer.events(1) + chair.writer.events(2)
    assert chair.writer.events(1)[0].kind == EventKind.ABORTED


def test_actions_without_a_patient_session_are_refused_and_change_nothing(
    chair: _Chair,
) -> None:
    flow = chair.workflow
    before = list(chair.writer.items)
    with pytest.raises(IllegalTransitionError, match="no patient session"):
        flow.start_infusion(NURSE)
    with pytest.raises(IllegalTransitionError, match="no patient session"):
        flow.annotate(EventKind.NAUSEA, NURSE, score=2)
    assert flow.interrupt(NURSE, "console closing") is None
    assert chair.writer.items == before
    assert chair.host.shown == []


def test_the_resume_question_comes_first(chair: _Chair) -> None:
    flow = chair.workflow
    flow.pending_resume = cast(SessionSummary, object())
    with pytest.raises(IllegalTransitionError, match="resume question"):
        flow.new_session(_plan(), user=NURSE)
    assert flow.phase is None
    assert chair.host.calls == []  # the database was not asked


def test_a_refused_plan_asks_no_database(chair: _Chair) -> None:
    flow = chair.workflow
    with pytest.raises(SessionRuleError):
        flow.new_session(_plan(mrn="  "), user=NURSE)
    bad = SessionPlan("MRN-2", "X", 70.0, date(2026, 12, 1), dose_mg_per_kg=5.0)  # 10x error
    with pytest.raises(SessionRuleError):
        flow.new_session(bad, user=NURSE)
    assert chair.host.calls == []


def _infusing(chair: _Chair) -> None:
    chair.workflow.new_session(_plan(), user=NURSE)
    _cuff(chair, 122.0, 78.0)
    _advance(chair, 1)
    chair.workflow.start_infusion(NURSE)


def test_a_running_infusion_blocks_new_session_unless_the_script_runs_it(chair: _Chair) -> None:
    flow = chair.workflow
    _infusing(chair)
    with pytest.raises(IllegalTransitionError, match="still running"):
        flow.new_session(_plan("MRN-9"), user=NURSE)
    # The simulator's script runs it (a demo): the nurse's New session stops it on the record.
    chair.host.scripted_infusion = True
    _advance(chair, 5)
    sid = flow.new_session(_plan("MRN-9"), user="rn.lee")
    old = chair.writer.events(2)
    stop = next(e for e in old if e.kind == EventKind.INFUSION_STOP)
    assert (stop.author, stop.reason) == ("rn.lee", DEMO_STOP_REASON)
    assert old[-1].kind == EventKind.ABORTED  # replaced by the new session, on its record
    assert flow.patient == "MRN-9 Test patient"
    assert chair.writer.events(sid)[0].kind == EventKind.INFUSION_PLANNED


def test_nibp_now_is_recorded_and_starts_the_cuff(chair: _Chair) -> None:
    flow = chair.workflow
    flow.new_session(_plan(), user=NURSE)
    ev = flow.request_nibp(NURSE)
    assert ev.data == {"request": "nibp"}
    assert flow.nibp_requested_at == chair.clock.now()
    assert chair.host.calls[-1] == "cuff"


def test_interrupt_leaves_the_session_open_for_resume(chair: _Chair) -> None:
    flow = chair.workflow
    flow.new_session(_plan(), user=NURSE)
    ev = flow.interrupt(NURSE, "console closing")
    assert ev is not None
    assert flow.interrupted
    assert chair.host.ended == [(T0, NURSE, 2)]  # not ended: resumed next start


def test_a_high_alarm_refuses_discharge_unless_a_physician_overrides(chair: _Chair) -> None:
    flow = chair.workflow
    _infusing(chair)
    _advance(chair, 40)
    flow.stop_infusion(NURSE, "completed")
    _advance(chair, 31)
    _cuff(chair, 200.0, 118.0)  # far above the limits: the gate refuses
    checks = dict.fromkeys(flow.policy.discharge_items, True)
    with pytest.raises(DischargeRefusedError):
        flow.discharge(checks, NURSE)
    assert not flow.lifecycle.closed
    assert flow.discharge(checks, NURSE, physician="Dr Lee", override_reason="manual BP 130/80")
    kinds = [e.kind for e in chair.writer.events(2)[-2:]]
    assert kinds == [EventKind.DISCHARGE_OVERRIDE, EventKind.CLOSED]


def test_a_limit_change_for_the_patient_goes_to_the_engine_once(chair: _Chair) -> None:
    flow = chair.workflow
    flow.new_session(_plan(), user=NURSE)
    refreshes = len(chair.alarm_refreshes)
    flow.alarms.override_limit(
        Metric.HR, Direction.HIGH, Priority.MEDIUM, 125.0, user=NURSE, reason="athlete"
    )
    changed = [e for e in chair.alarm_events if e.kind is AlarmEventKind.PROFILE_CHANGED]
    assert changed
    assert changed[-1].actor == NURSE
    assert len(chair.alarm_refreshes) == refreshes + 1  # the screen re-read the engine
    assert any(r.limit == 125.0 for r in flow.alarms.policy.rules_for(Metric.HR, Direction.HIGH))
