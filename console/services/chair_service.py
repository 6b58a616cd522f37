"""One chair: its device link, alarm pipeline, session record and live state for the screen.

The service wires the parts together (simulator pty or real port -> runner -> pipeline ->
storage writer and bridge) and keeps the chair's live state on the GUI thread.  Widgets observe
it through signals and never reach into the device layer.

The nurse's session workflow (clinical.md A-G) is a Qt-free part of its own,
:class:`~console.services.session_workflow.SessionWorkflow` (``chair.workflow``), and the alarm
actions another (``chair.alarms``): the widgets call them directly, and the chair is their
host on the GUI thread (it turns what they report into Qt signals, switches records and
drives the simulator).

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
from datetime import datetime, timedelta

from PySide6.QtCore import QObject, Signal
from sqlalchemy.exc import DBAPIError, OperationalError

from console.config import Settings
from console.domain.alarm_engine import AlarmStatus, AudioStatus
from console.domain.alarm_events import RepeatRequest
from console.domain.alarms import AlarmEvent, AlarmPolicy
from console.domain.heart_rate_source import HEART_RATE_METRICS
from console.domain.session import (
    Phase,
    SessionEvent,
    SessionLifecycle,
    SessionPolicy,
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
from console.services.session_handover import hand_over, start_clean
from console.services.session_status import checkpoint_status
from console.services.session_values import (
    LatestValue,
    ResumePolicy,
    SessionPlan,
    ShownAlarm,
)
from console.services.session_workflow import SessionWorkflow
from console.storage.repository import PatientRecord, SessionRepository, SessionSummary
from console.storage.writer import SessionEndItem, StorageWriter
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
from devices.simulator.pty_endpoint import WireEndpoint
from devices.simulator.scenario import Scenario

log = logging.getLogger("ui.chair")

#: Alarm log entries kept for the live view.
ALARM_LOG_SHOWN = 200
#: Trend history kept in memory per metric: 6 h of 1 Hz samples.
TREND_CAPACITY = 6 * 3600


class ChairService(QObject):
    """Live state and plumbing of one chair; host of its workflow and alarm actions.

    Attributes:
        alarms: the chair's alarm actions and the alarm state shown (Qt-free).
        workflow: the nurse's session workflow (Qt-free).

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
        self.simulated = settings.device.simulated
        #: Where the chair's data go: its record, the held spool, or nowhere.
        self.keeper = RecordKeeper(writer, settings.chair_name)
        self.session_start: datetime = clock.now()
        self.latest: dict[Metric, LatestValue] = {}
        self.last_nibp_at: datetime | None = None
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
        #: The chair's alarm actions and the alarm state the screen shows.
        self.alarms = ChairAlarmActions(
            self.pipeline, clock, settings.alarm_policy, self.sig_alarms_changed.emit
        )
        #: The nurse's session workflow, with this chair as its host.
        self.workflow = SessionWorkflow(
            settings.chair_name,
            keeper=self.keeper,
            alarms=self.alarms,
            latest=self.latest,
            host=self,
            measures_nibp=Metric.NIBP_SYS in self.driver_cls.metrics,
            policy=SessionPolicy(),
            observations=settings.observations,
        )
        self.resume_policy = resume_policy
        records = ChairRecordStore(
            repository,
            chair=settings.chair_name,
            simulated=self.simulated,
            device_kind=self.driver_kind,
            device_url=lambda: self.device_url,
            session_policy=self.workflow.policy,
            clock=clock,
        )
        #: The record's conversation with the database, on the chair's database worker.
        self.opener = RecordOpener(
            settings.chair_name,
            records,
            on_opened=self._on_record_opened,
            on_health=self.alarms.set_storage_available,
            on_retry=self._on_record_retry_timeout,
            bridge=self.bridge,
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
    def endpoint(self) -> WireEndpoint | None:
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
        if self.session_id is not None and self.workflow.interrupted:
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

    # -- the workflow's and the alarms' state, as the screen reads it --------------------------
    @property
    def lifecycle(self) -> SessionLifecycle:
        """The current session's rules and timeline (a closed one stays until the next)."""
        return self.workflow.lifecycle

    @property
    def plan(self) -> SessionPlan | None:
        """The start-session plan; None without a patient session."""
        return self.workflow.plan

    @property
    def patient_record(self) -> PatientRecord | None:
        """The session's patient as registered (None for a monitoring-only record)."""
        return self.workflow.patient_record

    @property
    def series_number(self) -> int | None:
        """The session's number in the patient's series (clinical.md A 2)."""
        return self.workflow.series_number

    @property
    def pending_resume(self) -> SessionSummary | None:
        """The unfinished session waiting for :meth:`decide_resume` (ResumePolicy.ASK)."""
        return self.workflow.pending_resume

    @property
    def nibp_requested_at(self) -> datetime | None:
        """When the nurse last asked for an NIBP measurement ("NIBP now")."""
        return self.workflow.nibp_requested_at

    @nibp_requested_at.setter
    def nibp_requested_at(self, at: datetime | None) -> None:
        self.workflow.nibp_requested_at = at  # start_clean forgets it with the screen

    @property
    def session_policy(self) -> SessionPolicy:
        """The clinic's lifecycle presets (observation minimum, gate, discharge checklist)."""
        return self.workflow.policy

    @property
    def patient(self) -> str | None:
        """The patient as a label ("MRN name"), or None: what the overview tiles show."""
        return self.workflow.patient

    @property
    def phase(self) -> Phase | None:
        """The session's phase, or None without a patient session (overview tiles)."""
        return self.workflow.phase

    @property
    def session_open(self) -> bool:
        """True while a session record takes the chair's data and its lifecycle is not closed."""
        return self.workflow.session_open

    @property
    def policy(self) -> AlarmPolicy:
        """The limits in force (the patient's changes included)."""
        return self.alarms.policy

    @property
    def active_alarms(self) -> dict[str, ShownAlarm]:
        """Listed alarms about a parameter, by key."""
        return self.alarms.active_alarms

    @property
    def alarm_list(self) -> tuple[AlarmStatus, ...]:
        """Every listed alarm, most urgent first."""
        return self.alarms.alarm_list

    @alarm_list.setter
    def alarm_list(self, shown: tuple[AlarmStatus, ...]) -> None:
        self.alarms.alarm_list = shown  # tests stand in for the engine

    @property
    def audio(self) -> AudioStatus:
        """What the alarm sound should do."""
        return self.alarms.audio

    @property
    def repeat_requests(self) -> tuple[RepeatRequest, ...]:
        """Pending repeat-NIBP requests to show."""
        return self.alarms.repeat_requests

    # -- session records: open, resume, hand over ------------------------------------------
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
        self.workflow.pending_resume = None
        self._take_opened(opened, reading=True)

    def _take_opened(self, opened: OpenedRecord, *, reading: bool) -> None:
        """The record the worker opened (or reopened) becomes the chair's; a demo session's
        script follows the scenario (at start-up only while the chair is ``reading``)."""
        if opened.resumed is not None:
            self._resume(opened)
        else:
            self._open_initial_session(self.session_start, opened)
            if self.scripted_infusion and self.scenario is not None and reading:
                timeline = self.scenario.timeline
                self.script.follow(timeline.infusion_start_s, timeline.infusion_end_s)
        self.sig_session_changed.emit()

    # -- session status for the screen ---------------------------------------------------------
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
        if opened.offer is None:
            self._take_opened(opened, reading=self.runner is not None)
            return
        self.workflow.pending_resume = opened.offer
        log.info(
            "chair %s: unfinished session %s waits for resume or new",
            self.settings.chair_name,
            opened.offer.id,
        )
        self.sig_resume_offered.emit(opened.offer)
        self.sig_session_changed.emit()

    def _on_record_retry_timeout(self) -> None:
        if self.runner is not None and self.session_id is None and self.storage_problem:
            self._open_record_or_hold()

    def _open_initial_session(self, started_at: datetime, opened: OpenedRecord) -> None:
        """The record opened at start-up: a demo session on a simulated chair whose scenario
        scripts one, else a monitoring-only record that "New session" replaces with the
        patient's."""
        demo = None
        if self.scenario is not None:
            demo = demo_plan(self.scenario, started_at, self.settings.alarm_profile.name)
        if self.workflow.begin_record(opened, demo, started_at, SCRIPT_AUTHOR):
            self.scripted_infusion = True
            self.workflow.maybe_record_baseline()  # a cuff reading taken while it opened

    def _resume(self, opened: OpenedRecord) -> None:
        """Continue the session the worker reopened (:meth:`ChairRecordStore.load_resume`)."""
        loaded = opened.resumed
        assert loaded is not None
        summary, by, record = loaded.summary, loaded.by, loaded.record
        self.workflow.adopt_resumed(loaded)
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
        if self.lifecycle.phase is Phase.INFUSION:
            self.workflow.apply_baseline(by)
            self.alarms.set_infusion_running(True)
        self.retime_patient()
        log.info("chair %s: session %s resumed by %s", self.settings.chair_name, summary.id, by)
        self._tell_link_patient()

    def _tell_link_patient(self) -> None:
        """The HL7 driver checks PID-3 against the open session's MRN (simulators: their own)."""
        rec = None if self.simulated or self.session_id is None else self.patient_record
        tell_session_mrn(self.runner.driver if self.runner else None, rec.mrn if rec else None)

    # -- the workflow's host (console.services.session_workflow.WorkflowHost) -------------------
    def on_session_event(self, ev: SessionEvent) -> None:
        """A lifecycle step was stored: show it."""
        self.sig_session_event.emit(ev)

    def on_session_changed(self) -> None:
        """The session changed: show it."""
        self.sig_session_changed.emit()

    def take_over_script(self) -> None:
        """A person acts on the infusion: the simulator's script stops driving the record."""
        self.script.take_over()

    def retime_patient(self) -> None:
        """Make the simulated patient's infusion follow the record (the nurse's buttons)."""
        if self.simulator is not None and not self.scripted_infusion:
            planned = self.plan.infusion_min if self.plan is not None else None
            retime_simulated_patient(self.simulator, self.lifecycle, planned)

    def request_cuff(self, now: datetime) -> None:
        """ "NIBP now" on the simulator starts its cuff at once (a real one is on the monitor)."""
        if self.simulator is None:
            return
        request = getattr(self.simulator.monitor, "request_nibp", None)
        if callable(request) and not request(now):
            log.info("chair %s: the cuff is already measuring", self.settings.chair_name)

    def end_record(self, now: datetime, *, user: str, then: int | None = None) -> None:
        """End the current record (its alarms closed in it) and switch to record ``then``."""

        def switch(at: datetime) -> None:
            self.keeper.submit(lambda sid: SessionEndItem(sid, at))
            self.keeper.detach()
            if then is not None:
                self.keeper.adopt(then)

        hand_over(self.pipeline, self.settings.alarm_profile, now, switch, user=user)
        # The closing events reach the screen's log now, not after a reset; a database
        # result of another request waits for the next drain (not in the middle of this).
        self.bridge.drain(calls=False)
        self.alarms.refresh()
        self.script.take_over()
        self._tell_link_patient()

    def open_patient_record(self, plan: SessionPlan, now: datetime) -> OpenedRecord:
        """Register the patient and open their record on the database worker (the screen stays
        live); a database that cannot be reached refuses the action and changes nothing."""
        return self.opener.ask(
            lambda: self.opener.records.new_patient_session(
                mrn=plan.mrn,
                display_name=plan.display_name,
                weight_kg=plan.weight_kg,
                weight_measured_on=plan.weight_measured_on,
                at=now,
                profile=self.settings.alarm_profile,
                intake=plan.intake,
            )
        )

    def start_clean(self, now: datetime) -> None:
        """The new patient's screen: trends from 0, no values, log or NIBP request of the last."""
        self.session_start = now
        for buf in self.trends.values():
            buf.clear()
        start_clean(self)
        self.sig_vitals_updated.emit()  # the screen drops the last patient's values now
        self._tell_link_patient()

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
            self.workflow.maybe_record_baseline()
        self.sig_vitals_updated.emit()

    def _on_bridge_alarms(self, events: list[AlarmEvent]) -> None:
        # The events went to storage in order; the screen shows the engine's current state,
        # which already includes them (and anything newer), so nothing is rebuilt from events.
        # The log view gets the events themselves: onset, escalation, who acknowledged, pauses.
        self.alarm_log.extend(events)
        self.sig_alarm_logged.emit(events)
        self.alarms.refresh()

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
