"""The nurse's session workflow at one chair, from New session to discharge (clinical.md A-G).

Every nurse action goes through the session's :class:`~console.domain.session.SessionLifecycle`
first (an illegal step raises :class:`~console.domain.session.SessionRuleError` and changes
nothing), is then stored through the chair's record keeper with time and author, and finally
drives the alarm engine (infusion running, pre-dose baseline).  One rule order, one place: the
widgets only ask and show.

Qt-free (issue 13): what the workflow needs of the chair around it (its screen, the simulator's
script and patient, the database worker, switching records) is the small :class:`WorkflowHost`
protocol, which :class:`~console.services.chair_service.ChairService` implements on the GUI
thread and the unit tests implement with plain lists (tests/console/services/).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from console.domain.alarm_rules import LimitError
from console.domain.discharge_gate import DischargeGate, DischargeRefusedError, assess_discharge
from console.domain.esketamine import (
    Checkpoint,
    EsketamineRuleError,
    bp_checkpoints,
    esketamine_discharge_reasons,
)
from console.domain.observations import (
    UNSCHEDULED,
    ObservationSchedule,
    PointStatus,
    scale_of,
)
from console.domain.pipeline import ChairPipeline
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
from console.services.chair_record import OpenedRecord, ResumedRecord
from console.services.record_keeper import RecordKeeper
from console.services.session_handover import DEMO_STOP_REASON
from console.services.session_status import cuff_baseline, discharge_needs
from console.services.session_values import (
    InfusionProgress,
    LatestValue,
    SessionPlan,
    infusion_progress,
    plan_from,
)
from console.storage.repository import PatientRecord, SessionSummary
from console.storage.writer import SessionEventItem
from devices.clock import Clock
from devices.model import Metric

log = logging.getLogger("ui.chair")

#: Author of baseline vitals taken from the monitor's cuff readings.
MONITOR_AUTHOR = "monitor"


class WorkflowHost(Protocol):
    """What the workflow needs of the chair around it (the chair service, or a test's fake)."""

    @property
    def scripted_infusion(self) -> bool:
        """True while the simulator's script drives a demo session's infusion."""
        ...

    def on_session_event(self, ev: SessionEvent) -> None:
        """A lifecycle step was accepted and stored: show it."""

    def on_session_changed(self) -> None:
        """The session, its phase, plan or patient changed: show it."""

    def take_over_script(self) -> None:
        """A person acts on the infusion: the simulator's script stops driving the record."""

    def retime_patient(self) -> None:
        """The simulated patient's infusion follows the record (no-op for a real monitor)."""

    def request_cuff(self, now: datetime) -> None:
        """Start the simulated cuff now (no-op for a real monitor)."""

    def end_record(self, now: datetime, *, user: str, then: int | None = None) -> None:
        """End the current record (its alarms closed in it) and switch to record ``then``."""

    def open_patient_record(self, plan: SessionPlan, now: datetime) -> OpenedRecord:
        """Register the patient and open a record for them (raises IllegalTransitionError
        when the database refuses; nothing was changed)."""
        ...

    def start_clean(self, now: datetime) -> None:
        """The screen starts again at ``now`` for the new patient (values, trends, log)."""


class SessionWorkflow:
    """The session at one chair: its rules, its record and what it tells the alarm engine.

    Args:
        chair: the chair's name (logs).
        keeper: where the chair's data go (the session events are stored through it).
        alarms: the chair's alarm actions (infusion running, baseline); their clock and
            pipeline are the workflow's too (the discharge gate reads the engine's state).
        latest: the newest value per metric, as the screen shows it (cuff baseline, gate).
        host: the chair around the workflow.
        measures_nibp: the chair's monitor measures NIBP (the discharge gate needs it).
        policy: the clinic's lifecycle presets (observation minimum, gate, checklist).
        observations: the clinic's timed observation schedule (``[observations]``).
    """

    def __init__(
        self,
        chair: str,
        *,
        keeper: RecordKeeper,
        alarms: ChairAlarmActions,
        latest: Mapping[Metric, LatestValue],
        host: WorkflowHost,
        measures_nibp: bool,
        policy: SessionPolicy | None = None,
        observations: ObservationSchedule | None = None,
    ) -> None:
        self.chair = chair
        self.keeper, self.alarms, self.latest = keeper, alarms, latest
        self.clock: Clock = alarms.clock
        self.pipeline: ChairPipeline = alarms.pipeline
        self.host = host
        self.measures_nibp = measures_nibp
        #: The clinic's lifecycle presets (observation minimum, gate, discharge checklist).
        self.policy = policy or SessionPolicy()
        #: The current session's rules and timeline (a closed one stays until the next).
        self.lifecycle = SessionLifecycle(self.policy)
        #: When MOAA/S, CADSS-6 and nausea are due (issue 17).
        self.observations = observations or ObservationSchedule()
        #: The start-session plan (volume, duration, pump); None without a patient session.
        self.plan: SessionPlan | None = None
        #: The session's patient as registered (None for a monitoring-only record).
        self.patient_record: PatientRecord | None = None
        #: The session's number in the patient's series (clinical.md A 2).
        self.series_number: int | None = None
        #: The unfinished session waiting for the resume answer (ResumePolicy.ASK).
        self.pending_resume: SessionSummary | None = None
        #: When the nurse last asked for an NIBP measurement ("NIBP now").
        self.nibp_requested_at: datetime | None = None
        #: The console closed with this session open (interrupt): the record stays unfinished.
        self.interrupted = False
        self._last_baseline_at: datetime | None = None
        #: The session's cuff readings as (time, value), for the esketamine checkpoints.
        self.cuff_sbp: list[tuple[datetime, float]] = []
        self.cuff_dbp: list[tuple[datetime, float]] = []

    # -- what the screen asks ---------------------------------------------------------------
    @property
    def patient(self) -> str | None:
        """The patient as a label ("MRN name"), or None: what the overview tiles show."""
        rec = self.patient_record
        if rec is None or not self.lifecycle.planned:
            return None
        return f"{rec.mrn} {rec.display_name}".strip()

    @property
    def phase(self) -> Phase | None:
        """The session's phase, or None without a patient session (overview tiles)."""
        if self.pending_resume is not None or not self.lifecycle.planned:
            return None
        return self.lifecycle.phase

    @property
    def session_open(self) -> bool:
        """True while a session record takes the chair's data and its lifecycle is not closed."""
        return self.keeper.session_id is not None and not self.lifecycle.closed

    @property
    def infusion_running(self) -> bool:
        """The recorded session's pump runs or is paused (the drug may still be going in)."""
        return self.keeper.session_id is not None and self.lifecycle.infusion in (
            InfusionState.RUNNING,
            InfusionState.PAUSED,
        )

    def progress(self, now: datetime | None = None) -> InfusionProgress | None:
        """Pump progress of the session (None before a plan exists)."""
        life = self.lifecycle
        if life.plan is None:
            return None
        volume = self.plan.volume_ml if self.plan is not None else life.plan.rate_ml_per_h * 40 / 60
        end = life.infusion_stopped_at or now or self.clock.now()
        return infusion_progress(life.events, volume_ml=volume, dose_mg=life.plan.dose_mg, now=end)

    def discharge_needs(self, now: datetime | None = None) -> list[str]:
        """What still stands between the patient and the door, in plain words."""
        return discharge_needs(self.lifecycle, now or self.clock.now())

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
            measures_nibp=self.measures_nibp,
            session_reasons=self._esketamine_reasons(),
        )

    # -- intranasal esketamine (issue 17) ------------------------------------------------------
    def esketamine_checkpoints(self, now: datetime | None = None) -> dict[Checkpoint, Any]:
        """The three BP checkpoints so far (the "before the end" one as if monitoring ended
        ``now``: the reading that would answer it at discharge now)."""
        life = self.lifecycle
        first = life.devices_given[0] if life.devices_given else None
        return bp_checkpoints(first, now or self.clock.now(), self.cuff_sbp, self.cuff_dbp)

    def _esketamine_reasons(self) -> list[str]:
        life = self.lifecycle
        if life.esketamine is None:
            return []
        now = self.clock.now()
        return esketamine_discharge_reasons(
            plan=life.esketamine,
            devices_given=life.devices_given,
            checkpoints=self.esketamine_checkpoints(now),
            checks=life.end_checks,
            now=now,
        )

    def give_device(self, user: str) -> SessionEvent:
        """ "Device given": one esketamine device now.  The first fixes the pre-dose baseline
        and starts the dosing phase's monitoring; the last starts the observation.

        Raises:
            SessionRuleError: no esketamine session, the gate not passed, all devices given.
        """
        self._require_session("record a device")
        life = self.lifecycle
        first = not life.devices_given
        ev = life.give_device(self.clock.now(), author=user)
        self._record(ev)
        if first:
            self.host.take_over_script()
            self.apply_baseline(user)
            self.alarms.set_infusion_running(True)
        if life.infusion is InfusionState.STOPPED:
            self.alarms.set_infusion_running(False)
        self.host.retime_patient()
        self.host.on_session_changed()
        return ev

    def record_end_checks(
        self,
        user: str,
        *,
        occurred: dict[str, bool],
        resolved: dict[str, bool],
        ready_to_leave_at: datetime,
    ) -> SessionEvent:
        """Record the esketamine end checks and the ready-to-leave time (issue 17)."""
        self._require_session("record the end checks")
        ev = self.lifecycle.record_end_checks(
            self.clock.now(),
            occurred=occurred,
            resolved=resolved,
            ready_to_leave_at=ready_to_leave_at,
            author=user,
        )
        return self._accepted(ev)

    def _note_cuff(self) -> None:
        """Keep the session's cuff readings (each pair once) for the esketamine checkpoints."""
        for metric, series in ((Metric.NIBP_SYS, self.cuff_sbp), (Metric.NIBP_DIA, self.cuff_dbp)):
            got = self.latest.get(metric)
            if got is not None and (not series or series[-1][0] < got.received_at):
                series.append((got.received_at, got.value))

    # -- starting a session -----------------------------------------------------------------
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
        if self.infusion_running and not self.host.scripted_infusion:
            # The script's demo infusion is nobody's; a nurse's must be stopped first.
            raise IllegalTransitionError(
                "the current session's infusion is still running: stop it (with a reason) "
                "before starting a new session"
            )
        if not plan.mrn.strip():
            raise SessionRuleError("a patient needs an MRN or clinic code")
        now = self.clock.now()
        if plan.intake is not None:
            try:
                plan.intake.validated(now.date())
            except EsketamineRuleError as err:
                raise SessionRuleError(str(err)) from None
        # The rules first, on a scratch lifecycle: a refused plan changes nothing.
        _plan_on(SessionLifecycle(self.policy), plan, now, author="")
        # The patient and the new record (on the database worker: the screen stays live; a
        # database that cannot be reached refuses the action and changes nothing).  The
        # limits go back to the clinic default as the old record ends (end_record): that is
        # the profile this session starts with.
        opened = self.host.open_patient_record(plan, now)
        patient, sid = opened.patient, opened.session_id
        assert patient is not None
        assert sid is not None
        self.series_number = opened.series_number
        now = max(now, self.clock.now())  # the screen (and script) ran on while it was stored
        old = self.lifecycle
        # Asked once more: the script may have stopped its demo infusion meanwhile.
        if self.infusion_running:  # a scripted demo infusion: stopped by whoever takes the chair
            self.stop_infusion(user, DEMO_STOP_REASON)
            now = max(now, self.clock.now())  # the steps that follow come after the stop
        if self.keeper.session_id is not None and not old.closed:
            why = "replaced by a new session (New session)"
            self._record(old.abort(now, author=user, reason=why))
        self.host.end_record(now, user=user, then=sid)
        self.lifecycle = SessionLifecycle(self.policy)
        self.patient_record = patient
        self._last_baseline_at = None
        self.cuff_sbp, self.cuff_dbp = [], []
        self.nibp_requested_at = None
        self.host.start_clean(now)
        self.record_plan(plan, now, user)
        self.host.retime_patient()
        log.info("chair %s: new session %s", self.chair, sid)  # no MRN in logs
        self.host.on_session_changed()
        return sid

    def begin_record(
        self, opened: OpenedRecord, demo: SessionPlan | None, at: datetime, author: str
    ) -> bool:
        """The record opened at start-up becomes the chair's: the demo patient's session with
        ``demo``'s plan (by ``author``, the script), else a monitoring-only record that
        "New session" replaces with the patient's.

        Returns:
            True when the demo session was planned (the script drives its infusion).
        """
        self.lifecycle = SessionLifecycle(self.policy)
        self.plan = None
        self.patient_record = None
        assert opened.session_id is not None
        self.series_number = opened.series_number
        self.keeper.adopt(opened.session_id)
        if demo is not None and opened.patient is not None:
            self.patient_record = opened.patient
            self.record_plan(demo, at, author)
            return True
        return False

    def adopt_resumed(self, loaded: ResumedRecord) -> None:
        """Continue the session the worker reopened: its lifecycle, patient and plan."""
        life = loaded.lifecycle
        for ev in loaded.events:
            if ev.kind == EventKind.RESUMED and not life.closed:
                life.apply(ev)  # the gap shows on the timeline and the trends
        self.lifecycle = life
        self.patient_record = loaded.patient
        self.series_number = loaded.record.series_number
        self.plan = plan_from(life, self.patient_record)
        # The cuff readings before the crash answer the esketamine checkpoints too.
        sbp, dbp = (
            loaded.trends.get(Metric.NIBP_SYS.value),
            loaded.trends.get(Metric.NIBP_DIA.value),
        )
        self.cuff_sbp = [p for p in sbp.points() if math.isfinite(p[1])] if sbp else []
        self.cuff_dbp = [p for p in dbp.points() if math.isfinite(p[1])] if dbp else []

    def record_plan(self, plan: SessionPlan, at: datetime, author: str) -> None:
        """Plan the infusion on the record; a note carries what the lifecycle's plan lacks."""
        life = self.lifecycle
        _plan_on(life, plan, at, author=author)
        self._record(life.events[-1])
        # The lifecycle's plan has no bag volume, duration or pump: a note carries them, so
        # a resumed session can still say how much is left.
        note = life.annotate(EventKind.NOTE, at, author=author, text=plan.summary())
        note = replace(note, data=plan.data())
        life.events[-1] = note
        self._record(note)
        self.plan = plan

    # -- baseline -----------------------------------------------------------------------------
    def apply_baseline(self, user: str) -> None:
        """Give the alarm engine the baseline the pre-dose gate decided on (its newest set)."""
        sets = [v for v in self.lifecycle.baseline if v.sbp is not None or v.dbp is not None]
        if not sets:
            return  # the engine derives its own from the readings it saw
        last = sets[-1]
        try:
            self.alarms.set_baseline(last.sbp, last.dbp, last.hr, user)
        except LimitError as err:
            log.info("baseline not given to the alarm engine: %s", err)

    def maybe_record_baseline(self) -> None:
        """A new pre-dose cuff reading becomes a baseline set (b1) while in baseline."""
        life = self.lifecycle
        self._note_cuff()
        if self.keeper.session_id is None or not life.planned or life.phase is not Phase.BASELINE:
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
        self.host.take_over_script()
        self.apply_baseline(user)
        self.alarms.set_infusion_running(True)
        self.host.retime_patient()
        self.host.on_session_changed()
        return ev

    def pause_infusion(self, user: str, reason: str) -> SessionEvent:
        """Pause the pump with a reason (C 16).

        The alarm engine keeps infusion-phase monitoring (NIBP overdue, comm-lost escalation)
        during a pause: the drug is on board and the pump may restart any minute.
        """
        self._require_session("pause the infusion")
        ev = self.lifecycle.pause_infusion(self.clock.now(), author=user, reason=reason)
        self.host.take_over_script()
        return self._accepted(ev)

    def resume_infusion(self, user: str, reason: str = "") -> SessionEvent:
        """Restart a paused pump at the current rate."""
        self._require_session("resume the infusion")
        ev = self.lifecycle.resume_infusion(self.clock.now(), author=user, reason=reason)
        self.host.take_over_script()
        return self._accepted(ev)

    def change_rate(self, rate_ml_per_h: float, user: str, reason: str) -> SessionEvent:
        """Change the pump rate with a reason (C 16); the remaining time follows."""
        self._require_session("change the rate")
        ev = self.lifecycle.change_rate(
            self.clock.now(), rate_ml_per_h=rate_ml_per_h, author=user, reason=reason
        )
        self.host.take_over_script()
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
        self.host.take_over_script()
        self.alarms.set_infusion_running(False)
        self.host.retime_patient()
        self.host.on_session_changed()
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
        self.host.request_cuff(now)
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

    def observation_points(self, now: datetime | None = None) -> list[PointStatus]:
        """Every scheduled observation's state (empty without a patient session)."""
        if self.lifecycle.plan is None or self.pending_resume is not None:
            return []
        return self.observations.status(
            self.lifecycle.events,
            observation_min=self.policy.observation_min,
            now=now or self.clock.now(),
        )

    def due_observation(self, now: datetime | None = None) -> PointStatus | None:
        """The time point to score now (due, overdue or nearly due), if any."""
        if not self.session_open or self.lifecycle.plan is None:
            return None
        return self.observations.current(
            self.lifecycle.events,
            observation_min=self.policy.observation_min,
            now=now or self.clock.now(),
        )

    def record_scores(
        self, scores: Mapping[str, float], user: str, *, time_point: str = UNSCHEDULED
    ) -> list[SessionEvent]:
        """Store structured scores (MOAA/S, CADSS-6, nausea, PHQ-9, MADRS) at one time point.

        Every score is checked before any is stored, so a typo refuses the whole entry and
        nothing half-happens; each becomes one annotation event (kind per scale, ``score``,
        ``data`` = scale and time point) on the existing annotate path to the writer.

        Raises:
            SessionRuleError: no session, no score, an unknown scale or a score out of range.
        """
        self._require_session("record scores")
        if not scores:
            raise SessionRuleError("enter at least one score")
        points = {p.label for p in self.observations.points} | {UNSCHEDULED}
        if time_point not in points:
            raise SessionRuleError(f"unknown time point {time_point!r}")
        checked = [(scale_of(name), scale_of(name).check(v)) for name, v in scores.items()]
        now = self.clock.now()
        events = [
            self.lifecycle.annotate(
                scale.kind,
                now,
                author=user,
                text=scale.name,
                score=score,
                data={"scale": scale.name, "time_point": time_point},
            )
            for scale, score in checked
        ]
        for ev in events:
            self._record(ev)
        self.host.on_session_changed()
        return events

    # -- the end of a session -----------------------------------------------------------------
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
        for item in self.policy.discharge_items:
            if item in checks and life.discharge_checks.get(item) is not checks[item]:
                self._record(
                    life.check_discharge_item(
                        now, item=item, passed=bool(checks[item]), author=user, note=note
                    )
                )
        closed = all(life.discharge_checks.get(i) for i in self.policy.discharge_items)
        gate = self.discharge_gate() if closed else None
        if gate is not None and not gate.passed:
            if not (physician.strip() and override_reason.strip()):
                self.host.on_session_changed()
                raise DischargeRefusedError(f"discharge refused: {gate.describe()}")
            self._record(
                life.override_discharge(
                    now, physician=physician, reason=override_reason, refused=gate.describe()
                )
            )
        if closed:
            self._record(life.close(now, author=user))
            self.host.end_record(now, user=user)
        self.host.on_session_changed()
        return closed

    def interrupt(self, user: str, reason: str) -> SessionEvent | None:
        """Record that the console closes with this session open (issue 11 item 4); the
        record is then left unfinished when the chair stops and offered for resume next start.

        Returns:
            The ``interrupted`` event, or None when no patient session is open.
        """
        if not self.session_open or not self.lifecycle.planned:
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
        self.host.end_record(now, user=user)
        self.host.on_session_changed()
        return ev

    # -- helpers --------------------------------------------------------------------------------
    def record_step(self, ev: SessionEvent) -> SessionEvent:
        """Store a lifecycle step another part took (the demo script) and show it."""
        return self._record(ev)

    def _record(self, ev: SessionEvent) -> SessionEvent:
        self.keeper.submit(lambda sid: SessionEventItem(sid, ev))
        self.host.on_session_event(ev)
        return ev

    def _accepted(self, ev: SessionEvent) -> SessionEvent:
        self._record(ev)
        self.host.on_session_changed()
        return ev

    def _require_session(self, action: str) -> None:
        if self.pending_resume is not None:
            raise IllegalTransitionError(
                f"cannot {action}: answer the resume question first (resume or start new)"
            )
        if self.keeper.session_id is None or not self.lifecycle.planned:
            raise IllegalTransitionError(
                f"cannot {action}: no patient session on this chair; "
                "start one with New session (Ctrl+N)"
            )


def _plan_on(life: SessionLifecycle, plan: SessionPlan, at: datetime, *, author: str) -> None:
    """Plan ``plan``'s infusion (or esketamine dose) on ``life`` (raises SessionRuleError when a
    rule refuses it)."""
    if plan.esketamine:
        life.plan_esketamine(at, dose_mg=plan.esketamine_dose_mg, lot=plan.lot, author=author)
        return
    life.plan_infusion(
        at,
        weight_kg=plan.weight_kg,
        weight_measured_on=plan.weight_measured_on,
        dose_mg_per_kg=plan.dose_mg_per_kg,
        rate_ml_per_h=plan.rate_ml_per_h,
        route=plan.route,
        author=author,
    )
