"""The timed vitals table: the vitals at the moments a session's documentation asks for.

The report, the session note and the REMS form all want vitals *at times* (clinical.md G 32-33:
"vitals at defined intervals"; BP before dosing, at ~40 min and before completion), not the
whole trend.  One pure function answers that for every document, so they cannot disagree:

* **Baseline**: the recorded pre-dose set when there is one (the values the pre-dose gate
  decided on), else the readings nearest the infusion start in the 10 minutes before it;
  never a reading taken after the infusion started.
* **Every 10 minutes of the infusion** (+10, +20, ... up to the stop, or the end of the data
  while it runs): the reading nearest the mark within 5 minutes either side.
* **The 40-minute checkpoint**: the BP by the rule the live strip and the review use
  (console.domain.checkpoint: the *first* valid NIBP 35-45 min after the start; issue 11 item 9
  made that one rule), the other parameters nearest that reading within the same window.  It
  takes the place of the +40 mark.
* **Pre-discharge**: the last readings in the 10 minutes before discharge started (or before
  the end of monitoring when discharge never started).

NIBP values of one row come from one cuff cycle: DBP and MAP are the ones nearest the chosen
SBP.  A parameter with no valid reading in its window is None (the documents mark it), never
borrowed from outside the window.  Ties go to the earlier reading.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np
import numpy.typing as npt

from console.domain.checkpoint import CHECKPOINT_WINDOW_MIN
from console.domain.review import ReviewSummary
from console.domain.session import EventKind, SessionEvent

FloatArray = npt.NDArray[np.float64]

#: Stored parameter names (the same strings as console.domain.review's constants).
SBP, DBP, MAP, HR, SPO2, RR = "NIBP_SYS", "NIBP_DIA", "NIBP_MEAN", "HR", "SPO2", "RR"
#: Columns of the table, in order.
COLUMNS: tuple[str, ...] = (SBP, DBP, MAP, HR, SPO2, RR)
#: Spacing of the infusion marks, and how far either side of a mark a reading may be.
MARK_EVERY_MIN = 10.0
MARK_WINDOW_MIN = 5.0
#: How far before dosing (baseline) and before discharge a reading may be.
LOOKBACK_MIN = 10.0
#: The infusion mark the checkpoint replaces.
CHECKPOINT_MARK_MIN = 40.0
#: Slack of the window edges in seconds: the record keeps times to the millisecond, and an epoch
#: float read back can be a microsecond short of the same instant.
EDGE_SLACK_S = 0.001
#: Keys of the recorded baseline event's data, per column.
BASELINE_KEYS: dict[str, str] = {
    SBP: "sbp",
    DBP: "dbp",
    MAP: "map",
    HR: "hr",
    SPO2: "spo2",
    RR: "rr",
}


class TrendLike(Protocol):
    """One parameter's numerics: epoch seconds and values (NaN = flagged invalid)."""

    @property
    def t(self) -> FloatArray: ...

    @property
    def value(self) -> FloatArray: ...


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of the table and when it was measured."""

    value: float
    at: datetime


@dataclass(frozen=True, slots=True)
class TimedMark:
    """One row to fill: its label, the time it stands for and the window readings may come from.

    Attributes:
        label: ``Baseline``, ``+10 min``, ``40-min checkpoint``, ``Pre-discharge``.
        target: the moment the row stands for; None when the session never reached it.
        lo, hi: the window (inclusive); readings outside it are never used.
        first_bp: take the *first* valid SBP in the window (the checkpoint rule), not the
            nearest.
        recorded: values entered for this moment (the baseline set), used before readings.
        window_text: the window in words, printed under the table.
        offset_min: minutes after the infusion start of a ``+N min`` mark (None otherwise).
    """

    label: str
    target: datetime | None
    lo: datetime | None = None
    hi: datetime | None = None
    first_bp: bool = False
    recorded: Mapping[str, Reading] = field(default_factory=dict)
    window_text: str = ""
    offset_min: float | None = None


@dataclass(frozen=True, slots=True)
class TimedRow:
    """One filled row: the mark and a value (or None) per column of :data:`COLUMNS`."""

    mark: TimedMark
    values: Mapping[str, Reading | None]

    def missing(self) -> tuple[str, ...]:
        """Columns with no valid reading in the window."""
        return tuple(c for c in COLUMNS if self.values.get(c) is None)


def _valid(trend: TrendLike | None) -> tuple[FloatArray, FloatArray]:
    if trend is None:
        return np.empty(0), np.empty(0)
    t = np.asarray(trend.t, dtype=np.float64)
    v = np.asarray(trend.value, dtype=np.float64)
    ok = np.isfinite(v) & np.isfinite(t)
    return t[ok], v[ok]


def _within(t: FloatArray, lo: datetime, hi: datetime) -> npt.NDArray[np.intp]:
    """Indices of the times inside ``lo..hi`` (inclusive, to the millisecond)."""
    return np.nonzero((t >= lo.timestamp() - EDGE_SLACK_S) & (t <= hi.timestamp() + EDGE_SLACK_S))[
        0
    ]


def _reading(t: float, v: float) -> Reading:
    return Reading(float(v), datetime.fromtimestamp(round(t, 3), tz=UTC))


def nearest_reading(
    trend: TrendLike | None, target: datetime, lo: datetime, hi: datetime
) -> Reading | None:
    """The valid reading nearest ``target`` with ``lo <= time <= hi``; the earlier one on a tie."""
    t, v = _valid(trend)
    sel = _within(t, lo, hi)
    if not len(sel):
        return None
    x = target.timestamp()
    best = min(sel, key=lambda i: (abs(t[i] - x), t[i]))
    return _reading(float(t[best]), float(v[best]))


def first_reading(trend: TrendLike | None, lo: datetime, hi: datetime) -> Reading | None:
    """The earliest valid reading with ``lo <= time <= hi``."""
    t, v = _valid(trend)
    sel = _within(t, lo, hi)
    if not len(sel):
        return None
    best = min(sel, key=lambda i: t[i])
    return _reading(float(t[best]), float(v[best]))


def fill_row(trends: Mapping[str, TrendLike], mark: TimedMark) -> TimedRow:
    """The values of one mark (see the module docstring for the rules)."""
    if mark.target is None or mark.lo is None or mark.hi is None:
        return TimedRow(mark, {c: mark.recorded.get(c) for c in COLUMNS})
    lo, hi, target = mark.lo, mark.hi, mark.target
    sbp = (
        first_reading(trends.get(SBP), lo, hi)
        if mark.first_bp
        else nearest_reading(trends.get(SBP), target, lo, hi)
    )
    cuff = target if sbp is None else sbp.at
    continuous = cuff if mark.first_bp else target
    values: dict[str, Reading | None] = {
        SBP: sbp,
        DBP: nearest_reading(trends.get(DBP), cuff, lo, hi),
        MAP: nearest_reading(trends.get(MAP), cuff, lo, hi),
        HR: nearest_reading(trends.get(HR), continuous, lo, hi),
        SPO2: nearest_reading(trends.get(SPO2), continuous, lo, hi),
        RR: nearest_reading(trends.get(RR), continuous, lo, hi),
    }
    for column, value in mark.recorded.items():
        values[column] = value
    return TimedRow(mark, values)


def timed_marks(
    *,
    session_start: datetime,
    monitoring_end: datetime,
    infusion_start: datetime | None,
    infusion_stop: datetime | None,
    discharge_start: datetime | None,
    baseline: Mapping[str, Reading] | None = None,
    baseline_at: datetime | None = None,
) -> list[TimedMark]:
    """The rows of the table for one session, in time order.

    Args:
        session_start, monitoring_end: the session's span.
        infusion_start, infusion_stop: the dosing window (None when it never started/stopped;
            an infusion still running is marked up to ``monitoring_end``).
        discharge_start: when discharge started, if it did.
        baseline: the recorded pre-dose values per column (the gate's set), if any.
        baseline_at: when they were recorded.
    """
    look = timedelta(minutes=LOOKBACK_MIN)
    dose_at = infusion_start or monitoring_end
    base_target = baseline_at if baseline_at is not None else dose_at
    base_target = min(base_target, dose_at)
    marks = [
        TimedMark(
            "Baseline",
            base_target,
            max(session_start, base_target - look),
            base_target if infusion_start is None else min(base_target + look, infusion_start),
            recorded=dict(baseline or {}),
            window_text="baseline: the recorded pre-dose set, else the readings nearest it "
            f"within {LOOKBACK_MIN:g} min, never after the infusion start",
        )
    ]
    if infusion_start is not None:
        until = infusion_stop or monitoring_end
        half = timedelta(minutes=MARK_WINDOW_MIN)
        lo_min, hi_min = CHECKPOINT_WINDOW_MIN
        timed = [
            TimedMark(
                "40-min checkpoint",
                infusion_start + timedelta(minutes=CHECKPOINT_MARK_MIN),
                infusion_start + timedelta(minutes=lo_min),
                infusion_start + timedelta(minutes=hi_min),
                first_bp=True,
                window_text=f"40-min checkpoint: the first NIBP {lo_min:g}-{hi_min:g} min after"
                " the infusion start, the other values nearest it",
            )
        ]
        k = 1
        while (at := infusion_start + timedelta(minutes=MARK_EVERY_MIN * k)) <= until:
            minutes = MARK_EVERY_MIN * k
            k += 1
            if minutes == CHECKPOINT_MARK_MIN:
                continue  # the checkpoint row stands for it
            timed.append(
                TimedMark(
                    f"+{minutes:g} min",
                    at,
                    at - half,
                    at + half,
                    window_text=f"+N min: the reading nearest the mark within {MARK_WINDOW_MIN:g}"
                    " min",
                    offset_min=minutes,
                )
            )
        marks += sorted(timed, key=lambda m: m.target or infusion_start)
    pre = discharge_start or monitoring_end
    marks.append(
        TimedMark(
            "Pre-discharge",
            pre,
            max(session_start, pre - look),
            pre,
            window_text=f"pre-discharge: the last readings in the {LOOKBACK_MIN:g} min before "
            + ("discharge started" if discharge_start else "the end of monitoring"),
        )
    )
    return marks


def timed_vitals(trends: Mapping[str, TrendLike], marks: Sequence[TimedMark]) -> list[TimedRow]:
    """Fill every mark (:func:`fill_row`)."""
    return [fill_row(trends, m) for m in marks]


def window_notes(rows: Sequence[TimedRow]) -> list[str]:
    """The distinct window descriptions of the rows, for the line under the table."""
    seen: list[str] = []
    for r in rows:
        if r.mark.window_text and r.mark.window_text not in seen:
            seen.append(r.mark.window_text)
    return seen


def short_windows() -> str:
    """The windows in one line, for a page with no room for :func:`window_notes` (the note)."""
    lo, hi = CHECKPOINT_WINDOW_MIN
    return (
        f"baseline: recorded set, else <= {LOOKBACK_MIN:g} min before dosing; +N: nearest within"
        f" {MARK_WINDOW_MIN:g} min; checkpoint: first NIBP {lo:g}-{hi:g} min after the start;"
        f" pre-discharge: last in the {LOOKBACK_MIN:g} min before discharge"
    )


def recorded_baseline(data: Mapping[str, object], at: datetime) -> dict[str, Reading]:
    """The columns a recorded baseline event carries (``data`` of ``baseline_vitals``)."""
    out: dict[str, Reading] = {}
    for column, key in BASELINE_KEYS.items():
        raw = data.get(key)
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            out[column] = Reading(float(raw), at)
    return out


#: An esketamine session's timed rows run from the first device to its 40-minute checkpoint
#: (the REMS form's BP ~40 min after the first administration), every 10 minutes.
ESKETAMINE_ROWS_MIN = 40.0


def review_marks(
    summary: ReviewSummary,
    events: Sequence[SessionEvent],
    *,
    first_device_at: datetime | None = None,
) -> list[TimedMark]:
    """The marks of a reviewed session: its recorded baseline, infusion, discharge and end.

    An esketamine session (``first_device_at``: its first nasal device) has no pump: its
    dosing starts at the first device and its rows run to the 40-minute checkpoint."""
    ordered = sorted(events, key=lambda e: e.at)
    start, stop = summary.infusion.start, summary.infusion.stop
    if first_device_at is not None:
        start = first_device_at
        stop = min(first_device_at + timedelta(minutes=ESKETAMINE_ROWS_MIN), summary.monitoring_end)
    recorded = [
        e for e in ordered if e.kind == EventKind.BASELINE_VITALS and e.data.get("sbp") is not None
    ]
    base = recorded[-1] if recorded else None
    if base is not None and start is not None and base.at > start:
        base = None  # a set entered after dosing is no baseline
    discharge = next((e.at for e in ordered if e.kind == EventKind.DISCHARGE_START), None)
    return timed_marks(
        session_start=summary.started_at,
        monitoring_end=summary.monitoring_end,
        infusion_start=start,
        infusion_stop=stop,
        discharge_start=discharge,
        baseline=None if base is None else recorded_baseline(base.data, base.at),
        baseline_at=None if base is None else base.at,
    )
