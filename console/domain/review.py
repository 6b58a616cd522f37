"""The physician's review of a stored session, computed from plain data (no Qt, no SQL).

Everything the review window, the PDF report, the FHIR export and the series comparison show as
a *figure* is computed here, once, so the screen and the paper can never disagree: baseline,
peak and pre-discharge BP/HR (clinical.md G 32: BP before dosing, at ~40 min and before
completion), time to peak (D 18: peaks at 30-40 min), total monitoring time (G 32), the dose
and infusion timeline (A 1, C 16), the alarm periods with who acknowledged them, and data
completeness with the gaps listed (I 38: disconnects happen and must be visible).

Inputs are described by small protocols, so the storage layer's frozen dataclasses fit without
this module importing them (console.domain may not import console.storage).  Times are
timezone-aware UTC datetimes; trend times are float epoch seconds with NaN for readings the
device flagged invalid.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from console.domain.checkpoint import CHECKPOINT_WINDOW_MIN, checkpoint_reading
from console.domain.observations import (
    extreme_scores,
    outcome_scores,
    score_label,
    shows_effect,
)
from console.domain.session import EventKind, SessionEvent

FloatArray = npt.NDArray[np.float64]

#: Parameters shown and summarised, in display order (stored ``parameter`` names).
SBP, DBP, MAP, HR, PR, SPO2, RR, TEMP = (
    "NIBP_SYS",
    "NIBP_DIA",
    "NIBP_MEAN",
    "HR",
    "PR",
    "SPO2",
    "RR",
    "TEMP",
)
NIBP_PARAMETERS = frozenset({SBP, DBP, MAP})
PARAMETER_LABELS: dict[str, str] = {
    SBP: "SBP",
    DBP: "DBP",
    MAP: "MAP",
    HR: "HR",
    PR: "PR",
    SPO2: "SpO2",
    RR: "RR",
    TEMP: "Temp",
}

#: Event kinds the series view and the report count as adverse effects (clinical.md E 22-27).
ADVERSE_KINDS = frozenset(
    {
        EventKind.NAUSEA.value,
        EventKind.DISSOCIATION.value,
        EventKind.SEDATION.value,
        EventKind.INTERVENTION.value,
        EventKind.SYMPTOM.value,
    }
)
#: A continuous parameter is "missing" after this many nominal intervals without a valid value.
CONTINUOUS_GAP_INTERVALS = 5.0
#: ... but never before this many seconds (a 1 Hz monitor that skips a beat is not a gap).
CONTINUOUS_GAP_MIN_S = 10.0
#: NIBP is missing once a cycle is overdue by this grace (clinical.md b3 "NIBP overdue": + 2 min).
NIBP_GAP_GRACE_S = 120.0
#: Nominal interval of a continuous parameter when too few readings exist to measure it.
DEFAULT_CONTINUOUS_INTERVAL_S = 1.0


# -- inputs -----------------------------------------------------------------------------------
class TrendLike(Protocol):
    """One parameter's numerics: epoch seconds and values (NaN = flagged invalid)."""

    @property
    def t(self) -> FloatArray: ...

    @property
    def value(self) -> FloatArray: ...


class AlarmLike(Protocol):
    """An alarm condition from onset to end, as stored."""

    @property
    def condition(self) -> str: ...

    @property
    def parameter(self) -> str: ...

    @property
    def priority(self) -> str: ...

    @property
    def limit_value(self) -> float | None: ...

    @property
    def value(self) -> float | None: ...

    @property
    def message(self) -> str: ...

    @property
    def onset_at(self) -> datetime: ...

    @property
    def ended_at(self) -> datetime | None: ...


class AlarmLogLike(Protocol):
    """One alarm transition, as stored (``actor`` is who acted, if a person did)."""

    @property
    def condition(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def at(self) -> datetime: ...

    @property
    def actor(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ReviewInputs:
    """What one session's review is computed from (all of it read from the stored record).

    Attributes:
        started_at: session start.
        ended_at: session end; None while the session is still running on another console.
        trends: numerics per stored parameter name.
        alarms: alarm conditions by onset.
        alarm_log: every alarm transition in order (acknowledgements come from here).
        events: the lifecycle and annotation timeline in order.
        weight_kg, dose_mg_per_kg, dose_mg, rate_ml_per_h: the session header's plan.
        nibp_interval_s: the NIBP cycle the completeness of NIBP is judged against.
        as_of: when the record was read; the end of an unfinished session's data is the newer
            of its last stored item and nothing else (simulated sessions run on their own clock,
            so the wall clock would make them look incomplete).
    """

    started_at: datetime
    ended_at: datetime | None
    trends: Mapping[str, TrendLike]
    alarms: Sequence[AlarmLike] = ()
    alarm_log: Sequence[AlarmLogLike] = ()
    events: Sequence[SessionEvent] = ()
    weight_kg: float | None = None
    dose_mg_per_kg: float | None = None
    dose_mg: float | None = None
    rate_ml_per_h: float | None = None
    nibp_interval_s: float = 300.0
    as_of: datetime | None = None


# -- outputs ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Measured:
    """One value at one time (a figure of the summary)."""

    value: float
    at: datetime

    def minutes_after(self, origin: datetime | None) -> float | None:
        """Minutes from ``origin`` to this value; None without an origin."""
        return None if origin is None else (self.at - origin).total_seconds() / 60.0


@dataclass(frozen=True, slots=True)
class VitalsSnapshot:
    """SBP, DBP and HR at one moment of the session (any may be unknown)."""

    sbp: Measured | None = None
    dbp: Measured | None = None
    hr: Measured | None = None
    source: str = ""

    def bp_text(self) -> str:
        """``142/88`` or ``-`` parts when unknown."""
        return f"{_num(self.sbp)}/{_num(self.dbp)}"

    def hr_text(self) -> str:
        """HR as text, ``-`` when unknown."""
        return _num(self.hr)


@dataclass(frozen=True, slots=True)
class RateStep:
    """The pump rate from ``at`` on (start, change or resume)."""

    at: datetime
    rate_ml_per_h: float | None
    kind: str
    author: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Pause:
    """A pump pause; ``end`` is None when it was never resumed."""

    start: datetime
    end: datetime | None
    reason: str = ""
    author: str = ""


@dataclass(frozen=True, slots=True)
class InfusionTimeline:
    """Dose and pump history (clinical.md A 1, C 16)."""

    weight_kg: float | None = None
    dose_mg_per_kg: float | None = None
    planned_dose_mg: float | None = None
    given_dose_mg: float | None = None
    route: str | None = None
    start: datetime | None = None
    stop: datetime | None = None
    stop_reason: str = ""
    steps: tuple[RateStep, ...] = ()
    pauses: tuple[Pause, ...] = ()

    @property
    def duration_min(self) -> float | None:
        """Minutes from start to stop (None until both are known)."""
        if self.start is None or self.stop is None:
            return None
        return (self.stop - self.start).total_seconds() / 60.0

    def dose_text(self) -> str:
        """``35 mg (0.5 mg/kg x 70 kg)`` or ``no dose recorded``."""
        if self.planned_dose_mg is None:
            return "no dose recorded"
        parts = [f"{self.planned_dose_mg:g} mg"]
        if self.dose_mg_per_kg is not None and self.weight_kg is not None:
            parts.append(f"({self.dose_mg_per_kg:g} mg/kg x {self.weight_kg:g} kg)")
        if self.route:
            parts.append(self.route)
        if self.given_dose_mg is not None and self.given_dose_mg != self.planned_dose_mg:
            parts.append(f"- given {self.given_dose_mg:g} mg")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Who acknowledged an alarm, and when."""

    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AlarmPeriod:
    """One alarm from onset to end, with its acknowledgements (for the list and the shading).

    Attributes:
        end: when the alarm left the list; None while still open.
        shade_end: where its shading stops: ``end``, else the end of the data.
        condition_ended_at: for a latched alarm, when the condition itself ended.
        signal_escalated_at: when its signal escalated because nobody acknowledged it (the
            priority stays as recorded; issue 11 item 10).
    """

    condition: str
    parameter: str
    priority: str
    value: float | None
    limit_value: float | None
    message: str
    onset: datetime
    end: datetime | None
    shade_end: datetime
    acknowledgements: tuple[Acknowledgement, ...] = ()
    condition_ended_at: datetime | None = None
    signal_escalated_at: datetime | None = None

    @property
    def first_ack(self) -> Acknowledgement | None:
        """The first acknowledgement, if anyone acknowledged."""
        return self.acknowledgements[0] if self.acknowledgements else None

    @property
    def duration_s(self) -> float:
        """Seconds from onset to end (or to the end of the data while open)."""
        return (self.shade_end - self.onset).total_seconds()


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch with no valid value of one parameter."""

    parameter: str
    start: datetime
    end: datetime

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Completeness:
    """How much of what the monitor should have sent is in the record, for one parameter.

    Attributes:
        interval_s: the nominal interval the expectation is based on.
        expected: readings expected over the monitoring time at that interval.
        valid: readings stored with a usable value.
        invalid: readings stored but flagged invalid by the device.
        gaps: stretches without a valid value longer than the parameter's gap threshold.
    """

    parameter: str
    interval_s: float
    expected: int
    valid: int
    invalid: int
    gaps: tuple[Gap, ...] = ()

    @property
    def percent(self) -> float:
        """Valid readings as a percentage of the expected ones (at most 100)."""
        if self.expected <= 0:
            return 100.0 if self.valid else 0.0
        return min(100.0, 100.0 * self.valid / self.expected)


@dataclass(frozen=True, slots=True)
class ReviewSummary:
    """Every figure of one session's review.

    Attributes:
        origin: time zero of "minutes into the session" axes: the infusion start when there
            was one (so sessions of a series line up), else the session start.
        monitoring_end: end of the session, or of its data while it is still running.
        in_progress: the session has not ended (another console is still writing it).
        baseline: pre-dose vitals (the recorded baseline set, else the last reading before
            the infusion, else the first of the session).
        peak: highest SBP, DBP and HR after the infusion start (whole session without one).
        checkpoint_40: the 40-min BP checkpoint: the first NIBP 35-45 min after the infusion
            start (console.domain.checkpoint, the live strip's rule), and the HR then.
        pre_discharge: the last valid values before discharge started (else before the end).
    """

    started_at: datetime
    monitoring_end: datetime
    in_progress: bool
    origin: datetime
    infusion: InfusionTimeline
    baseline: VitalsSnapshot
    peak: VitalsSnapshot
    checkpoint_40: VitalsSnapshot
    pre_discharge: VitalsSnapshot
    alarms: tuple[AlarmPeriod, ...]
    completeness: tuple[Completeness, ...]
    adverse_events: tuple[SessionEvent, ...]
    annotations: tuple[SessionEvent, ...]
    gap_breaks_s: Mapping[str, float] = field(default_factory=dict)
    #: Structured scores (MOAA/S, CADSS-6, nausea, PHQ-9, MADRS; console.domain.observations).
    scores: tuple[SessionEvent, ...] = ()

    @property
    def monitoring_min(self) -> float:
        """Total monitoring time in minutes (G 32: first administration to end of monitoring
        is contained in it)."""
        return (self.monitoring_end - self.started_at).total_seconds() / 60.0

    @property
    def time_to_peak_sbp_min(self) -> float | None:
        """Minutes from the infusion start to the peak SBP (None without either)."""
        if self.infusion.start is None or self.peak.sbp is None:
            return None
        return self.peak.sbp.minutes_after(self.infusion.start)

    def alarm_count(self, priority: str | None = None) -> int:
        """Alarms of one priority (``"high"``), or all."""
        return sum(1 for a in self.alarms if priority is None or a.priority == priority)

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """Every gap of every parameter, in time order."""
        return tuple(sorted((g for c in self.completeness for g in c.gaps), key=lambda g: g.start))

    @property
    def overall_completeness(self) -> float:
        """Mean completeness of the parameters the monitor sent at all."""
        sent = [c.percent for c in self.completeness if c.valid or c.invalid]
        return sum(sent) / len(sent) if sent else 0.0

    def minutes(self, at: datetime) -> float:
        """Minutes of ``at`` after the session start (the review plots' x axis)."""
        return (at - self.started_at).total_seconds() / 60.0


# -- computation ------------------------------------------------------------------------------
def summarize(inputs: ReviewInputs) -> ReviewSummary:
    """Compute every figure of the review of one session.

    Args:
        inputs: the stored record, as plain data.

    Returns:
        The summary; figures the record cannot support are None, never guessed.
    """
    events = sorted(inputs.events, key=lambda e: e.at)
    end = _monitoring_end(inputs)
    infusion = infusion_timeline(events, inputs)
    origin = infusion.start or inputs.started_at
    baseline = _baseline(events, inputs.trends, inputs.started_at, infusion.start)
    peak_from = infusion.start or inputs.started_at
    peak = VitalsSnapshot(
        sbp=_peak(inputs.trends.get(SBP), peak_from, end),
        dbp=_peak(inputs.trends.get(DBP), peak_from, end),
        hr=_peak(inputs.trends.get(HR), peak_from, end),
        source="after infusion start" if infusion.start else "whole session (no infusion)",
    )
    checkpoint = VitalsSnapshot(source="no infusion start")
    if infusion.start is not None:
        checkpoint = _checkpoint(inputs.trends, infusion.start)
    discharge = next((e.at for e in events if e.kind == EventKind.DISCHARGE_START), None)
    before = discharge or end
    pre_discharge = VitalsSnapshot(
        sbp=_last_before(inputs.trends.get(SBP), before),
        dbp=_last_before(inputs.trends.get(DBP), before),
        hr=_last_before(inputs.trends.get(HR), before),
        source="before discharge started" if discharge else "last values of the session",
    )
    completeness = tuple(
        parameter_completeness(
            name,
            inputs.trends[name],
            inputs.started_at,
            end,
            nibp_interval_s=inputs.nibp_interval_s,
        )
        for name in ordered_parameters(inputs.trends)
    )
    return ReviewSummary(
        started_at=inputs.started_at,
        monitoring_end=end,
        in_progress=inputs.ended_at is None,
        origin=origin,
        infusion=infusion,
        baseline=baseline,
        peak=peak,
        checkpoint_40=checkpoint,
        pre_discharge=pre_discharge,
        alarms=alarm_periods(inputs.alarms, inputs.alarm_log, end),
        completeness=completeness,
        adverse_events=tuple(e for e in events if e.kind in ADVERSE_KINDS and shows_effect(e)),
        annotations=tuple(e for e in events if e.kind == EventKind.NOTE),
        gap_breaks_s={
            c.parameter: gap_threshold_s(c.parameter, c.interval_s) for c in completeness
        },
        scores=tuple(e for e in events if score_label(e) is not None),
    )


def ordered_parameters(names: Mapping[str, object] | Sequence[str]) -> list[str]:
    """Parameter names in display order (known ones first, then the rest alphabetically)."""
    order = [SBP, DBP, MAP, HR, PR, SPO2, RR, TEMP]
    present = list(names)
    return [p for p in order if p in present] + sorted(p for p in present if p not in order)


def _monitoring_end(inputs: ReviewInputs) -> datetime:
    if inputs.ended_at is not None:
        return inputs.ended_at
    last = inputs.started_at
    for trend in inputs.trends.values():
        if len(trend.t):
            last = max(last, _dt(float(np.max(trend.t))))
    for e in inputs.events:
        last = max(last, e.at)
    for a in inputs.alarms:
        last = max(last, a.onset_at)
    return last


def infusion_timeline(events: Sequence[SessionEvent], inputs: ReviewInputs) -> InfusionTimeline:
    """The dose and pump history from the lifecycle events (plan, start, pauses, rates, stop).

    The header's plan columns are the fallback when the plan event is missing (older records).
    """
    weight, per_kg, planned = inputs.weight_kg, inputs.dose_mg_per_kg, inputs.dose_mg
    route: str | None = None
    start = stop = None
    stop_reason = ""
    given: float | None = None
    steps: list[RateStep] = []
    pauses: list[Pause] = []
    for e in sorted(events, key=lambda e: e.at):
        if e.kind == EventKind.INFUSION_PLANNED:
            weight = _float(e.data.get("weight_kg"), weight)
            per_kg = _float(e.data.get("dose_mg_per_kg"), per_kg)
            planned = e.dose_mg if e.dose_mg is not None else planned
            route = str(e.data.get("route") or "") or None
        elif e.kind == EventKind.INFUSION_START:
            start = e.at
            steps.append(RateStep(e.at, e.rate_ml_per_h, e.kind, e.author, e.reason))
        elif e.kind in (EventKind.RATE_CHANGE, EventKind.INFUSION_RESUME):
            steps.append(RateStep(e.at, e.rate_ml_per_h, e.kind, e.author, e.reason))
            if e.kind == EventKind.INFUSION_RESUME and pauses and pauses[-1].end is None:
                last = pauses[-1]
                pauses[-1] = Pause(last.start, e.at, last.reason, last.author)
        elif e.kind == EventKind.INFUSION_PAUSE:
            pauses.append(Pause(e.at, None, e.reason, e.author))
            steps.append(RateStep(e.at, 0.0, e.kind, e.author, e.reason))
        elif e.kind == EventKind.INFUSION_STOP:
            stop, stop_reason, given = e.at, e.reason, e.dose_mg
            steps.append(RateStep(e.at, 0.0, e.kind, e.author, e.reason))
    return InfusionTimeline(
        weight_kg=weight,
        dose_mg_per_kg=per_kg,
        planned_dose_mg=planned,
        given_dose_mg=given,
        route=route,
        start=start,
        stop=stop,
        stop_reason=stop_reason,
        steps=tuple(steps),
        pauses=tuple(pauses),
    )


def _baseline(
    events: Sequence[SessionEvent],
    trends: Mapping[str, TrendLike],
    started_at: datetime,
    infusion_start: datetime | None,
) -> VitalsSnapshot:
    recorded = [e for e in events if e.kind == EventKind.BASELINE_VITALS]
    with_bp = [e for e in recorded if e.data.get("sbp") is not None]
    if with_bp:
        # The set the pre-dose gate decided on (the newest with a BP) is the baseline.
        e = with_bp[-1]
        hr_event = next((x for x in reversed(recorded) if x.data.get("hr") is not None), None)
        return VitalsSnapshot(
            sbp=_measured(e.data.get("sbp"), e.at),
            dbp=_measured(e.data.get("dbp"), e.at),
            hr=None if hr_event is None else _measured(hr_event.data.get("hr"), hr_event.at),
            source="recorded baseline vitals",
        )
    if infusion_start is not None:
        sbp = _last_before(trends.get(SBP), infusion_start)
        if sbp is not None:
            return VitalsSnapshot(
                sbp=sbp,
                dbp=_last_before(trends.get(DBP), infusion_start),
                hr=_last_before(trends.get(HR), infusion_start),
                source="last readings before the infusion",
            )
    return VitalsSnapshot(
        sbp=_first(trends.get(SBP)),
        dbp=_first(trends.get(DBP)),
        hr=_first(trends.get(HR)),
        source="first readings of the session (no baseline recorded)",
    )


def alarm_periods(
    alarms: Sequence[AlarmLike], log: Sequence[AlarmLogLike], data_end: datetime
) -> tuple[AlarmPeriod, ...]:
    """Alarm rows joined with the acknowledgements and latch times from the alarm log.

    A condition key can recur in one session (SBP high twice), so a log entry belongs to the
    period of the same condition whose onset..end contains it.
    """
    out: list[AlarmPeriod] = []
    for a in sorted(alarms, key=lambda a: a.onset_at):
        until = a.ended_at or data_end
        mine = [x for x in log if x.condition == a.condition and a.onset_at <= x.at <= until]
        acks = tuple(
            Acknowledgement(x.actor or "?", x.at) for x in mine if x.kind == "acknowledged"
        )
        latched = next((x.at for x in mine if x.kind == "latched"), None)
        unanswered = next((x.at for x in mine if x.kind == "signal_escalated"), None)
        out.append(
            AlarmPeriod(
                condition=a.condition,
                parameter=a.parameter,
                priority=a.priority,
                value=a.value,
                limit_value=a.limit_value,
                message=a.message,
                onset=a.onset_at,
                end=a.ended_at,
                shade_end=max(until, a.onset_at),
                acknowledgements=acks,
                condition_ended_at=latched,
                signal_escalated_at=unanswered,
            )
        )
    return tuple(out)


def gap_threshold_s(parameter: str, interval_s: float) -> float:
    """Longest stretch without a valid value that is still not a gap, for one parameter."""
    if parameter in NIBP_PARAMETERS:
        return interval_s + NIBP_GAP_GRACE_S
    return max(CONTINUOUS_GAP_MIN_S, CONTINUOUS_GAP_INTERVALS * interval_s)


def nominal_interval_s(parameter: str, t: FloatArray, nibp_interval_s: float) -> float:
    """The interval a parameter is expected at: the NIBP cycle, or the monitor's own rate.

    The continuous rate is the median spacing of the stored readings, which is robust to gaps
    and to the odd duplicate; with fewer than three readings the 1 Hz default is assumed.
    """
    if parameter in NIBP_PARAMETERS:
        return nibp_interval_s
    if len(t) < 3:
        return DEFAULT_CONTINUOUS_INTERVAL_S
    diffs = np.diff(np.sort(t))
    diffs = diffs[diffs > 0]
    return float(np.median(diffs)) if len(diffs) else DEFAULT_CONTINUOUS_INTERVAL_S


def parameter_completeness(
    parameter: str,
    trend: TrendLike,
    start: datetime,
    end: datetime,
    *,
    nibp_interval_s: float = 300.0,
) -> Completeness:
    """Expected vs received readings of one parameter between ``start`` and ``end``, and gaps.

    Invalid (NaN) readings count as missing, so a sensor that fell off shows as a gap even
    though the monitor kept sending; the stretch from the start to the first valid value and
    from the last one to the end count too.
    """
    t = np.asarray(trend.t, dtype=np.float64)
    v = np.asarray(trend.value, dtype=np.float64)
    ok = np.isfinite(v)
    interval = nominal_interval_s(parameter, t, nibp_interval_s)
    span = max(0.0, (end - start).total_seconds())
    expected = math.floor(span / interval) if interval > 0 else 0
    if parameter in NIBP_PARAMETERS:
        expected = max(expected, 1) if span > 0 else 0
    limit = gap_threshold_s(parameter, interval)
    edges = np.concatenate(([start.timestamp()], np.sort(t[ok]), [end.timestamp()]))
    gaps: list[Gap] = []
    for a, b in itertools.pairwise(edges):
        if b - a > limit:
            gaps.append(Gap(parameter, _dt(float(a)), _dt(float(b))))
    return Completeness(
        parameter=parameter,
        interval_s=interval,
        expected=expected,
        valid=int(ok.sum()),
        invalid=int((~ok).sum()),
        gaps=tuple(gaps),
    )


def with_gap_breaks(t: FloatArray, v: FloatArray, max_dt_s: float) -> tuple[FloatArray, FloatArray]:
    """Insert a NaN wherever two readings are more than ``max_dt_s`` apart.

    Plots drawn with ``connect="finite"`` then show a gap as a gap instead of a straight line
    across the missing data.
    """
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    if len(t) < 2:
        return t.copy(), v.copy()
    breaks = np.nonzero(np.diff(t) > max_dt_s)[0]
    if not len(breaks):
        return t.copy(), v.copy()
    t_out = np.insert(t, breaks + 1, (t[breaks] + t[breaks + 1]) / 2.0)
    v_out = np.insert(v, breaks + 1, np.nan)
    return t_out, v_out


# -- series of one patient -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SeriesSession:
    """One session of a patient's series, as the series comparison needs it."""

    session_id: int
    series_number: int | None
    started_at: datetime
    simulated: bool
    summary: ReviewSummary
    sbp: TrendLike | None = None


@dataclass(frozen=True, slots=True)
class SeriesRow:
    """One column of the side-by-side series table."""

    session_id: int
    series_number: int | None
    started_at: datetime
    simulated: bool
    in_progress: bool
    baseline: VitalsSnapshot
    peak: VitalsSnapshot
    sbp_rise: float | None
    dbp_rise: float | None
    time_to_peak_min: float | None
    alarms_high: int
    alarms_medium: int
    alarms_low: int
    dose_text: str
    dose_mg: float | None
    adverse: tuple[str, ...]
    monitoring_min: float
    #: Outcome scores entered before the session (PHQ-9, MADRS), by scale.
    outcomes: Mapping[str, float] = field(default_factory=dict)
    #: Each timed scale's worst score of the session (lowest MOAA/S, highest CADSS-6, nausea).
    worst_scores: Mapping[str, float] = field(default_factory=dict)


def series_rows(sessions: Sequence[SeriesSession]) -> list[SeriesRow]:
    """The side-by-side comparison, oldest session first (clinical.md A 3-4: risk is highest
    early in the series and tolerance to the BP effect does not develop, so the physician
    compares every session, not just the last two)."""
    rows: list[SeriesRow] = []
    for s in sorted(sessions, key=lambda s: (s.started_at, s.session_id)):
        m = s.summary
        rows.append(
            SeriesRow(
                session_id=s.session_id,
                series_number=s.series_number,
                started_at=s.started_at,
                simulated=s.simulated,
                in_progress=m.in_progress,
                baseline=m.baseline,
                peak=m.peak,
                sbp_rise=_rise(m.peak.sbp, m.baseline.sbp),
                dbp_rise=_rise(m.peak.dbp, m.baseline.dbp),
                time_to_peak_min=m.time_to_peak_sbp_min,
                alarms_high=m.alarm_count("high"),
                alarms_medium=m.alarm_count("medium"),
                alarms_low=m.alarm_count("low"),
                dose_text=m.infusion.dose_text(),
                dose_mg=m.infusion.given_dose_mg or m.infusion.planned_dose_mg,
                # Scores are in their own rows (worst MOAA/S, CADSS-6, nausea): the cell keeps
                # what was written as an event (vomiting, an intervention...).
                adverse=_adverse_labels([e for e in m.adverse_events if score_label(e) is None]),
                monitoring_min=m.monitoring_min,
                outcomes=outcome_scores(m.scores),
                worst_scores=extreme_scores(m.scores),
            )
        )
    return rows


def overlay_curve(trend: TrendLike | None, origin: datetime) -> tuple[FloatArray, FloatArray]:
    """A BP trend as (minutes from ``origin``, value), valid values only, for overlaying the
    sessions of a series on one axis aligned at the infusion start."""
    if trend is None or not len(trend.t):
        return np.empty(0), np.empty(0)
    t = np.asarray(trend.t, dtype=np.float64)
    v = np.asarray(trend.value, dtype=np.float64)
    ok = np.isfinite(v)
    return (t[ok] - origin.timestamp()) / 60.0, v[ok]


def _adverse_labels(events: Sequence[SessionEvent]) -> tuple[str, ...]:
    labels: list[str] = []
    for e in events:
        label = e.kind.replace("_", " ")
        if e.score is not None:
            label += f" {e.score:g}"
        if e.text:
            label += f" ({e.text})"
        labels.append(label)
    return tuple(labels)


# -- small helpers ----------------------------------------------------------------------------
def _dt(epoch_s: float) -> datetime:
    # Epoch floats carry ~1 µs of noise; the record is kept to the millisecond.
    return datetime.fromtimestamp(round(epoch_s, 3), tz=UTC)


def local_time(at: datetime | None, *, seconds: bool = True, day: bool = False) -> str:
    """A stored UTC time as the clinic's local wall-clock text (``-`` when unknown)."""
    if at is None:
        return "-"
    fmt = ("%Y-%m-%d " if day else "") + ("%H:%M:%S" if seconds else "%H:%M")
    return at.astimezone().strftime(fmt)


def minutes_text(minutes: float | None) -> str:
    """``+32 min`` / ``-5 min`` (relative to the infusion start), ``-`` when unknown."""
    return "-" if minutes is None else f"{minutes:+.0f} min"


def _num(m: Measured | None) -> str:
    return "-" if m is None else f"{m.value:.0f}"


def _float(raw: object, default: float | None) -> float | None:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    return default


def _measured(raw: object, at: datetime) -> Measured | None:
    value = _float(raw, None)
    return None if value is None else Measured(value, at)


def _valid(trend: TrendLike | None) -> tuple[FloatArray, FloatArray]:
    if trend is None:
        return np.empty(0), np.empty(0)
    t = np.asarray(trend.t, dtype=np.float64)
    v = np.asarray(trend.value, dtype=np.float64)
    ok = np.isfinite(v)
    return t[ok], v[ok]


def _peak(trend: TrendLike | None, start: datetime, end: datetime) -> Measured | None:
    t, v = _valid(trend)
    sel = (t >= start.timestamp()) & (t <= end.timestamp())
    if not sel.any():
        return None
    idx = np.nonzero(sel)[0]
    best = idx[int(np.argmax(v[idx]))]  # argmax takes the first of equal peaks
    return Measured(float(v[best]), _dt(float(t[best])))


def _nearest(
    trend: TrendLike | None, target: datetime, lo: datetime, hi: datetime
) -> Measured | None:
    t, v = _valid(trend)
    sel = np.nonzero((t >= lo.timestamp()) & (t <= hi.timestamp()))[0]
    if not len(sel):
        return None
    best = sel[int(np.argmin(np.abs(t[sel] - target.timestamp())))]
    return Measured(float(v[best]), _dt(float(t[best])))


def _checkpoint(trends: Mapping[str, TrendLike], start: datetime) -> VitalsSnapshot:
    """The 40-min checkpoint by the one rule the live strip uses too."""
    st, sv = _valid(trends.get(SBP))
    dt, dv = _valid(trends.get(DBP))
    t0 = start.timestamp()
    found = checkpoint_reading(list((st - t0) / 60.0), list(sv), list((dt - t0) / 60.0), list(dv))
    lo, hi = (start + timedelta(minutes=m) for m in CHECKPOINT_WINDOW_MIN)
    if found is None:
        return VitalsSnapshot(source="no NIBP 35-45 min after infusion start")
    when = start + timedelta(minutes=found.minutes)
    return VitalsSnapshot(
        sbp=Measured(found.sbp, when),
        dbp=None if found.dbp is None else Measured(found.dbp, when),
        hr=_nearest(trends.get(HR), when, lo, hi),
        source="first NIBP 35-45 min after infusion start",
    )


def _last_before(trend: TrendLike | None, before: datetime) -> Measured | None:
    t, v = _valid(trend)
    sel = np.nonzero(t <= before.timestamp())[0]
    if not len(sel):
        return None
    return Measured(float(v[sel[-1]]), _dt(float(t[sel[-1]])))


def _first(trend: TrendLike | None) -> Measured | None:
    t, v = _valid(trend)
    return Measured(float(v[0]), _dt(float(t[0]))) if len(t) else None


def _rise(peak: Measured | None, base: Measured | None) -> float | None:
    return None if peak is None or base is None else peak.value - base.value
