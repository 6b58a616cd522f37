"""The database side of a chair's session record: open, resume, new patient session.

Every method here runs on the chair's database worker (:mod:`console.services.db_tasks`),
never on the GUI thread: with a hung database each call can block until its timeout, and
the screen must keep painting and sounding alarms meanwhile (issue 12, item 9).  The
methods only query and write; they return plain values (:class:`OpenedRecord`) that the
:class:`~console.services.chair_service.ChairService` then applies to the chair's live state
on the GUI thread.  Items that need no answer (readings, events, the session end) still go
through the storage writer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.esketamine import SessionIntake
from console.domain.session import (
    EventKind,
    IllegalTransitionError,
    SessionEvent,
    SessionLifecycle,
    SessionPolicy,
    SessionRuleError,
)
from console.storage.repository import (
    DuplicatePatientError,
    PatientRecord,
    SessionRecord,
    SessionRepository,
    SessionSummary,
    Trend,
)
from devices.clock import Clock

log = logging.getLogger("ui.chair")

#: The demo patient of simulated chairs (clinic code, name, weight in kg).
DEMO_PATIENT = ("SIMULATED", "Simulated patient (demo)", 70.0)


@dataclass(frozen=True)
class ResumedRecord:
    """An unfinished session reopened in the database, with what the chair rebuilds from it."""

    summary: SessionSummary
    by: str
    record: SessionRecord
    lifecycle: SessionLifecycle
    events: list[SessionEvent]
    patient: PatientRecord | None
    trends: dict[str, Trend]


@dataclass(frozen=True)
class OpenedRecord:
    """The outcome of opening a chair's record; exactly one of the three is meaningful.

    ``offer``: an unfinished session waits for the nurse's resume-or-new answer.
    ``resumed``: an unfinished session was reopened.
    ``session_id``: a new record (``patient`` is the demo patient on a simulated chair).
    """

    offer: SessionSummary | None = None
    resumed: ResumedRecord | None = None
    session_id: int | None = None
    series_number: int | None = None
    patient: PatientRecord | None = None
    closed: list[int] = field(default_factory=list)


class ChairRecordStore:
    """One chair's record queries (worker thread only).

    Args:
        repository: session records.
        chair: the chair's name.
        simulated: whether the chair reads the built-in simulator (demo patient).
        device_kind: the driver kind stored with each record.
        device_url: the chair's current device URL (the simulator's pty once started).
        session_policy: the clinic's lifecycle presets.
        clock: the chair's clock.
    """

    def __init__(
        self,
        repository: SessionRepository,
        *,
        chair: str,
        simulated: bool,
        device_kind: str,
        device_url: Callable[[], str],
        session_policy: SessionPolicy,
        clock: Clock,
    ) -> None:
        self.repository = repository
        self.chair = chair
        self.simulated = simulated
        self.device_kind = device_kind
        self.device_url = device_url
        self.session_policy = session_policy
        self.clock = clock

    # -- the whole operations, one worker call each ------------------------------------------
    def open(
        self,
        started_at: datetime,
        profile: ThresholdProfile,
        *,
        ask: bool,
        resume: bool,
        upgrade: bool,
        demo: bool,
    ) -> OpenedRecord:
        """Start-up: offer (``ask``), resume (``resume``) or close the unfinished sessions,
        else open a new record (a demo session's when ``demo``)."""
        if upgrade:
            self.repository.ensure_upgraded()  # it may have been down when the console started
        unfinished = self.repository.unfinished_sessions(self.chair)
        if unfinished and ask:
            return OpenedRecord(offer=unfinished[0])
        if unfinished and resume and self.unresumable(unfinished[0]) is None:
            for old in unfinished[1:]:
                self.close_unfinished(old, by="console")
            by = "console (automatic resume)"
            return OpenedRecord(resumed=self.load_resume(unfinished[0], by=by))
        for old in unfinished:
            self.close_unfinished(old, by="console")
        return self.create_initial(started_at, profile, demo=demo)

    def decide(
        self,
        summary: SessionSummary,
        *,
        resume: bool,
        by: str,
        started_at: datetime,
        profile: ThresholdProfile,
        demo: bool,
    ) -> OpenedRecord:
        """The nurse's resume-or-new answer to ``summary``.

        Raises:
            IllegalTransitionError: the session cannot be resumed; nothing was changed.
        """
        if resume:
            why = self.unresumable(summary)
            if why is not None:
                raise IllegalTransitionError(f"session {summary.id} cannot be resumed: {why}")
        others = [
            s
            for s in self.repository.unfinished_sessions(self.chair)
            if s.id != summary.id or not resume
        ]
        for old in others:
            self.close_unfinished(old, by=by)
        if resume:
            return OpenedRecord(resumed=self.load_resume(summary, by=by))
        return self.create_initial(started_at, profile, demo=demo)

    def new_patient_session(
        self,
        *,
        mrn: str,
        display_name: str,
        weight_kg: float,
        weight_measured_on: date,
        at: datetime,
        profile: ThresholdProfile,
        intake: SessionIntake | None = None,
    ) -> OpenedRecord:
        """Find or register the patient and open their new session record; with ``intake``
        (issue 17) the patient's date of birth and sex and the session's start-of-session
        answers are stored with it, in this one worker call."""
        patient = self.patient_for(mrn, display_name, weight_kg, weight_measured_on)
        if intake is not None:
            self.repository.set_patient_identity(
                patient.id, date_of_birth=intake.date_of_birth, sex=intake.sex
            )
            patient = self.repository.patient(mrn) or patient
        sid, series = self.create(at, patient.id, profile)
        if intake is not None:
            self.repository.store_intake(sid, intake, at=at)
        return OpenedRecord(session_id=sid, series_number=series, patient=patient)

    # -- parts ---------------------------------------------------------------------------
    def create_initial(
        self, started_at: datetime, profile: ThresholdProfile, *, demo: bool
    ) -> OpenedRecord:
        """The record opened at start-up: a demo session on a simulated chair, else a
        monitoring-only record that "New session" replaces with the patient's."""
        patient = self.demo_patient(started_at.date()) if demo else None
        sid, series = self.create(started_at, patient.id if patient else None, profile)
        return OpenedRecord(session_id=sid, series_number=series, patient=patient)

    def create(
        self, started_at: datetime, patient_id: int | None, profile: ThresholdProfile
    ) -> tuple[int, int | None]:
        """Open a session record with the threshold profile in effect stored with it;
        returns its id and its number in the patient's series."""
        url = self.device_url()
        sid = self.repository.create_session(
            chair=self.chair,
            started_at=started_at,
            simulated=self.simulated,
            device_kind=self.device_kind,
            device_url=url,
            patient_id=patient_id,
            profile=profile,
        )
        series = self.repository.session(sid).series_number
        log.info(
            "session %s started on %s (%s%s)",
            sid,
            url,
            self.device_kind,
            ", simulated" if self.simulated else "",
        )
        return sid, series

    def demo_patient(self, today: date) -> PatientRecord:
        """The simulated chair's demo patient, registered and weighed today."""
        mrn, name, weight = DEMO_PATIENT
        found = self.repository.patient(mrn)
        if found is None:
            # Another console may register it a moment before us: then we read theirs.
            with contextlib.suppress(DuplicatePatientError):
                self.repository.add_patient(mrn, name, weight_kg=weight, weight_measured_on=today)
        elif found.weight_measured_on != today:
            # The demo patient is "weighed" every day so the weight-age rule (b1) passes.
            self.repository.record_weight(found.id, weight, today)
        found = self.repository.patient(mrn)
        assert found is not None
        return found

    def patient_for(
        self, mrn: str, display_name: str, weight_kg: float, weight_measured_on: date
    ) -> PatientRecord:
        """The patient of a new session, registered or with the new weight recorded."""
        found = self.repository.patient(mrn)
        if found is None:
            with contextlib.suppress(DuplicatePatientError):
                self.repository.add_patient(
                    mrn,
                    display_name,
                    weight_kg=weight_kg,
                    weight_measured_on=weight_measured_on,
                )
        elif (found.weight_kg, found.weight_measured_on) != (weight_kg, weight_measured_on):
            self.repository.record_weight(found.id, weight_kg, weight_measured_on)
        found = self.repository.patient(mrn)
        assert found is not None
        return found

    def close_unfinished(self, summary: SessionSummary, *, by: str) -> None:
        """Close a session left unfinished by a crash, with a note saying so."""
        now = self.clock.now()
        self.repository.record_event(
            summary.id,
            SessionEvent(
                kind=EventKind.NOTE.value,
                at=now,
                author=by,
                text="not resumed after an unclean shutdown; record closed at restart",
            ),
        )
        self.repository.end_session(summary.id, now)
        log.info("chair %s: unfinished session %s closed", self.chair, summary.id)

    def unresumable(self, summary: SessionSummary) -> str | None:
        """Why ``summary`` cannot be resumed, or None when it can."""
        try:
            life = self.repository.lifecycle(summary.id, self.session_policy)
        except SessionRuleError as err:
            return f"its record cannot be rebuilt ({err})"
        last = max((e.at for e in life.events), default=summary.started_at)
        if last > self.clock.now():
            return "its last step lies ahead of this clock (an accelerated simulation)"
        return None

    def load_resume(self, summary: SessionSummary, *, by: str) -> ResumedRecord:
        """Reopen ``summary`` (the repository records the gap) and read what the chair
        rebuilds from it: lifecycle, events, patient and stored trends."""
        record = self.repository.resume_session(summary.id, at=self.clock.now(), by=by)
        return ResumedRecord(
            summary=summary,
            by=by,
            record=record,
            lifecycle=self.repository.lifecycle(summary.id, self.session_policy),
            events=self.repository.events(summary.id),
            patient=self.repository.patient(summary.patient) if summary.patient else None,
            trends=self.repository.trends(summary.id),
        )
