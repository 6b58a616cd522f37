"""The one-page session note, as data: what the note says, assembled from the stored record.

The note is what a clinic files for every session (clinical.md G 33: vitals at defined
intervals, dose, response, side effects, discharge; G 35: signed).  :func:`session_note` is a
pure function of the stored record and its review summary, so what the note says is tested
without laying out a page; console.reports.documents_html draws it and console.reports.pdf
fits it on one page.  A fact the record does not hold is None here and printed "missing".

Scales are today's annotations (EventKind SEDATION/DISSOCIATION/NAUSEA with their score); the
scale is named from the annotation's text prefix the chair's annotation dialog writes
(``MOAA/S``, ``CADSS-6``, ``dissociation 0-10``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from console.domain.review import PARAMETER_LABELS, ReviewSummary
from console.domain.session import EventKind, SessionEvent
from console.domain.timed_vitals import TimedRow, review_marks, timed_vitals, window_notes
from console.storage.review import StoredSession

#: How the documents print a field the record lacks.
MISSING = "missing"

#: Annotation kinds that are scales, and the lifecycle kinds the note lists as events.
SCALE_KINDS = frozenset({EventKind.SEDATION, EventKind.DISSOCIATION, EventKind.NAUSEA})
#: Kinds the note leaves out of its event list (shown in their own sections).
NOT_EVENTS = frozenset({*SCALE_KINDS, EventKind.DISCHARGE_CHECK, EventKind.BASELINE_VITALS})
#: Lifecycle kinds kept when a long session's note must be condensed.
KEY_EVENTS = frozenset(
    {
        EventKind.INFUSION_START,
        EventKind.INFUSION_STOP,
        EventKind.INFUSION_PAUSE,
        EventKind.INFUSION_RESUME,
        EventKind.RATE_CHANGE,
        EventKind.PHYSICIAN_REVIEW,
        EventKind.PHYSICIAN_OVERRIDE,
        EventKind.DISCHARGE_OVERRIDE,
        EventKind.INTERVENTION,
        EventKind.ABORTED,
        EventKind.CLOSED,
    }
)


@dataclass(frozen=True, slots=True)
class ScaleEntry:
    """One scored assessment: MOAA/S, CADSS-6, nausea, ..."""

    at: datetime
    minutes: float | None
    scale: str
    score: float | None
    by: str
    text: str


@dataclass(frozen=True, slots=True)
class NoteEvent:
    """One line of the note's event list."""

    at: datetime
    minutes: float | None
    kind: str
    detail: str
    by: str


@dataclass(frozen=True, slots=True)
class NoteAlarm:
    """An alarm and who acknowledged it when (None: nobody did)."""

    onset: datetime
    priority: str
    parameter: str
    message: str
    ack_by: str | None
    ack_at: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class NoteCheck:
    """One discharge-checklist answer."""

    item: str
    passed: bool
    at: datetime
    by: str
    note: str


@dataclass(frozen=True, slots=True)
class Signature:
    """A physician's sign-off or addendum (today's sign-off: who, when, kind)."""

    kind: str
    by: str
    at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class SessionNote:
    """Everything the one-page session note prints (None = missing from the record)."""

    session_id: int
    patient_name: str | None
    mrn: str | None
    date_of_birth: date | None
    started_at: datetime
    monitoring_end: datetime
    monitoring_min: float
    in_progress: bool
    simulated: bool
    chair: str
    series_number: int | None
    dose: str | None
    route: str | None
    infusion_start: datetime | None
    infusion_stop: datetime | None
    stop_reason: str
    vitals: tuple[TimedRow, ...]
    vitals_windows: tuple[str, ...]
    scales: tuple[ScaleEntry, ...]
    events: tuple[NoteEvent, ...]
    alarms: tuple[NoteAlarm, ...]
    discharge: tuple[NoteCheck, ...]
    signatures: tuple[Signature, ...]

    @property
    def signed(self) -> Signature | None:
        """The sign-off (not an addendum), if there is one."""
        return next((s for s in self.signatures if s.kind == "sign_off"), None)


def scale_name(e: SessionEvent) -> str:
    """The scale an annotation scored, from its kind and text prefix."""
    text = e.text.strip().lower()
    if e.kind == EventKind.SEDATION:
        return "MOAA/S (0-5)" if text.startswith("moaa/s") else "Sedation"
    if e.kind == EventKind.DISSOCIATION:
        if text.startswith("cadss-6"):
            return "CADSS-6 (0-24)"
        if text.startswith("dissociation 0-10"):
            return "Dissociation (0-10)"
        return "Dissociation"
    return "Nausea (0-10)"


def _scale_text(e: SessionEvent) -> str:
    """The annotation's text without the scale name it starts with."""
    text = e.text.strip()
    for prefix in ("MOAA/S", "CADSS-6", "dissociation 0-10", "nausea"):
        if text.lower().startswith(prefix.lower()):
            return text[len(prefix) :].lstrip(" :;,-")
    return text


def event_words(e: SessionEvent) -> str:
    """An event's values in a few words (rate, dose, score, reason, text)."""
    bits = []
    if e.rate_ml_per_h is not None:
        bits.append(f"{e.rate_ml_per_h:g} mL/h")
    if e.dose_mg is not None:
        bits.append(f"{e.dose_mg:g} mg")
    if e.score is not None:
        bits.append(f"score {e.score:g}")
    if e.reason:
        bits.append(f"reason: {e.reason}")
    if e.text:
        bits.append(e.text)
    return "; ".join(bits)


def _dose_text(stored: StoredSession, summary: ReviewSummary) -> str | None:
    """The dose line: the ketamine plan, or esketamine's dose, devices and lot."""
    esk = stored.esketamine
    if esk is not None:
        lot = f", lot {esk.lot.strip()}" if esk.lot.strip() else ""
        given = ", ".join(t.astimezone().strftime("%H:%M") for t in esk.devices_given_at)
        return (
            f"esketamine {esk.dose_mg:g} mg ({esk.devices_planned} devices{lot}); "
            f"given {given or 'none yet'}"
        )
    inf = summary.infusion
    return None if inf.planned_dose_mg is None else inf.dose_text()


def session_note(stored: StoredSession, summary: ReviewSummary) -> SessionNote:
    """The note of one session, from its record and review summary (pure)."""
    r, pt = stored.record, stored.patient
    events = sorted(stored.events, key=lambda e: e.at)

    esk = stored.esketamine
    first_device = None if esk is None else esk.first_device_at
    dosing_start = first_device or summary.infusion.start

    def rel(at: datetime) -> float | None:
        return None if dosing_start is None else (at - dosing_start).total_seconds() / 60.0

    rows = timed_vitals(stored.trends, review_marks(summary, events, first_device_at=first_device))
    scales = tuple(
        ScaleEntry(e.at, rel(e.at), scale_name(e), e.score, e.author, _scale_text(e))
        for e in events
        if e.kind in SCALE_KINDS
    )
    listed = tuple(
        NoteEvent(e.at, rel(e.at), e.kind, event_words(e), e.author)
        for e in events
        if e.kind not in NOT_EVENTS
    )
    alarms = tuple(
        NoteAlarm(
            onset=a.onset,
            priority=a.priority,
            parameter=PARAMETER_LABELS.get(a.parameter, a.parameter),
            message=a.message,
            ack_by=None if a.first_ack is None else a.first_ack.actor,
            ack_at=None if a.first_ack is None else a.first_ack.at,
            end=a.end,
        )
        for a in summary.alarms
    )
    checks = tuple(NoteCheck(*c) for c in stored.discharge_checks)
    inf = summary.infusion
    return SessionNote(
        session_id=r.id,
        patient_name=(pt.display_name or None) if pt else None,
        mrn=pt.mrn if pt else None,
        date_of_birth=pt.date_of_birth if pt else None,
        started_at=r.started_at,
        monitoring_end=summary.monitoring_end,
        monitoring_min=summary.monitoring_min,
        in_progress=summary.in_progress,
        simulated=r.simulated,
        chair=r.chair,
        series_number=r.series_number,
        dose=_dose_text(stored, summary),
        route="IN" if esk is not None else (inf.route or r.route),
        infusion_start=inf.start if esk is None else first_device,
        infusion_stop=inf.stop if esk is None else (esk.devices_given_at or (None,))[-1],
        stop_reason=inf.stop_reason,
        vitals=tuple(rows),
        vitals_windows=tuple(window_notes(rows)),
        scales=scales,
        events=listed,
        alarms=alarms,
        discharge=checks,
        signatures=tuple(
            Signature(s.kind, s.reviewed_by, s.reviewed_at, s.note) for s in stored.sign_offs
        ),
    )


#: Spacing of the infusion rows a condensed note keeps.
CONDENSED_EVERY_MIN = 30.0


def condensed_vitals(rows: Sequence[TimedRow]) -> tuple[TimedRow, ...]:
    """The vitals rows a long session's note keeps: baseline, checkpoint, pre-discharge and
    every 30 min of the infusion (instead of every 10)."""
    return tuple(
        r for r in rows if r.mark.offset_min is None or r.mark.offset_min % CONDENSED_EVERY_MIN == 0
    )


def condensed_events(events: Sequence[NoteEvent]) -> tuple[NoteEvent, ...]:
    """The events a long session's note keeps: dosing, physician decisions, interventions,
    the end (notes, symptoms and the rest stay in the full report)."""
    return tuple(e for e in events if e.kind in KEY_EVENTS)
