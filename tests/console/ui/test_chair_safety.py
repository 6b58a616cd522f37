"""Issue 11, the chair's workflow hazards: each test reproduces one hazard through the real
window (pytest-qt, offscreen) against the simulated monitor, and shows it is gone.

Dialogs are answered by filling their fields and calling ``accept()``, as in test_workflow.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtGui import QAction, QKeySequence
from pytestqt.qtbot import QtBot

from console.app import ConsoleApp, install_signal_handlers
from console.domain.alarm_rules import AlarmCategory, Direction, Priority
from console.domain.discharge_gate import DischargeRefusedError
from console.domain.heart_rate_source import PULSE_AS_HR_LABEL
from console.domain.review import summarize
from console.domain.session import EventKind, Phase
from console.reports.html import alarms_html, events_html
from console.reports.pdf import write_pdf
from console.services.chair_service import ChairService
from console.services.demo_script import SCRIPT_AUTHOR
from console.services.session_handover import DEMO_STOP_REASON
from console.storage.review import ReviewRepository
from console.ui.chair_panel import ChairPanel
from console.ui.quit_guard import QuitDialog
from console.ui.session_dialogs import DischargeDialog, NewSessionDialog
from devices.model import Metric, Reading
from tests.console.review.test_reports import _pdf_text
from tests.console.ui.conftest import ConsoleFactory
from tests.console.ui.test_workflow import _dialog, _streaming, scripted_routine

pytestmark = [pytest.mark.gui, pytest.mark.slow]

NURSE = "Nurse Kim"
#: 30 simulated minutes in 6 s of wall time.
SPEED = 300.0


def _console(factory: ConsoleFactory, **overrides: object) -> ConsoleApp:
    app = factory(**{"simulator.speed": SPEED, **overrides})
    for panel in app.window.panels:
        panel.alarm_controls.operator.setText(NURSE)
    return app


def _new_session(panel: ChairPanel, mrn: str) -> int:
    panel.trigger("new")
    dialog: NewSessionDialog = _dialog(panel, NewSessionDialog)
    dialog.mrn.setText(mrn)
    dialog.look_up_patient()
    dialog.patient_name.setText(f"patient {mrn}")
    dialog.weight.setValue(80.0)
    dialog.dose.setValue(0.5)
    dialog.accept()
    assert panel.service.session_id is not None, panel.workflow_message.text()
    return panel.service.session_id


def _cuff(chair: ChairService, sbp: float, dbp: float) -> None:
    """A cuff reading through the chair's pipeline, as the runner hands it over."""
    now = chair.clock.now()
    mean = round((sbp + 2 * dbp) / 3)
    chair.pipeline.on_readings(
        [
            Reading(Metric.NIBP_SYS, sbp, "mm[Hg]", now),
            Reading(Metric.NIBP_DIA, dbp, "mm[Hg]", now),
            Reading(Metric.NIBP_MEAN, mean, "mm[Hg]", now),
        ]
    )
    chair.bridge.drain()


def _physiological(chair: ChairService) -> list[str]:
    return [a.key for a in chair.alarm_list if a.category is AlarmCategory.PHYSIOLOGICAL]


# -- item 2: the previous patient's alarms in the next patient's record ----------------------
def test_new_session_starts_clean_and_the_old_record_keeps_its_alarms(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory)
    panel, chair, repo = app.window.panel, app.chair, app.repository
    _streaming(qtbot, chair)
    sid_a = _new_session(panel, "MRN-A")
    # A per-patient limit change, a high SBP that latches, a DBP waiting for its repeat.
    chair.alarms.override_limit(
        Metric.SPO2, Direction.LOW, Priority.MEDIUM, 93, user=NURSE, reason="COPD, usual 93"
    )
    _cuff(chair, 215, 100)  # SBP >= 200: high at once, latching
    assert "NIBP_SYS:high" in _physiological(chair)
    qtbot.waitUntil(  # the simulated cuff's next (normal) reading ends the condition
        lambda: any(a.key == "NIBP_SYS:high" and a.latched for a in chair.alarm_list),
        timeout=15_000,
    )
    _cuff(chair, 150, 115)  # DBP >= 110: medium, repeat requested
    assert chair.repeat_requests
    latched = next(a for a in chair.alarm_list if a.key == "NIBP_SYS:high")
    assert latched.acknowledged_by is None
    assert panel.alarm_log.count() > 0
    assert panel.tiles["nibp"].value.text() == "150/115"

    sid_b = _new_session(panel, "MRN-B")
    started_b = chair.session_start

    # -- the new patient's screen ------------------------------------------------------------
    assert _physiological(chair) == []
    assert all(a.onset >= started_b for a in chair.alarm_list)
    assert chair.repeat_requests == ()
    snap = chair.pipeline.snapshot()
    assert snap.baseline is None
    assert snap.profile == app.settings.alarm_profile  # the limit change was A's
    assert not snap.infusion_running
    assert panel.tiles["nibp"].value.text() == "---"  # A's cuff reading is not B's BP
    assert all(ev.at >= started_b for ev in chair.alarm_log)
    assert all(len(chair.trends[m].arrays()[0]) == 0 for m in (Metric.NIBP_SYS,))
    for row in range(panel.alarm_log.count()):
        assert "215" not in panel.alarm_log.item(row).text()
        assert "115" not in panel.alarm_log.item(row).text()
    assert chair.lifecycle.phase is Phase.BASELINE
    # A new cuff reading for B is judged on its own (no baseline, no repeat from A).
    _cuff(chair, 130, 80)
    assert _physiological(chair) == []

    # -- the records -------------------------------------------------------------------------
    assert app.writer.flush()
    a_end = repo.session(sid_a).ended_at
    assert a_end is not None
    a_alarms = {a.condition: a for a in repo.alarms(sid_a)}
    assert a_alarms["NIBP_SYS:high"].priority == "high"
    assert a_alarms["NIBP_DIA:high"].ended_at is not None
    assert all(a.ended_at is not None for a in a_alarms.values()), "A's alarms end with A"
    assert all(a.ended_at <= a_end for a in a_alarms.values() if a.ended_at is not None), (
        a_end,
        a_alarms,
    )
    b_alarms = repo.alarms(sid_b)
    assert not [a for a in b_alarms if a.parameter.startswith("NIBP")]
    b_log = repo.alarm_log(sid_b)
    assert not [e for e in b_log if e.condition.startswith("NIBP")]
    assert all(_aware(e.at) >= _aware(started_b) for e in b_log)
    assert not [c for c in repo.profile_changes(sid_b) if "SPO2" in str(c) or "SpO2" in str(c)]
    assert [c for c in repo.profile_changes(sid_a) if "SpO2" in str(c) or "SPO2" in str(c)]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# -- item 8: no heart-rate alarm when the ECG is off ------------------------------------------
#: A GE monitor with its ECG leads off for the whole session (the monitor sends DATA_INVALID for
#: the ECG heart rate) while the SpO2 pulse climbs to ~135; at minute 12 the pulse is lost too.
ECG_OFF_SCENARIO = """
name = "ecg-off-tachycardia"
description = "ECG leads off; SpO2 pulse rate 135 sustained; then no pulse either."
duration_min = 30

[patient]
profile = "routine"
base_hr = 70

[[events]]
at_min = 0
action = "flag"
metric = "HR"
flag = "invalid"
duration_s = 1800

[[events]]
at_min = 2
action = "hr"
delta = 65
duration_s = 480
ramp_s = 10

[[events]]
at_min = 12
action = "flag"
metric = "PR"
flag = "invalid"
duration_s = 120
"""


def test_spo2_pulse_is_judged_as_hr_when_the_ecg_is_off(
    qtbot: QtBot, console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    scenario = tmp_path / "ecg-off.toml"
    scenario.write_text(ECG_OFF_SCENARIO)
    app = _console(
        console_factory, **{"simulator.scenario": str(scenario), "simulator.protocol": "datex"}
    )
    panel, chair = app.window.panel, app.chair
    _streaming(qtbot, chair)
    assert chair.driver_kind == "ge-datex"
    # The monitor's pty carries an HR the device flagged: no ECG heart rate reaches the screen.
    qtbot.waitUntil(lambda: Metric.PR in chair.latest, timeout=10_000)
    assert Metric.HR not in chair.latest
    assert panel.tiles["hr"].title.text() == PULSE_AS_HR_LABEL
    # A sustained pulse of ~135 raises the HR alarm, judged against the HR limits.
    qtbot.waitUntil(
        lambda: any(a.key == "HR:high" and a.priority is Priority.HIGH for a in chair.alarm_list),
        timeout=20_000,
    )
    hr_alarm = next(a for a in chair.alarm_list if a.key == "HR:high")
    assert hr_alarm.value is not None
    assert hr_alarm.value > 130
    assert panel.tiles["hr"].alarm is Priority.HIGH
    assert int(panel.tiles["hr"].value.text()) > 130
    # No heart-rate source at all (pulse lost too): a medium technical alarm on the HR tile.
    qtbot.waitUntil(lambda: any(a.key == "no_hr_source" for a in chair.alarm_list), timeout=20_000)
    lost = next(a for a in chair.alarm_list if a.key == "no_hr_source")
    assert lost.priority is Priority.MEDIUM
    assert lost.category is AlarmCategory.TECHNICAL
    assert lost.tile_metric is Metric.HR
    # The pulse comes back: the technical alarm ends.
    qtbot.waitUntil(
        lambda: not any(a.key == "no_hr_source" for a in chair.alarm_list), timeout=20_000
    )
    assert app.writer.flush()
    sid = chair.session_id
    assert sid is not None
    stored = {a.condition: a for a in app.repository.alarms(sid)}
    assert stored["HR:high"].priority == "high"
    assert "no_hr_source" in stored


# -- item 12: one rule for the HR of a Masimo chair, in the chair view and the overview -------
def test_masimo_chair_view_and_overview_show_the_same_heart_rate(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory, chairs=2, protocols=("datex", "masimo"))
    window = app.window
    assert window.overview is not None
    masimo = app.chairs[1]
    assert masimo.driver_kind == "masimo-radical"
    _streaming(qtbot, masimo)
    qtbot.waitUntil(lambda: Metric.PR in masimo.latest, timeout=10_000)
    panel = window.panels[1]
    tile = window.overview.tiles[1]
    # The same moment on both (no event processing in between): the same answer.
    panel.refresh()
    tile.refresh()
    assert panel.tiles["hr"].value.text() != "---"
    assert panel.tiles["hr"].value.text() == tile.hr.text()
    assert panel.tiles["hr"].title.text() == PULSE_AS_HR_LABEL
    assert tile.hr_caption.text() == f"{PULSE_AS_HR_LABEL} /min"
    window.show_chair(1)
    qtbot.wait(300)
    panel.refresh()
    tile.refresh()
    assert panel.tiles["hr"].value.text() == tile.hr.text()


# -- item 5: discharge with an open high alarm -----------------------------------------------
def _to_observation_end(qtbot: QtBot, panel: ChairPanel) -> ChairService:
    """A patient session through baseline and infusion, waited to the end of observation."""
    chair = panel.service
    _streaming(qtbot, chair)
    _new_session(panel, "MRN-5")
    panel.trigger("nibp")
    qtbot.waitUntil(lambda: bool(chair.lifecycle.baseline), timeout=10_000)
    panel.trigger("start")
    assert chair.lifecycle.phase is Phase.INFUSION, panel.workflow_message.text()
    chair.workflow.stop_infusion(NURSE, "completed")
    ends = chair.lifecycle.observation_ends_at()
    assert ends is not None
    qtbot.waitUntil(lambda: chair.clock.now() >= ends, timeout=20_000)
    return chair


def test_discharge_is_refused_with_an_open_high_alarm_unless_a_physician_overrides(
    qtbot: QtBot, console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    app = _console(console_factory)
    panel = app.window.panel
    chair = _to_observation_end(qtbot, panel)
    baseline = chair.pipeline.snapshot().baseline
    assert baseline is not None
    assert baseline.dbp is not None
    _cuff(chair, 150, 125)  # DBP >= 120: high at once, nobody acknowledges it
    assert any(a.key == "NIBP_DIA:high" and a.priority is Priority.HIGH for a in chair.alarm_list)
    _cuff(chair, 165, 96)  # the last NIBP: SBP over 160, DBP 96 > baseline + 20 %

    panel.trigger("end")
    dialog: DischargeDialog = _dialog(panel, DischargeDialog)
    assert dialog.refusal.isVisible()
    text = dialog.refusal.text()
    assert "DISCHARGE REFUSED" in text
    assert "high alarm" in text
    assert "DBP 125" in text
    assert "SBP 165 >= 160" in text
    assert "not within 20% of baseline" in text
    _cuff(chair, 128, 80)  # a normal cuff reading while the dialog is open: it follows
    assert "SBP 165" not in dialog.refusal.text()
    assert "high alarm" in dialog.refusal.text()
    _cuff(chair, 165, 96)
    assert "SBP 165 >= 160" in dialog.refusal.text()
    for box in dialog.checks.values():
        box.setChecked(True)
    assert not dialog.close_button.isEnabled()  # the nurse's ticks are not enough
    dialog.save_button.click()
    assert chair.lifecycle.phase is Phase.DISCHARGE
    assert not chair.lifecycle.closed
    # The service refuses too, whoever asks (and keeps the checks).
    with pytest.raises(DischargeRefusedError, match="high alarm"):
        chair.workflow.discharge(dict.fromkeys(chair.session_policy.discharge_items, True), NURSE)
    assert not chair.lifecycle.closed
    assert all(chair.lifecycle.discharge_checks.values())

    # -- a physician overrides, with a reason ------------------------------------------------
    panel.trigger("end")
    dialog = _dialog(panel, DischargeDialog)
    assert dialog.refusal.isVisible()
    assert not dialog.close_button.isEnabled()
    dialog.override_physician.setText("Dr Lee")
    assert not dialog.close_button.isEnabled()  # a reason is required
    dialog.override_reason.setText("known hypertensive, asymptomatic; GP follow-up tomorrow")
    assert dialog.close_button.isEnabled()
    sid = chair.session_id
    assert sid is not None
    dialog.close_button.click()
    assert chair.lifecycle.closed, panel.workflow_message.text()
    assert "overridden by Dr Lee" in panel.workflow_message.text()

    assert app.writer.flush()
    events = app.repository.events(sid)
    override = next(e for e in events if e.kind == EventKind.DISCHARGE_OVERRIDE)
    assert override.author == "Dr Lee"
    assert override.reason.startswith("known hypertensive")
    assert "high alarm" in override.text
    assert [e.kind for e in events][-2:] == [EventKind.DISCHARGE_OVERRIDE, EventKind.CLOSED]
    # Printed: the PDF report lists the override with its physician and reason.
    out = tmp_path / "report.pdf"
    stored = ReviewRepository(app.repository.engine).load(sid)
    write_pdf(stored, out, app.settings.alarm_profile)
    printed = _pdf_text(out)
    assert "discharge override" in events_html(stored, summarize(stored.inputs()))
    for word in ("override", "hypertensive", "Lee"):  # a table cell may wrap a phrase
        assert word in printed, word


def test_discharge_passes_when_vitals_are_back_and_alarms_answered(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory)
    panel = app.window.panel
    chair = _to_observation_end(qtbot, panel)
    gate = chair.workflow.discharge_gate()
    assert gate.passed, gate.describe()  # the routine simulated patient is back near baseline
    panel.trigger("end")
    dialog: DischargeDialog = _dialog(panel, DischargeDialog)
    assert not dialog.refusal.isVisible()
    for box in dialog.checks.values():
        box.setChecked(True)
    assert dialog.close_button.isEnabled()
    dialog.close_button.click()
    assert chair.lifecycle.closed


# -- item 10: an unconfirmed cuff reading recorded as high -----------------------------------
def test_unanswered_unconfirmed_cuff_reading_escalates_its_signal_not_its_record(
    qtbot: QtBot, console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    # A 10-min cuff cycle: the 2-min escalation comes well before the next regular reading.
    app = _console(console_factory, **{"simulator.nibp_interval_s": 600})
    panel, chair = app.window.panel, app.chair
    _streaming(qtbot, chair)
    sid = _new_session(panel, "MRN-10")
    # Just after a regular cuff reading, so the next one is 10 simulated minutes away.
    qtbot.waitUntil(lambda: chair.last_nibp_at is not None, timeout=15_000)
    previous = chair.last_nibp_at
    qtbot.waitUntil(lambda: chair.last_nibp_at != previous, timeout=15_000)
    _cuff(chair, 186, 95)  # >= 180: medium until a repeat confirms it; 186 is not extreme
    sbp = next(a for a in chair.alarm_list if a.key == "NIBP_SYS:high")
    assert sbp.priority is Priority.MEDIUM
    assert chair.audio.priority is Priority.MEDIUM
    assert len(chair.repeat_requests) == 1
    # Nobody answers for 2 min: the signal escalates, the alarm stays medium.
    qtbot.waitUntil(
        lambda: any(a.key == "NIBP_SYS:high" and a.escalated_unanswered for a in chair.alarm_list),
        timeout=5_000,
    )
    sbp = next(a for a in chair.alarm_list if a.key == "NIBP_SYS:high")
    assert sbp.priority is Priority.MEDIUM
    assert sbp.signal_priority is Priority.HIGH  # what the overview and the tone show
    # mypy keeps an earlier assert's narrowing across the calls that change it.
    assert chair.audio.priority is Priority.HIGH  # type: ignore[comparison-overlap]  # the escalated signal: the high tone
    request = chair.repeat_requests[0]
    assert request.prompted_again  # the repeat is asked for again at 2 min
    assert request.message.startswith("Repeat NIBP still needed")
    log_kinds = [e.kind.value for e in chair.alarm_log if e.key == "NIBP_SYS:high"]
    assert log_kinds.count("repeat_requested") == 2
    assert "signal_escalated" in log_kinds
    assert "escalated" not in log_kinds
    # The next regular reading is normal: the alarm ends unconfirmed.
    qtbot.waitUntil(
        lambda: not any(a.key == "NIBP_SYS:high" for a in chair.alarm_list), timeout=15_000
    )
    assert app.writer.flush()
    stored = [a for a in app.repository.alarms(sid) if a.condition == "NIBP_SYS:high"]
    assert [a.priority for a in stored] == ["medium"]  # never recorded as high
    kinds = [e.kind for e in app.repository.alarm_log(sid) if e.condition == "NIBP_SYS:high"]
    assert "signal_escalated" in kinds
    assert "escalated" not in kinds
    stored_session = ReviewRepository(app.repository.engine).load(sid)
    assert "unanswered: signal escalated" in alarms_html(summarize(stored_session.inputs()))
    out = tmp_path / "report.pdf"
    write_pdf(stored_session, out, app.settings.alarm_profile)
    assert "unanswered" in _pdf_text(out)  # printed (a table cell may wrap the phrase)


# -- item 4: closing the window during an infusion -------------------------------------------
def _infusing(qtbot: QtBot, panel: ChairPanel, mrn: str) -> int:
    chair = panel.service
    _streaming(qtbot, chair)
    sid = _new_session(panel, mrn)
    chair.workflow.physician_override(
        physician="Dr Lee", reason="manual BP 128/80 before the start"
    )
    chair.workflow.start_infusion(NURSE)
    assert chair.lifecycle.phase is Phase.INFUSION
    return sid


def test_closing_during_an_infusion_asks_records_the_reason_and_offers_resume(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory)
    window, panel, chair = app.window, app.window.panel, app.chair
    sid = _infusing(qtbot, panel, "MRN-4")
    assert app.writer.flush()
    events_before = len(app.repository.events(sid))

    window.close()  # the window's close button
    assert window.isVisible(), "the window closed without asking"
    dialog = window.quit_dialog
    assert isinstance(dialog, QuitDialog)
    assert dialog.isVisible()
    assert "Chair 1: MRN-4 patient MRN-4 - INFUSION" in dialog.sessions.text()
    assert not dialog.ok_button.isEnabled()  # a reason is required
    dialog.reject()  # not confirmed: nothing changes
    assert window.isVisible()
    assert chair.runner is not None
    assert chair.session_open
    assert app.writer.flush()
    assert len(app.repository.events(sid)) == events_before

    quit_action = window.findChild(QAction, "action-quit")
    assert quit_action is not None
    assert quit_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    quit_action.trigger()
    dialog = window.quit_dialog
    assert isinstance(dialog, QuitDialog)
    dialog.set_reason("console restart for an update")
    assert dialog.ok_button.isEnabled()
    dialog.accept()
    assert not window.isVisible()
    assert chair.runner is None  # monitoring stopped, records flushed
    record = app.repository.session(sid)
    assert record.ended_at is None  # unfinished: resumable
    assert record.phase == Phase.INFUSION.value
    last = app.repository.events(sid)[-1]
    assert last.kind == EventKind.INTERRUPTED
    assert last.reason == "console restart for an update"
    assert last.author == NURSE

    # The next start offers the session for resume.
    again = _console(console_factory)
    assert again.chair.pending_resume is not None
    assert again.chair.pending_resume.id == sid


def test_sigterm_closes_the_record_as_interrupted_and_resumable(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory)
    sid = _infusing(qtbot, app.window.panel, "MRN-15")
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        install_signal_handlers(app)
        os.kill(os.getpid(), signal.SIGTERM)  # from the operating system: nobody to ask
        qtbot.waitUntil(lambda: not app.window.isVisible(), timeout=5_000)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert app.window.quit_dialog is None
    assert app.chair.runner is None
    record = app.repository.session(sid)
    assert record.ended_at is None
    last = app.repository.events(sid)[-1]
    assert last.kind == EventKind.INTERRUPTED
    assert "SIGTERM" in last.reason
    assert app.repository.unfinished_sessions("Chair 1")[0].id == sid


# -- item 11: crash-resume ---------------------------------------------------------------------
def test_resume_continues_the_infusion_clock_and_the_gap_runs_forward(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory)  # x300: the record runs ahead of the real time
    chair = app.chair
    sid = _infusing(qtbot, app.window.panel, "MRN-11")
    qtbot.waitUntil(lambda: chair.workflow.progress().running_s > 600, timeout=15_000)  # type: ignore[union-attr]
    app.window.terminate("test: console restart")  # the record stays unfinished
    stored_end = app.repository.last_stored_at(sid)
    assert stored_end is not None
    progress = chair.workflow.progress(stored_end)
    assert progress is not None
    ran_s = progress.running_s

    again = _console(console_factory)  # a new console: a new x300 clock
    chair = again.chair
    panel = again.window.panel
    assert chair.clock.now() >= stored_end, "the new clock starts behind the stored record"
    assert chair.pending_resume is not None
    assert chair.pending_resume.id == sid
    qtbot.waitUntil(lambda: panel.resume_dialog is not None, timeout=5_000)
    assert panel.resume_dialog is not None
    panel.resume_dialog.resume_button.click()
    assert chair.session_id == sid, panel.workflow_message.text()
    assert chair.lifecycle.phase is Phase.INFUSION

    # The infusion clock continues from the stored elapsed time.
    progress = chair.workflow.progress()
    assert progress is not None
    assert progress.running_s >= ran_s
    panel.refresh()
    minutes = int(panel.strip.infusion.text().split(":")[0])
    assert minutes >= ran_s // 60, panel.strip.infusion.text()
    # The stored gap runs forward: from the end of the stored data to the resume.
    assert again.writer.flush()
    resumed = next(e for e in again.repository.events(sid) if e.kind == EventKind.RESUMED)
    assert resumed.at >= stored_end
    start, end = (datetime.fromisoformat(t) for t in resumed.text.split("from ")[1].split(" to "))
    assert start <= end


# -- item 7: the demo chair acts on its own ----------------------------------------------------
def test_simulated_chair_runs_no_workflow_step_unless_its_scenario_says_so(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory)  # the plain simulator: no scenario says "scripted"
    chair = app.chair
    _streaming(qtbot, chair)
    qtbot.waitUntil(lambda: chair.session_seconds() > 8 * 60, timeout=15_000)  # past minute 5
    assert chair.phase is None  # a monitoring-only record, waiting for a nurse
    assert not chair.scripted_infusion
    assert not chair.pipeline.snapshot().infusion_running
    assert app.writer.flush()
    sid = chair.session_id
    assert sid is not None
    assert not [e for e in app.repository.events(sid) if e.author == SCRIPT_AUTHOR]


def test_a_person_takes_over_a_scripted_demo_chair_and_the_script_stops(
    qtbot: QtBot, console_factory: ConsoleFactory, tmp_path: Path
) -> None:
    app = _console(console_factory, **{"simulator.scenario": scripted_routine(tmp_path)})
    panel, chair = app.window.panel, app.chair
    qtbot.waitUntil(lambda: chair.lifecycle.phase is Phase.INFUSION, timeout=15_000)
    demo_id = chair.session_id
    sid = _new_session(panel, "MRN-7")  # not refused by the script's infusion
    assert sid != demo_id
    assert not chair.scripted_infusion
    # The script's stop (minute 45) comes and goes: nothing lands in the nurse's session.
    qtbot.waitUntil(lambda: chair.session_seconds() > 46 * 60, timeout=20_000)
    assert chair.lifecycle.phase is Phase.BASELINE
    assert app.writer.flush()
    assert not [e for e in app.repository.events(sid) if e.author == SCRIPT_AUTHOR]
    demo_events = app.repository.events(demo_id)  # type: ignore[arg-type]
    stop = next(e for e in demo_events if e.kind == EventKind.INFUSION_STOP)
    assert stop.author == NURSE
    assert stop.reason == DEMO_STOP_REASON


def test_a_refused_new_session_keeps_the_dialog_open_with_what_was_typed(
    qtbot: QtBot, console_factory: ConsoleFactory
) -> None:
    app = _console(console_factory)
    panel, chair = app.window.panel, app.chair
    sid = _infusing(qtbot, panel, "MRN-70")
    panel.trigger("new")
    dialog: NewSessionDialog = _dialog(panel, NewSessionDialog)
    dialog.mrn.setText("MRN-71")
    dialog.look_up_patient()
    dialog.patient_name.setText("Next patient")
    dialog.weight.setValue(64.0)
    dialog.dose.setValue(0.6)
    dialog.accept()
    assert dialog.isVisible(), "the refused dialog closed and lost what was typed"
    assert panel.dialog is dialog
    assert dialog.not_done.isVisible()
    assert "still running" in dialog.not_done.text()
    assert (dialog.mrn.text(), dialog.patient_name.text()) == ("MRN-71", "Next patient")
    assert (dialog.weight.value(), dialog.dose.value()) == (64.0, 0.6)
    assert chair.session_id == sid
    # Once the infusion is stopped, the same dialog goes through with what was typed.
    chair.workflow.stop_infusion(NURSE, "completed")
    dialog.accept()
    assert not dialog.isVisible()
    assert chair.session_id != sid
    assert chair.patient_record is not None
    assert chair.patient_record.mrn == "MRN-71"
    assert chair.plan is not None
    assert chair.plan.weight_kg == 64.0
