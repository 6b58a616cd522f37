"""The nurse's session workflow on the chair view, end to end against the simulator.

Dialogs are opened window-modal by the panel and answered here by filling their fields and
calling ``accept()`` (no nested event loop), exactly as the nurse's clicks would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.app import ConsoleApp, build_app
from console.config import load, simulated_chairs
from console.domain.session import (
    EventKind,
    IllegalTransitionError,
    InfusionState,
    Phase,
    SessionEvent,
)
from console.services.chair_service import ChairService
from console.services.demo_script import SCRIPT_AUTHOR
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.ui.chair_panel import ChairPanel
from console.ui.session_dialogs import (
    AnnotationDialog,
    DischargeDialog,
    GateDialog,
    NewSessionDialog,
    ReasonDialog,
)
from console.ui.theme import STYLE_SHEET
from devices.model import DeviceState
from devices.resources import resource

pytestmark = [pytest.mark.gui, pytest.mark.slow]


#: 30 simulated minutes of observation in 6 s of wall time.
SPEED = 300.0
NURSE = "Nurse Kim"

Factory = Callable[..., ConsoleApp]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'console.sqlite3'}"


@pytest.fixture
def console_factory(qtbot: QtBot, db_url: str, tmp_path: Path) -> Iterator[Factory]:
    made: list[ConsoleApp] = []

    def make(chairs: int = 1, **overrides: object) -> ConsoleApp:
        settings = load(
            overrides={"storage.db_url": db_url, "simulator.speed": SPEED, **overrides},
            environ={},
        )
        if chairs > 1:
            settings = replace(settings, chairs=simulated_chairs(chairs, settings.simulator))
        app = build_app(settings, journal_dir=tmp_path / "journal", sound=False)
        qtbot.addWidget(app.window)
        app.window.setStyleSheet(STYLE_SHEET)
        app.window.show()
        # The records open on each chair's database worker, after the window is up.
        qtbot.waitUntil(lambda: not any(c.record_opening for c in app.chairs), timeout=15_000)
        for panel in app.window.panels:
            panel.alarm_controls.operator.setText(NURSE)
        made.append(app)
        return app

    yield make
    for app in made:
        app.shutdown()


def _streaming(qtbot: QtBot, chair: ChairService) -> None:
    qtbot.waitUntil(lambda: chair.link_state == DeviceState.STREAMING.value, timeout=15_000)


def _dialog(panel: ChairPanel, kind: type[Any]) -> Any:
    dialog = panel.dialog
    assert isinstance(dialog, kind), f"expected a {kind.__name__}, got {dialog!r}"
    assert dialog.isVisible()
    return dialog


def _start_patient_session(qtbot: QtBot, panel: ChairPanel, mrn: str = "MRN-1001") -> int:
    panel.trigger("new")
    dialog: NewSessionDialog = _dialog(panel, NewSessionDialog)
    dialog.mrn.setText(mrn)
    dialog.look_up_patient()
    qtbot.waitUntil(lambda: dialog.lookup_pending is None)  # answered on the database worker
    dialog.patient_name.setText("J.D.")
    dialog.weight.setValue(82.0)
    dialog.dose.setValue(0.5)
    dialog.accept()
    assert panel.service.session_id is not None
    return panel.service.session_id


def _kinds(events: list[SessionEvent]) -> list[str]:
    return [e.kind for e in events]


def scripted_routine(tmp_path: Path) -> str:
    """The routine scenario, saying ``session = "scripted"`` (issue 11 item 7)."""
    path = tmp_path / "scripted-routine.toml"
    routine = resource("scenarios", "routine.toml").read_text(encoding="utf-8")
    path.write_text('session = "scripted"\n' + routine)
    return str(path)


def test_demo_chair_runs_its_infusion_only_in_a_scenario_that_says_so(
    qtbot: QtBot, console_factory: Factory, tmp_path: Path
) -> None:
    app = console_factory(**{"simulator.scenario": scripted_routine(tmp_path)})
    panel, chair = app.window.panel, app.chair
    assert panel.sim_badge.isVisible()
    assert chair.patient_record is not None
    assert chair.patient_record.mrn == "SIMULATED"
    assert chair.patient == "SIMULATED Simulated patient (demo)"  # the overview's label
    assert chair.phase is Phase.BASELINE
    assert chair.scripted_infusion
    assert panel.strip.phase.text() == "BASELINE"
    assert "SIMULATED" in panel.strip.patient.text()
    # The scenario's infusion starts at 5 min: the script takes the step, the engine follows.
    qtbot.waitUntil(lambda: chair.lifecycle.phase is Phase.INFUSION, timeout=15_000)
    start = next(e for e in chair.lifecycle.events if e.kind == EventKind.INFUSION_START)
    assert start.author == SCRIPT_AUTHOR
    assert chair.pipeline.snapshot().infusion_running
    assert chair.lifecycle.baseline, "the pre-dose cuff readings became baseline sets"
    assert [label for _m, label in panel.plots.markers] == ["start"]
    qtbot.waitUntil(lambda: panel.strip.phase.text() == "INFUSION", timeout=3_000)


def test_whole_session_through_the_dialogs_is_stored(
    qtbot: QtBot, console_factory: Factory
) -> None:
    app = console_factory()
    panel, chair, repo = app.window.panel, app.chair, app.repository
    _streaming(qtbot, chair)
    demo_id = chair.session_id

    # -- start a session in one dialog, with inline validation -------------------------------
    panel.trigger("new")
    dialog: NewSessionDialog = _dialog(panel, NewSessionDialog)
    assert not dialog.ok_button.isEnabled()  # no MRN yet
    dialog.mrn.setText("MRN-1001")
    dialog.look_up_patient()
    qtbot.waitUntil(lambda: dialog.lookup_pending is None)  # answered on the database worker
    assert "new patient" in dialog.patient_status.text()
    dialog.patient_name.setText("J.D.")
    dialog.weight.setValue(260.0)
    assert dialog.messages["weight"].isVisible()
    assert "20-250 kg" in dialog.messages["weight"].text()
    assert not dialog.ok_button.isEnabled()
    dialog.weight.setValue(82.0)
    dialog.dose.setValue(1.2)
    assert "above 1 mg/kg" in dialog.messages["dose"].text()  # a warning, not a block
    assert dialog.ok_button.isEnabled()
    dialog.dose.setValue(1.8)
    assert "0.1-1.5 mg/kg" in dialog.messages["dose"].text()
    assert not dialog.ok_button.isEnabled()
    dialog.dose.setValue(0.5)
    assert dialog.total.text().startswith("41 mg")
    assert dialog.rate.text().startswith("150 mL/h")  # 100 mL over 40 min
    assert "SIMULATED" in dialog.monitor.text()
    dialog.accept()
    sid = chair.session_id
    assert sid is not None
    assert sid != demo_id
    record = repo.session(sid)
    assert record.patient_id is not None
    assert record.series_number == 1
    assert panel.strip.phase.text() == "BASELINE"
    assert "MRN-1001 J.D.  #1" in panel.strip.patient.text()

    # -- the pre-dose gate: no baseline BP yet, so the start asks for a physician ----------
    with pytest.raises(IllegalTransitionError, match="pre-dose gate not passed"):
        chair.workflow.start_infusion(NURSE)
    panel.trigger("start")
    gate: GateDialog = _dialog(panel, GateDialog)
    assert gate.override
    assert not gate.ok_button.isEnabled()
    gate.reject()
    panel.trigger("nibp")  # the simulated cuff measures at once (30 s)
    assert "NIBP requested" in panel.workflow_message.text()
    qtbot.waitUntil(lambda: bool(chair.lifecycle.baseline), timeout=10_000)
    assert chair.lifecycle.may_start_infusion()  # a routine patient: gate clear

    # -- infusion ---------------------------------------------------------------------------
    panel.trigger("start")
    assert chair.lifecycle.infusion is InfusionState.RUNNING, panel.workflow_message.text()
    snapshot = chair.pipeline.snapshot()
    assert snapshot.infusion_running
    assert snapshot.baseline is not None
    assert snapshot.baseline.sbp == chair.lifecycle.baseline[-1].sbp
    qtbot.waitUntil(lambda: chair.session_seconds() > 4 * 60, timeout=10_000)

    panel.trigger("rate")
    rate: ReasonDialog = _dialog(panel, ReasonDialog)
    assert rate.rate is not None
    assert rate.rate.value() == 150.0
    assert not rate.ok_button.isEnabled()  # a reason is required
    rate.rate.setValue(120.0)
    rate.set_reason("dissociation")
    rate.accept()
    assert chair.lifecycle.rate_ml_per_h == 120.0

    panel.trigger("annotate")
    note: AnnotationDialog = _dialog(panel, AnnotationDialog)
    note.choose("Dissociation, CADSS-6 (0-24)", score=6)
    note.accept()
    panel.trigger("annotate")
    note = _dialog(panel, AnnotationDialog)
    note.choose("Intervention (drug, O2, ...)")
    assert not note.ok_button.isEnabled()  # an intervention needs its details
    note.choose("Intervention (drug, O2, ...)", text="ondansetron 4 mg IV")
    note.accept()
    assert "left" in panel.strip.infusion.text()
    assert "120 mL/h" in panel.strip.infusion.text()

    qtbot.waitUntil(lambda: chair.session_seconds() > 8 * 60, timeout=10_000)
    panel.trigger("stop")
    stop: ReasonDialog = _dialog(panel, ReasonDialog)
    assert stop.reason_text() == "completed"
    stop.set_reason("dissociation")
    stop.accept()
    assert chair.lifecycle.phase is Phase.OBSERVATION
    assert not chair.pipeline.snapshot().infusion_running
    labels = [label for _m, label in panel.plots.markers]
    assert labels == ["start", "rate 120", "CADSS-6 6", "ondansetron 4 mg IV", "stop"]

    # -- observation: the checklist waits for the minimum --------------------------------------
    panel.trigger("end")
    early: DischargeDialog = _dialog(panel, DischargeDialog)
    assert early.blocker.isVisible()
    assert "Minimum observation not reached" in early.blocker.text()
    assert not early.close_button.isEnabled()
    early.reject()
    with pytest.raises(IllegalTransitionError, match="minimum observation"):
        chair.workflow.discharge(dict.fromkeys(chair.session_policy.discharge_items, True), NURSE)
    assert "left" in panel.strip.observation.text()
    ends = chair.lifecycle.observation_ends_at()
    assert ends is not None
    qtbot.waitUntil(lambda: chair.clock.now() >= ends, timeout=15_000)

    # -- discharge: one check missing keeps the session open; all checks close it -----------
    panel.trigger("end")
    checks: DischargeDialog = _dialog(panel, DischargeDialog)
    assert not checks.blocker.isVisible()
    for item, box in checks.checks.items():
        box.setChecked(item != "escort_present")
    assert not checks.close_button.isEnabled()
    checks.save_button.click()
    # mypy keeps an earlier assert's narrowing across the calls that change it.
    assert chair.lifecycle.phase is Phase.DISCHARGE  # type: ignore[comparison-overlap]
    assert "escort_present" in panel.workflow_message.text()
    panel.trigger("end")
    checks = _dialog(panel, DischargeDialog)
    checks.checks["escort_present"].setChecked(True)
    checks.close_button.click()
    assert chair.lifecycle.closed
    assert chair.session_id is None
    assert panel.strip.phase.text() == "CLOSED"

    # -- the record ----------------------------------------------------------------------------
    assert app.writer.flush()
    events = repo.events(sid)
    kinds = _kinds(events)
    nurse_steps = [
        EventKind.INFUSION_START,
        EventKind.RATE_CHANGE,
        EventKind.DISSOCIATION,
        EventKind.INTERVENTION,
        EventKind.INFUSION_STOP,
        EventKind.DISCHARGE_START,
        EventKind.CLOSED,
    ]
    order = [k for k in kinds if k in nurse_steps]
    assert order == nurse_steps
    assert kinds[:2] == [EventKind.INFUSION_PLANNED, EventKind.NOTE]
    assert EventKind.BASELINE_VITALS in kinds
    by_kind = {e.kind: e for e in events}
    assert all(by_kind[k].author == NURSE for k in nurse_steps)
    assert by_kind[EventKind.RATE_CHANGE].rate_ml_per_h == 120.0
    assert by_kind[EventKind.RATE_CHANGE].reason == "dissociation"
    assert by_kind[EventKind.DISSOCIATION].score == 6.0
    stop_ev = by_kind[EventKind.INFUSION_STOP]
    assert stop_ev.reason == "dissociation"
    assert stop_ev.dose_mg is not None
    assert 0 < stop_ev.dose_mg < 41
    assert any(e.data.get("request") == "nibp" for e in events)
    checks_stored = repo.discharge_checks(sid)
    assert len(checks_stored) == 5 + 1  # escort failed once, then passed
    record = repo.session(sid)
    assert record.ended_at is not None
    assert record.phase == Phase.CLOSED.value
    assert (record.weight_kg, record.dose_mg, record.rate_ml_per_h) == (82.0, 41.0, 120.0)
    sessions = {s.id: s for s in repo.list_sessions()}
    assert sessions[demo_id].ended_at is not None  # the demo record was handed over
    assert sessions[sid].patient == "MRN-1001"


def test_illegal_steps_are_refused_with_a_message_and_change_nothing(
    qtbot: QtBot, console_factory: Factory
) -> None:
    app = console_factory()
    panel, chair = app.window.panel, app.chair
    _streaming(qtbot, chair)
    sid = _start_patient_session(qtbot, panel)
    before = list(chair.lifecycle.events)
    for action, words in (
        ("pause", "cannot pause the infusion: it is not_started"),
        ("rate", "cannot change the rate: the infusion is not_started"),
        ("stop", "cannot stop the infusion: it is not_started"),
    ):
        panel.trigger(action)
        assert panel.dialog is None
        assert words in panel.workflow_message.text()
        assert panel.workflow_message.text().startswith("Not done:")
    panel.trigger("end")  # baseline: only ending early is possible
    dialog: DischargeDialog = _dialog(panel, DischargeDialog)
    assert "not run" in dialog.blocker.text()
    assert not dialog.close_button.isEnabled()
    assert not dialog.end_button.isEnabled()  # a reason is required
    dialog.reject()
    assert chair.lifecycle.events == before
    chair.workflow.physician_override(
        physician="Dr Lee", reason="baseline cuff failed, manual BP 128/80"
    )
    chair.workflow.start_infusion(NURSE)
    with pytest.raises(IllegalTransitionError, match="still running"):
        chair.workflow.new_session(chair.plan, user=NURSE)  # type: ignore[arg-type]
    panel.trigger("new")
    new = _dialog(panel, NewSessionDialog)
    new.mrn.setText("MRN-2002")
    new.accept()
    assert "still running" in panel.workflow_message.text()
    assert chair.session_id == sid
    assert chair.lifecycle.infusion is InfusionState.RUNNING
    assert app.writer.flush()
    stored = _kinds(app.repository.events(sid))
    assert EventKind.INFUSION_PAUSE not in stored
    assert stored.count(EventKind.INFUSION_START) == 1


def _unfinished_session(db_url: str) -> tuple[int, datetime]:
    """A session a crashed console left mid-infusion: planned, gate passed, pump running."""
    engine = make_engine(db_url)
    repo = SessionRepository(engine)
    repo.upgrade()
    t0 = datetime.now(UTC) - timedelta(minutes=20)
    # Weighed on the session's own day: "today" 20 min after midnight is a weight from the
    # day after the session started, which the plan's rules refuse on resume.
    weighed = t0.date()
    pid = repo.add_patient("MRN-7", "A.B.", weight_kg=70.0, weight_measured_on=weighed)
    sid = repo.create_session(
        chair="Chair 1", started_at=t0, simulated=True, device_kind="ge-datex", patient_id=pid
    )
    steps = [
        SessionEvent(
            "infusion_planned",
            t0,
            NURSE,
            rate_ml_per_h=150.0,
            dose_mg=35.0,
            data={
                "weight_kg": 70.0,
                "weight_measured_on": weighed.isoformat(),
                "dose_mg_per_kg": 0.5,
                "route": "IV",
            },
        ),
        SessionEvent(
            "note",
            t0,
            NURSE,
            text="plan",
            data={"plan": "session", "mrn": "MRN-7", "volume_ml": 100.0, "infusion_min": 40.0},
        ),
        SessionEvent(
            "baseline_vitals",
            t0 + timedelta(minutes=2),
            "monitor",
            data={"sbp": 122.0, "dbp": 76.0, "hr": 70.0, "spo2": 98.0, "verdict": "clear"},
        ),
        SessionEvent(
            "infusion_start", t0 + timedelta(minutes=5), NURSE, rate_ml_per_h=150.0, dose_mg=35.0
        ),
    ]
    for ev in steps:
        repo.record_event(sid, ev)
    engine.dispose()
    return sid, t0


def test_resume_is_offered_and_continues_the_same_record(
    qtbot: QtBot, console_factory: Factory, db_url: str
) -> None:
    sid, t0 = _unfinished_session(db_url)
    app = console_factory()
    panel, chair = app.window.panel, app.chair
    assert chair.pending_resume is not None
    assert chair.pending_resume.id == sid
    assert chair.session_id is None  # data are held until the nurse answers
    qtbot.waitUntil(lambda: panel.resume_dialog is not None, timeout=5_000)
    assert panel.resume_dialog is not None
    assert panel.strip.phase.text() == "RESUME?"
    panel.trigger("start")  # nothing acts before the answer
    assert "answer the resume question first" in panel.workflow_message.text()
    _streaming(qtbot, chair)
    qtbot.waitUntil(lambda: chair.link_state == DeviceState.STREAMING.value, timeout=5_000)
    qtbot.wait(300)  # a few readings arrive while the question is open
    panel.resume_dialog.resume_button.click()

    assert chair.session_id == sid
    assert chair.pending_resume is None
    assert chair.session_start == t0
    assert chair.lifecycle.phase is Phase.INFUSION
    assert chair.lifecycle.infusion is InfusionState.RUNNING
    assert chair.pipeline.snapshot().infusion_running
    assert chair.plan is not None
    assert chair.plan.volume_ml == 100.0
    assert panel.strip.phase.text() == "INFUSION"
    assert [label for _m, label in panel.plots.markers] == ["start", "resumed (gap)"]
    chair.workflow.annotate(EventKind.NAUSEA, NURSE, text="nausea", score=3)
    assert app.writer.flush()
    repo = app.repository
    record = repo.session(sid)
    assert record.resumed
    assert record.ended_at is None
    kinds = _kinds(repo.events(sid))
    assert kinds.count(EventKind.RESUMED) == 1
    assert kinds[-1] == EventKind.NAUSEA
    assert repo.readings(sid), "the readings held during the question went to the record"
    assert len(repo.list_sessions()) == 1  # no throw-away session was created


def test_start_new_instead_of_resume_closes_the_old_record(
    qtbot: QtBot, console_factory: Factory, db_url: str
) -> None:
    sid, _t0 = _unfinished_session(db_url)
    app = console_factory()
    chair = app.chair
    assert chair.pending_resume is not None
    chair.decide_resume(False, user=NURSE)  # headless: answered programmatically
    assert chair.pending_resume is None
    assert chair.session_id is not None
    assert chair.session_id != sid
    assert not chair.scripted_infusion  # no scenario says so: the chair waits for a nurse
    assert chair.phase is None
    assert app.window.panel.resume_dialog is None or not app.window.panel.resume_dialog.isVisible()
    old = app.repository.session(sid)
    assert old.ended_at is not None
    assert not old.resumed
    notes = [e for e in app.repository.events(sid) if e.kind == EventKind.NOTE]
    assert "not resumed" in notes[-1].text


def test_keys_reach_only_the_chair_on_screen(qtbot: QtBot, console_factory: Factory) -> None:
    app = console_factory(chairs=2)
    window = app.window
    first, second = window.panels
    for chair in app.chairs:
        _streaming(qtbot, chair)
    window.show_chair(1)
    _start_patient_session(qtbot, second)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2_000)
    qtbot.keyClick(window, Qt.Key.Key_F9)
    assert "NIBP requested" in second.workflow_message.text()
    assert first.workflow_message.text() == ""
    assert app.chairs[1].nibp_requested_at is not None
    assert app.chairs[0].nibp_requested_at is None
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert isinstance(second.dialog, NewSessionDialog)
    second.dialog.reject()
    assert first.dialog is None
