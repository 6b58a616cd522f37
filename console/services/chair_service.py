"""One chair: its device link, alarm pipeline, session record and live state for the screen.

The service wires the parts together (simulator pty or real port -> runner -> pipeline ->
storage writer and bridge) and keeps the chair's live state on the GUI thread.  Widgets observe
it through signals and never reach into the device layer.

It also runs the chair's session workflow (clinical.md A-G): every nurse action goes through
the chair's :class:`~console.domain.session.SessionLifecycle` first (an illegal step raises
:class:`~console.domain.session.SessionRuleError` and changes nothing), is then stored through
the writer with time and author, and finally drives the alarm engine (infusion running,
pre-dose baseline).  One rule order, one place: the widgets only ask and show.

Simulated chairs: only a scenario that says ``session = "scripted"`` starts a *demo session*
at once (demo patient ``SIMULATED``, plan 0.5 mg/kg for 70 kg, baseline from the simulated
cuff) whose infusion follows the scenario's script; otherwise the chair opens a monitoring-only
record and waits for the nurse (issue 11 item 7).  As soon as a nurse acts on the infusion, or
starts a session of their own (which stops a scripted demo infusion, on the record), the script
stops driving the record and the simulated patient's infusion follows the nurse's start and
stop buttons instead.

Restart after a crash: :meth:`ChairService.start` looks for the chair's unfinished session and,
depending on :attr:`ChairService.resume_policy`, resumes it, closes it, or (``ask``, the GUI
default) keeps monitoring while it waits for :meth:`ChairService.decide_resume`; data arriving
meanwhile is held and written to whichever session is chosen, so nothing is lost and no
throw-away session record is created.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from PySide6.QtCore import QObject, Signal
from sqlalchemy.exc import DBAPIError, OperationalError

from console.config import Settings
from console.domain.alarm_engine import AlarmStatus, AudioStatus
from console.domain.alarm_events import RepeatRequest
from console.domain.alarm_rules import LimitError
from console.domain.alarms import (
    AlarmEvent,
    AlarmPolicy,
)
from console.domain.discharge_gate import DischargeGate, DischargeRefusedError, assess_discharge
from console.domain.heart_rate_source import HEART_RATE_METRICS
from console.domain.session import (
    EventKind,
    IllegalTransitionError,
    InfusionState,
    Phase,
    SessionEvent,
    SessionLifecycle,
    SessionPolicy,
    SessionRuleError,
)
from console.services.chair_alarm_actions import ChairAlarmActions
from console.services.chair_assembly import make_pipeline, simulated_scenario
from console.services.chair_link import ChairLink
from console.services.chair_record import ChairRecordStore, OpenedRecord
from console.services.db_tasks import DatabaseTasks
from console.services.demo_script import (
    SCRIPT_AUTHOR,
    DemoScript,
    demo_plan,
    retime_simulated_patient,
)
from console.services.device_bridge import DeviceBridge
from console.services.driver_factory import tell_session_mrn
from console.services.plot_buffer import NO_SAMPLES, RingBuffer
from console.services.record_keeper import RecordKeeper
from console.services.record_opener import RecordOpener
from console.services.session_handover import DEMO_STOP_REASON, hand_over, start_clean
from console.services.session_status import checkpoint_status, cuff_baseline, discharge_needs
from console.services.session_values import (
    InfusionProgress,
    LatestValue,
    ResumePolicy,
    SessionPlan,
    ShownAlarm,
    infusion_progress,
    plan_from,
)
from console.storage.repository import PatientRecord, SessionRepository, SessionSummary
from console.storage.writer import (
    SessionEndItem,
    SessionEventItem,
    StorageWriter,
)
from devices.base import Driver
from devices.clock import Clock
from devices.model import (
    NIBP_METRICS,
    DeviceState,
    Metric,
    Reading,
    TechnicalEvent,
    TechnicalEventKind,
)
from devices.registry import driver_class
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.launch import SimulatedMonitor, driver_kind
from devices.simulator.pty_endpoint import PtyEndpoint
from devices.simulator.scenario import Scenario

log = logging.getLogger("ui.chair")

#: Alarm log entries kept for the live view.
ALARM_LOG_SHOWN = 200
#: Trend history kept in memory per metric: 6 h of 1 Hz samples.
TREND_CAPACITY = 6 * 3600
#: Author of baseline vitals taken from the monitor's cuff readings.
MONITOR_AUTHOR = "monitor"


class ChairService(ChairAlarmActions, QObject):
    """Live state and plumbing of one chair.

    Signals:
        sig_vitals_updated(): new readings are in ``latest`` and the trend buffers.
        sig_alarms_changed(): alarm state changed (``active_alarms``, ``alarm_list``, ``audio``,
            ``repeat_requests``).
        sig_link_state_changed(str): the device link changed state.
        sig_technical_event(str, str): a technical event (kind, detail) for the status line.
        sig_alarm_logged(list): new alarm log entries.
        sig_session_changed(): the session, its phase, plan or patient changed.
        sig_session_event(object): a lifecycle event was accepted and stored.
        sig_resume_offered(object): an unfinished session waits for :meth:`decide_resume`.

    Args:
        settings: the chair's settings.
        writer: the shared storage writer.
        repository: session queries (patients, session records, resume).
        clock: the chair's clock (accelerated for a simulated demo).
        resume_policy: what :meth:`start` does with an unfinished session (see
            :class:`ResumePolicy`); the GUI asks, headless callers pass ``resume`` or ``new``.
        parent: Qt parent.
    """

    sig_vitals_updated = Signal()
    """New readings are in ``latest`` and the trend buffers."""
    sig_alarms_changed = Signal()
    """Alarm state changed: ``active_alarms``, ``alarm_list``, ``audio``, ``repeat_requests``."""
    sig_link_state_changed = Signal(str)
    """The device link changed state."""
    sig_technical_event = Signal(str, str)
    """A technical event: kind and detail."""
    sig_alarm_logged = Signal(list)
    """New alarm log entries (AlarmEvent list, oldest first), as stored."""
    sig_session_changed = Signal()
    """The session record, its phase, plan or patient changed (``lifecycle``, ``plan``)."""
    sig_session_event = Signal(object)
    """One lifecycle event (SessionEvent) was accepted and stored."""
    sig_resume_offered = Signal(object)
    """An unfinished session (SessionSummary) waits for :meth:`decide_resume`."""

    def __init__(
        self,
        settings: Settings,
        *,
        writer: StorageWriter,
        repository: SessionRepository,
        clock: Clock,
        resume_policy: ResumePolicy = ResumePolicy.ASK,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.writer = writer
        self.repository = repository
        self.clock = clock
        self.policy: AlarmPolicy = settings.alarm_policy
        self.simulated = settings.device.simulated
        #: Where the chair's data go: its record, the held spool, or nowhere.
        self.keeper = RecordKeeper(writer, settings.chair_name)
        self.session_start: datetime = clock.now()
        self.latest: dict[Metric, LatestValue] = {}
        self.last_nibp_at: datetime | None = None
        self.active_alarms: dict[str, ShownAlarm] = {}
        #: Every listed alarm (technical ones about no parameter included), most urgent first.
        self.alarm_list: tuple[AlarmStatus, ...] = ()
        #: What the alarm sound should do (the UI's sound player follows it).
        self.audio: AudioStatus = AudioStatus(None)
        #: Pending repeat-NIBP requests to show (confirm-by-repeat, clinical.md b2).
        self.repeat_requests: tuple[RepeatRequest, ...] = ()
        #: The newest alarm log entries of this session (the full log is in the database).
        self.alarm_log: deque[AlarmEvent] = deque(maxlen=ALARM_LOG_SHOWN)
        self.link_state = DeviceState.CONNECTING.value
        self.frame_errors = 0
        self.trends: dict[Metric, RingBuffer] = {m: RingBuffer(TREND_CAPACITY) for m in Metric}
        self.bridge = DeviceBridge(self, name=f"bridge-{settings.chair_name}")
        self.bridge.sig_readings_received.connect(self._on_bridge_readings)
        self.bridge.sig_alarms_changed.connect(self._on_bridge_alarms)
        self.bridge.sig_state_changed.connect(self._on_bridge_state)
        self.bridge.sig_technical_received.connect(self._on_bridge_technical)
        #: The simulated chair's script (None for a real monitor); resolved now so a bad
        #: scenario name is a start-up error, not a surprise when the session starts.
        self.scenario: Scenario | None = simulated_scenario(settings) if self.simulated else None
        self.driver_kind = (
            driver_kind(settings.simulator.protocol) if self.simulated else settings.device.kind
        )
        self.driver_cls = driver_class(self.driver_kind)
        self.pipeline = make_pipeline(
            settings,
            self.driver_cls,
            [self.keeper.outputs(), self.bridge.outputs()],
            scenario=self.scenario,
        )
        #: The simulator's scripted demo infusion (console.services.demo_script).
        self.script = DemoScript(self)
        #: The device link: simulator, port, runner thread, alarm ticker.
        self.link = ChairLink(settings, self.pipeline, clock, self.driver_cls, self.scenario)
        # -- the session workflow ------------------------------------------------------------
        #: The clinic's lifecycle presets (observation minimum, gate, discharge checklist).
        self.session_policy = SessionPolicy()
        #: The current session's rules and timeline (a closed one stays until the next).
        self.lifecycle = SessionLifecycle(self.session_policy)
        #: The start-session plan (volume, duration, pump); None without a patient session.
        self.plan: SessionPlan | None = None
        #: The session's patient as registered (None for a monitoring-only record).
        self.patient_record: PatientRecord | None = None
        #: The session's number in the patient's series (clinical.md A 2).
        self.series_number: int | None = None
        #: True while the simulator's script drives the demo session's infusion.
        self.resume_policy = resume_policy
        #: The unfinished session waiting for :meth:`decide_resume` (ResumePolicy.ASK).
        self.pending_resume: SessionSummary | None = None
        #: When the nurse last asked for an NIBP measurement ("NIBP now").
        self.nibp_requested_at: datetime | None = None
        self._last_baseline_at: datetime | None = None
        #: The console closed with this session open (interrupt): stop() leaves it unfinished.
        self.interrupted = False
        records = ChairRecordStore(
            repository,
            chair=settings.chair_name,
            simulated=self.simulated,
            device_kind=self.driver_kind,
            device_url=lambda: self.device_url,
            session_policy=self.session_policy,
            clock=clock,
        )
        #: The record's conversation with the database, on the chair's database worker.
        self.opener = RecordOpener(
            settings.chair_name,
            records,
            on_opened=self._on_record_opened,
            on_health=self.set_storage_available,
            on_retry=self._on_record_retry_timeout,
            parent=self,
        )

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def scripted_infusion(self) -> bool:
        """True while the simulator's script drives the demo session's infusion."""
        return self.script.active

    @scripted_infusion.setter
    def scripted_infusion(self, active: bool) -> None:
        self.script.active = active

    @property
    def device_url(self) -> str:
        """The pyserial URL the chair reads (the simulator's pty path when simulated)."""
        return self.link.url

    @property
    def runner(self) -> DeviceRunner | None:
        """The thread that reads the chair's port (None when stopped)."""
        return self.link.runner

    @property
    def endpoint(self) -> PtyEndpoint | None:
        """The simulator's pty while it runs (tests unplug it)."""
        return self.link.endpoint

    @property
    def simulator(self) -> SimulatedMonitor | None:
        """The virtual monitor of a simulated chair."""
        return self.link.simulator

    def start(self) -> None:
        """Start the simulator if any and start reading; the record opens meanwhile."""
        self.session_start = self.clock.now()
        self.link.start(self.session_start)
        self._tell_link_patient()
        self.bridge.start()
        # On the database worker: the window opens and monitors while the record opens.
        self._open_record_or_hold()

    def device_parts(self) -> tuple[Driver, LinkConfig]:
        """The chair's driver and port settings, as ``run`` builds them too."""
        return self.link.parts()

    def stop(self) -> None:
        """Stop reading, close the session record and flush it to the database."""
        self.bridge.stop()
        self.script.cancel()
        self.link.stop()
        self.bridge.drain()
        self.opener.stop()  # a record open still on its way is applied first
        if self.session_id is not None and self.interrupted:
            self.writer.flush()  # everything written; the record stays open for resume
        elif self.session_id is not None:
            # Through the writer, behind the session's last readings: with the database away
            # the end is journalled with them instead of raising here.
            self.writer.submit(SessionEndItem(self.session_id, self.clock.now()))
            self.writer.flush()
        elif self.keeper.holding:
            # Nobody answered the resume question: keep what was measured in a new record
            # rather than dropping it; the unfinished session stays offered next time.
            profile = self.pipeline.snapshot().profile
            try:
                start = self.session_start
                sid, _ = self.opener.db_tasks.wait(
                    lambda: self.opener.records.create(start, None, profile)
                )
            except (OperationalError, DBAPIError) as err:
                log.error(
                    "chair %s: database still unreachable at shutdown; what was measured "
                    "stays in the writer's held spool for this chair's next record: %s",
                    self.settings.chair_name,
                    str(getattr(err, "orig", None) or err).splitlines()[0],
                )
                self.opener.db_tasks.close()
                return
            self.keeper.adopt(sid)
            self.writer.submit(SessionEndItem(sid, self.clock.now()))
            self.writer.flush()
        self.opener.db_tasks.close()

    def session_seconds(self, at: datetime | None = None) -> float:
        """Seconds since the session started (on the chair's clock)."""
        return ((at or self.clock.now()) - self.session_start).total_seconds()

    # -- session records: open, resume, hand over ------------------------------------------
    @property
    def patient(self) -> str | None:
        """The patient as a label ("MRN name"), or None: what the overview tiles show."""
        rec = self.patient_record
        if rec is None or self.lifecycle.plan is None:
            return None
        return f"{rec.mrn} {rec.display_name}".strip()

    @property
    def phase(self) -> Phase | None:
        """The session's phase, or None without a patient session (overview tiles)."""
        if self.pending_resume is not None or self.lifecycle.plan is None:
            return None
        return self.lifecycle.phase

    @property
    def session_open(self) -> bool:
        """True while a session record takes the chair's data and its lifecycle is not closed."""
        return self.session_id is not None and not self.lifecycle.closed

    def decide_resume(self, resume: bool, *, user: str) -> None:
        """Answer the resume question asked at start (:attr:`pending_resume`).

        Resuming continues the same session record (the repository records the gap) and
        rebuilds its lifecycle from the stored events; starting new closes the unfinished
        record with a note.  Either way the data held since start-up goes to the chosen record.

        Raises:
            IllegalTransitionError: the session cannot be resumed (its record cannot be
                rebuilt, or it lies in the future of an accelerated simulated clock); the
                question stays open.
        """
        summary = self.pending_resume
        if summary is None:
            return
        profile = self.pipeline.snapshot().profile
        opened = self.opener.ask(
            lambda: self.opener.records.decide(
                summary,
                resume=resume,
                by=user,
                started_at=self.session_start,
                profile=profile,
                demo=self._demo_session,
            )
        )
        self.pending_resume = None
        if opened.resumed is not None:
            self._resume(opened)
        else:
            self._open_initial_session(self.session_start, opened)
            if self.scripted_infusion and self.scenario is not None:
                timeline = self.scenario.timeline
                self.script.follow(timeline.infusion_start_s, timeline.infusion_end_s)
        self.sig_session_changed.emit()

    def new_session(self, plan: SessionPlan, *, user: str) -> int:
        """Start a patient's session from the start-session dialog; returns the record's id.

        The current record (a demo or monitoring-only session, or a finished patient) is
        ended first: a record belongs to one patient, and the repository numbers the new one
        in the patient's series.  The alarm limits go back to the clinic default, the trends
        start again at 0 and a simulated patient waits for the nurse's start button.

        Raises:
            IllegalTransitionError: the resume question is open, or an infusion still runs.
            SessionRuleError: the plan breaks a lifecycle rule (weight, dose, rate, route).
        """
        if self.pending_resume is not None:
            raise IllegalTransitionError(
                "answer the resume question first (resume the unfinished session or start new)"
            )
        old = self.lifecycle
        running = self.session_id is not None and old.infusion in (
            InfusionState.RUNNING,
            InfusionState.PAUSED,
        )
        if running and not self.scripted_infusion:  # the script's demo infusion is nobody's
            raise IllegalTransitionError(
                "the current session's infusion is still running: stop it (with a reason) "
                "before starting a new session"
            )
        if not plan.mrn.strip():
            raise SessionRuleError("a patient needs an MRN or clinic code")
        now = self.clock.now()
        # The rules first, on a scratch lifecycle: a refused plan changes nothing.
        SessionLifecycle(self.session_policy).plan_infusion(
            now,
            weight_kg=plan.weight_kg,
            weight_measured_on=plan.weight_measured_on,
            dose_mg_per_kg=plan.dose_mg_per_kg,
            rate_ml_per_h=plan.rate_ml_per_h,
            route=plan.route,
        )
        # The patient and the new record first, on the database worker (the screen stays
        # live; a database that cannot be reached refuses the action and changes nothing).
        # The limits go back to the clinic default as the old record ends (_end_record): that
        # is the profile this session starts with.
        opened = self.opener.ask(
            lambda: self.opener.records.new_patient_session(
                mrn=plan.mrn,
                display_name=plan.display_name,
                weight_kg=plan.weight_kg,
                weight_measured_on=plan.weight_measured_on,
                at=now,
                profile=self.settings.alarm_profile,
            )
        )
        patient, sid = opened.patient, opened.session_id
        assert patient is not None
        assert sid is not None
        self.series_number = opened.series_number
        now = max(now, self.clock.now())  # the screen (and script) ran on while it was stored
        running = self.session_id is not None and old.infusion in (
            InfusionState.RUNNING,
            InfusionState.PAUSED,
        )
        if running:  # a scripted demo infusion: stopped by the person who takes the chair
            self.stop_infusion(user, DEMO_STOP_REASON)
            now = max(now, self.clock.now())  # the steps that follow come after the stop
        if self.session_id is not None and not old.closed:
            why = "replaced by a new session (New session)"
            self._record(old.abort(now, author=user, reason=why))
        self._end_record(now, user=user, then=sid)
        self.lifecycle = SessionLifecycle(self.session_policy)
        self.patient_record = patient
        self.session_start = now
        for buf in self.trends.values():
            buf.clear()
        self._last_baseline_at = None
        start_clean(self)
        self.sig_vitals_updated.emit()  # the screen drops the last patient's values now
        self._record_plan(plan, now, user)
        self._retime_simulated_patient()
        log.info("chair %s: new session %s", self.settings.chair_name, sid)  # no MRN in logs
        self._tell_link_patient()
        self.sig_session_changed.emit()
        return sid

    # -- nurse actions (GUI thread): lifecycle first, then the record, then the engine ------
    def physician_review(self, *, physician: str, reason: str) -> SessionEvent:
        """Record a physician's review of an elevated baseline (b1 "review")."""
        self._require_session("record a physician review")
        ev = self.lifecycle.physician_review(self.clock.now(), physician=physician, reason=reason)
        return self._accepted(ev)

    def physician_override(self, *, physician: str, reason: str) -> SessionEvent:
        """Record a physician's override of a blocked pre-dose gate (b1 "do not start")."""
        self._require_session("record a physician override")
        ev = self.lifecycle.physician_override(self.clock.now(), physician=physician, reason=reason)
        return self._accepted(ev)

    def start_infusion(self, user: str, reason: str = "") -> SessionEvent:
        """Start the pump: fixes the engine's pre-dose baseline and starts infusion alarms.

        Raises:
            SessionRuleError: no session, not in baseline, no plan or the gate not passed.
        """
        self._require_session("start the infusion")
        ev = self.lifecycle.start_infusion(self.clock.now(), author=user, reason=reason)
        self._record(ev)
        self.script.take_over()
        self.apply_baseline(user)
        self.set_infusion_running(True)
        self._retime_simulated_patient()
        self.sig_session_changed.emit()
        return ev

    def pause_infusion(self, user: str, reason: str) -> SessionEvent:
        """Pause the pump with a reason (C 16).

        The alarm engine keeps infusion-phase monitoring (NIBP overdue, comm-lost escalation)
        during a pause: the drug is on board and the pump may restart any minute.
        """
        self._require_session("pause the infusion")
        ev = self.lifecycle.pause_infusion(self.clock.now(), author=user, reason=reason)
        self.script.take_over()
        return self._accepted(ev)

    def resume_infusion(self, user: str, reason: str = "") -> SessionEvent:
        """Restart a paused pump at the current rate."""
        self._require_session("resume the infusion")
        ev = self.lifecycle.resume_infusion(self.clock.now(), author=user, reason=reason)
        self.script.take_over()
        return self._accepted(ev)

    def change_rate(self, rate_ml_per_h: float, user: str, reason: str) -> SessionEvent:
        """Change the pump rate with a reason (C 16); the remaining time follows."""
        self._require_session("change the rate")
        ev = self.lifecycle.change_rate(
            self.clock.now(), rate_ml_per_h=rate_ml_per_h, author=user, reason=reason
        )
        self.script.take_over()
        return self._accepted(ev)

    def stop_infusion(self, user: str, reason: str) -> SessionEvent:
        """Stop the pump: observation starts; the dose given is computed from the pump events."""
        self._require_session("stop the infusion")
        now = self.clock.now()
        progress = self.progress(now)
        ev = self.lifecycle.stop_infusion(
            now,
            author=user,
            reason=reason,
            dose_given_mg=None if progress is None else progress.dose_given_mg,
        )
        self._record(ev)
        self.script.take_over()
        self.set_infusion_running(False)
        self._retime_simulated_patient()
        self.sig_session_changed.emit()
        return ev

    def request_nibp(self, user: str) -> SessionEvent:
        """ "NIBP now": record the request and, on the simulator, start the cuff at once.

        A real monitor's cuff is started on the monitor (no driver sends that command); the
        request still goes on the record, so the timeline shows who asked and when.
        """
        self._require_session("request an NIBP")
        now = self.clock.now()
        ev = self.lifecycle.annotate(
            EventKind.NOTE, now, author=user, text="NIBP measurement requested (NIBP now)"
        )
        ev = replace(ev, data={"request": "nibp"})
        self.lifecycle.events[-1] = ev
        self.nibp_requested_at = now
        if self.simulator is not None:
            request = getattr(self.simulator.monitor, "request_nibp", None)
            if callable(request) and not request(now):
                log.info("chair %s: the cuff is already measuring", self.settings.chair_name)
        return self._accepted(ev)

    def annotate(
        self,
        kind: EventKind,
        user: str,
        *,
        text: str = "",
        score: float | None = None,
        dose_mg: float | None = None,
    ) -> SessionEvent:
        """Time-stamp an observation: nausea, vomiting, dissociation, intervention, note."""
        self._require_session("annotate the session")
        ev = self.lifecycle.annotate(
            kind, self.clock.now(), author=user, text=text, score=score, dose_mg=dose_mg
        )
        return self._accepted(ev)

    def discharge(
        self,
        checks: Mapping[str, bool],
        user: str,
        note: str = "",
        *,
        physician: str = "",
        override_reason: str = "",
    ) -> bool:
        """Answer the discharge checklist (clinical.md F 29) and close when every item passed.

        Opens the checklist first when the minimum observation is over; a refused opening
        (too early) changes nothing.  Answers are recorded even when some items fail, so the
        record shows what was checked; the session stays in discharge until all pass.  Even
        then it closes only when :meth:`discharge_gate` passes, or a ``physician`` overrides
        it with an ``override_reason`` (recorded before the close, issue 11 item 5).

        Returns:
            True when the session was closed.

        Raises:
            SessionRuleError: no session, wrong phase, or the observation minimum not reached.
            DischargeRefusedError: the gate refused and nobody overrode it (checks kept).
        """
        self._require_session("close the session")
        life = self.lifecycle
        if life.phase not in (Phase.OBSERVATION, Phase.DISCHARGE):
            raise IllegalTransitionError(
                f"cannot run the discharge checks in the {life.phase.value} phase: stop the "
                "infusion and complete the observation first (or end the session early with "
                "a reason)"
            )
        now = self.clock.now()
        if life.phase is Phase.OBSERVATION:
            self._record(life.begin_discharge(now, author=user))
        for item in self.session_policy.discharge_items:
            if item in checks and life.discharge_checks.get(item) is not checks[item]:
                self._record(
                    life.check_discharge_item(
                        now, item=item, passed=bool(checks[item]), author=user, note=note
                    )
                )
        closed = all(life.discharge_checks.get(i) for i in self.session_policy.discharge_items)
        gate = self.discharge_gate() if closed else None
        if gate is not None and not gate.passed:
            if not (physician.strip() and override_reason.strip()):
                self.sig_session_changed.emit()
                raise DischargeRefusedError(f"discharge refused: {gate.describe()}")
            self._record(
                life.override_discharge(
                    now, physician=physician, reason=override_reason, refused=gate.describe()
                )
            )
        if closed:
            self._record(life.close(now, author=user))
            self._end_record(now, user=user)
        self.sig_session_changed.emit()
        return closed

    def discharge_gate(self) -> DischargeGate:
        """Whether alarms and the last NIBP allow discharge now (console.domain.discharge_gate)."""
        snap = self.pipeline.snapshot()
        sys_, dia, base = self.latest.get(Metric.NIBP_SYS), self.latest.get(Metric.NIBP_DIA), None
        if snap.baseline is not None:
            base = (snap.baseline.sbp, snap.baseline.dbp)
        return assess_discharge(
            snap.alarms,
            policy=snap.profile.policy,
            last_nibp=None if sys_ is None or dia is None else (sys_.value, dia.value),
            baseline=base,
            measures_nibp=Metric.NIBP_SYS in self.driver_cls.metrics,
        )

    def interrupt(self, user: str, reason: str) -> SessionEvent | None:
        """Record that the console closes with this session open (issue 11 item 4); the
        record is then left unfinished at :meth:`stop` and offered for resume next start.

        Returns:
            The ``interrupted`` event, or None when no patient session is open.
        """
        if not self.session_open or self.lifecycle.plan is None:
            return None
        ev = self._record(self.lifecycle.interrupt(self.clock.now(), author=user, reason=reason))
        self.interrupted = True
        return ev

    def end_session_early(self, user: str, reason: str) -> SessionEvent:
        """End the session without the full checklist (declined, transfer): reason required."""
        self._require_session("end the session")
        now = self.clock.now()
        ev = self.lifecycle.abort(now, author=user, reason=reason)
        self._record(ev)
        self._end_record(now, user=user)
        self.sig_session_changed.emit()
        return ev

    # -- session status for the screen ---------------------------------------------------------
    def progress(self, now: datetime | None = None) -> InfusionProgress | None:
        """Pump progress of the session (None before a plan exists)."""
        life = self.lifecycle
        if life.plan is None:
            return None
        volume = self.plan.volume_ml if self.plan is not None else life.plan.rate_ml_per_h * 40 / 60
        end = life.infusion_stopped_at or now or self.clock.now()
        return infusion_progress(life.events, volume_ml=volume, dose_mg=life.plan.dose_mg, now=end)

    def nibp_interval_s(self) -> float:
        """The cuff's automatic cycle (the simulator's, or the configured one)."""
        if self.scenario is not None:
            return self.scenario.nibp.interval_s
        return self.settings.alarm_nibp_interval_s

    def next_nibp_due(self) -> datetime | None:
        """When the next NIBP result is expected (a requested one first)."""
        requested = self.nibp_requested_at
        last = self.last_nibp_at
        if requested is not None and (last is None or requested > last):
            return requested + timedelta(seconds=30.0)
        if last is not None:
            return last + timedelta(seconds=self.nibp_interval_s())
        if self.simulator is not None and self.scenario is not None:
            first = self.scenario.nibp.first_start_s + 30.0
            return self.simulator.session_start + timedelta(seconds=first)
        return None

    def checkpoint(self, now: datetime | None = None) -> tuple[str, str]:
        """The 40-minute BP checkpoint (C 13): (state, text); see :func:`checkpoint_status`."""
        return checkpoint_status(
            self.lifecycle.infusion_started_at,
            self.session_start,
            self.trends[Metric.NIBP_SYS],
            self.trends[Metric.NIBP_DIA],
            now or self.clock.now(),
        )

    def discharge_needs(self, now: datetime | None = None) -> list[str]:
        """What still stands between the patient and the door, in plain words."""
        return discharge_needs(self.lifecycle, now or self.clock.now())

    # -- session helpers ------------------------------------------------------------------------
    @property
    def record_opening(self) -> bool:
        """True while the record is being opened on the database worker (data are held)."""
        return self.opener.opening

    @property
    def storage_problem(self) -> str | None:
        """Why the session record cannot be opened right now (database unreachable), if so."""
        return self.opener.problem

    @property
    def db_tasks(self) -> DatabaseTasks:
        """The chair's database worker (the new-session dialog looks patients up on it)."""
        return self.opener.db_tasks

    @property
    def session_id(self) -> int | None:
        """The record that takes the chair's data now (None: none is open)."""
        return self.keeper.session_id

    @property
    def last_session_id(self) -> int | None:
        """The newest record this chair wrote to (still set after a session is closed)."""
        return self.keeper.last_session_id

    def _record(self, ev: SessionEvent) -> SessionEvent:
        self.keeper.submit(lambda sid: SessionEventItem(sid, ev))
        self.sig_session_event.emit(ev)
        return ev

    def record_step(self, ev: SessionEvent) -> SessionEvent:
        """Store a lifecycle step another part took (the demo script) and show it."""
        return self._record(ev)

    def _retime_simulated_patient(self) -> None:
        """Make the simulated patient's infusion follow the record (the nurse's buttons)."""
        if self.simulator is not None and not self.scripted_infusion:
            planned = self.plan.infusion_min if self.plan is not None else None
            retime_simulated_patient(self.simulator, self.lifecycle, planned)

    def _accepted(self, ev: SessionEvent) -> SessionEvent:
        self._record(ev)
        self.sig_session_changed.emit()
        return ev

    def _require_session(self, action: str) -> None:
        if self.pending_resume is not None:
            raise IllegalTransitionError(
                f"cannot {action}: answer the resume question first (resume or start new)"
            )
        if self.session_id is None or self.lifecycle.plan is None:
            raise IllegalTransitionError(
                f"cannot {action}: no patient session on this chair; "
                "start one with New session (Ctrl+N)"
            )

    def set_storage_available(self, available: bool, reason: str = "") -> None:
        """Whether the session is being recorded; unavailable raises a visible alarm."""
        self.pipeline.set_storage_available(available, self.clock.now(), reason)
        self.refresh_alarms()

    @property
    def _demo_session(self) -> bool:
        """A simulated chair's scenario says ``session = "scripted"``: its record is the
        demo patient's, driven by the script (issue 11 item 7)."""
        return self.simulated and self.scenario is not None and self.scenario.scripted_session

    def _open_record_or_hold(self, *, upgrade: bool = True) -> None:
        """Open (or offer to resume) the session record on the chair's database worker;
        meanwhile, and while the database cannot be reached, monitor anyway, hold what is
        measured (the writer's held spool), and try again every few seconds.

        A console restarted after a crash while the database server is down must still show
        and alarm on the patient (issue "Session records": the console keeps monitoring),
        and a hung server must not freeze the screen (issue 12 item 9).
        """
        if self.opener.opening:
            return
        self.keeper.hold()
        profile = self.pipeline.snapshot().profile
        start, ask = self.session_start, self.resume_policy is ResumePolicy.ASK
        resume, demo = self.resume_policy is ResumePolicy.RESUME, self._demo_session
        records = self.opener.records
        self.opener.open(
            lambda: records.open(start, profile, ask=ask, resume=resume, upgrade=upgrade, demo=demo)
        )

    def _on_record_opened(self, opened: OpenedRecord) -> None:
        if opened.offer is not None:
            self.pending_resume = opened.offer
            log.info(
                "chair %s: unfinished session %s waits for resume or new",
                self.settings.chair_name,
                opened.offer.id,
            )
            self.sig_resume_offered.emit(opened.offer)
        elif opened.resumed is not None:
            self._resume(opened)
        else:
            self._open_initial_session(self.session_start, opened)
            if self.scripted_infusion and self.scenario is not None and self.runner is not None:
                timeline = self.scenario.timeline
                self.script.follow(timeline.infusion_start_s, timeline.infusion_end_s)
        self.sig_session_changed.emit()

    def _on_record_retry_timeout(self) -> None:
        if self.runner is not None and self.session_id is None and self.storage_problem:
            self._open_record_or_hold()

    def _open_initial_session(self, started_at: datetime, opened: OpenedRecord) -> None:
        """The record opened at start-up: a demo session on a simulated chair whose scenario
        scripts one, else a monitoring-only record that "New session" replaces with the
        patient's."""
        self.lifecycle = SessionLifecycle(self.session_policy)
        self.plan = None
        self.patient_record = None
        assert opened.session_id is not None
        self.series_number = opened.series_number
        self.keeper.adopt(opened.session_id)
        if self.scenario is not None and opened.patient is not None:
            self.patient_record = opened.patient
            plan = demo_plan(self.scenario, started_at, self.settings.alarm_profile.name)
            self._record_plan(plan, started_at, SCRIPT_AUTHOR)
            self.scripted_infusion = True
            self._maybe_record_baseline()  # a cuff reading taken while the record opened

    def _record_plan(self, plan: SessionPlan, at: datetime, author: str) -> None:
        life = self.lifecycle
        life.plan_infusion(
            at,
            weight_kg=plan.weight_kg,
            weight_measured_on=plan.weight_measured_on,
            dose_mg_per_kg=plan.dose_mg_per_kg,
            rate_ml_per_h=plan.rate_ml_per_h,
            route=plan.route,
            author=author,
        )
        self._record(life.events[-1])
        # The lifecycle's plan has no bag volume, duration or pump: a note carries them, so
        # a resumed session can still say how much is left.
        note = life.annotate(EventKind.NOTE, at, author=author, text=plan.summary())
        note = replace(note, data=plan.data())
        life.events[-1] = note
        self._record(note)
        self.plan = plan

    def _resume(self, opened: OpenedRecord) -> None:
        """Continue the session the worker reopened (:meth:`ChairRecordStore.load_resume`)."""
        loaded = opened.resumed
        assert loaded is not None
        summary, by, record, life = loaded.summary, loaded.by, loaded.record, loaded.lifecycle
        for ev in loaded.events:
            if ev.kind == EventKind.RESUMED and not life.closed:
                life.apply(ev)  # the gap shows on the timeline and the trends
        self.lifecycle = life
        self.patient_record = loaded.patient
        self.series_number = record.series_number
        self.plan = plan_from(life, self.patient_record)
        shift_min = (self.session_start - record.started_at).total_seconds() / 60.0
        self.session_start = record.started_at
        t0 = self.session_start.timestamp()
        for metric, buf in self.trends.items():  # stored before live, a gap between
            stored = loaded.trends.get(metric.value)
            if stored is None:
                buf.put_before(NO_SAMPLES, NO_SAMPLES, shift_live_by=shift_min)
            else:
                xs = (stored.t - t0) / 60.0
                buf.put_before(xs, stored.value, shift_live_by=shift_min)
        self.scripted_infusion = False
        self.script.cancel()
        self.keeper.adopt(summary.id)
        if life.phase is Phase.INFUSION:
            self.apply_baseline(by)
            self.set_infusion_running(True)
        self._retime_simulated_patient()
        log.info("chair %s: session %s resumed by %s", self.settings.chair_name, summary.id, by)
        self._tell_link_patient()

    def _end_record(self, now: datetime, *, user: str = "console", then: int | None = None) -> None:
        """End the current record (its alarms closed in it) and switch to record ``then``."""

        def switch(at: datetime) -> None:
            self.keeper.submit(lambda sid: SessionEndItem(sid, at))
            self.keeper.detach()
            if then is not None:
                self.keeper.adopt(then)

        hand_over(self.pipeline, self.settings.alarm_profile, now, switch, user=user)
        self.bridge.drain()  # the closing events reach the screen's log now, not after a reset
        self.refresh_alarms()
        self.script.take_over()
        self._tell_link_patient()

    def _tell_link_patient(self) -> None:
        """The HL7 driver checks PID-3 against the open session's MRN (simulators: their own)."""
        rec = None if self.simulated or self.session_id is None else self.patient_record
        tell_session_mrn(self.runner.driver if self.runner else None, rec.mrn if rec else None)

    def apply_baseline(self, user: str) -> None:
        """Give the alarm engine the baseline the pre-dose gate decided on (its newest set)."""
        sets = [v for v in self.lifecycle.baseline if v.sbp is not None or v.dbp is not None]
        if not sets:
            return  # the engine derives its own from the readings it saw
        last = sets[-1]
        try:
            self.set_baseline(last.sbp, last.dbp, last.hr, user)
        except LimitError as err:
            log.info("baseline not given to the alarm engine: %s", err)

    def _maybe_record_baseline(self) -> None:
        """A new pre-dose cuff reading becomes a baseline set (b1) while in baseline."""
        life = self.lifecycle
        if self.session_id is None or life.plan is None or life.phase is not Phase.BASELINE:
            return
        found = cuff_baseline(self.latest, life.events, self._last_baseline_at)
        if found is None:
            return
        self._last_baseline_at, vitals = found
        try:
            life.record_baseline(vitals, author=MONITOR_AUTHOR)
        except SessionRuleError as err:
            log.info("baseline reading not recorded: %s", err)
            return
        self._accepted(life.events[-1])

    # -- GUI-thread side --------------------------------------------------------------------
    def _on_bridge_readings(self, readings: list[Reading]) -> None:
        cuff = False
        for r in readings:
            if not r.usable:
                if r.metric in HEART_RATE_METRICS:
                    self.latest.pop(r.metric, None)  # flagged: not the HR source (item 8)
                continue
            assert r.value is not None
            self.latest[r.metric] = LatestValue(r.value, r.received_at, r.device_time)
            self.trends[r.metric].append(self.session_seconds(r.received_at) / 60.0, r.value)
            if r.metric in NIBP_METRICS:
                self.last_nibp_at = r.received_at
                cuff = True
        if cuff:
            self._maybe_record_baseline()
        self.sig_vitals_updated.emit()

    def _on_bridge_alarms(self, events: list[AlarmEvent]) -> None:
        # The events went to storage in order; the screen shows the engine's current state,
        # which already includes them (and anything newer), so nothing is rebuilt from events.
        # The log view gets the events themselves: onset, escalation, who acknowledged, pauses.
        self.alarm_log.extend(events)
        self.sig_alarm_logged.emit(events)
        self.refresh_alarms()

    def _on_bridge_state(self, state: str) -> None:
        self.link_state = state
        if state in (DeviceState.QUIET.value, DeviceState.DISCONNECTED.value):
            now_min = self.session_seconds() / 60.0
            for buf in self.trends.values():
                buf.append_gap(now_min)
        self.sig_link_state_changed.emit(state)

    def _on_bridge_technical(self, events: list[TechnicalEvent]) -> None:
        for ev in events:
            if ev.kind is TechnicalEventKind.FRAME_ERROR:
                self.frame_errors = ev.count
            self.sig_technical_event.emit(ev.kind.value, ev.detail)
