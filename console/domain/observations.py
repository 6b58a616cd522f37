"""Timed structured observations: MOAA/S, CADSS-6 and nausea at set times (issue 17).

Sedation and dissociation are the commonest effects of a ketamine or esketamine session
(clinical.md E 22-23) and the REMS form asks whether they occurred and resolved (G 32), so the
clinic scores them at fixed time points: before the dose, during the infusion, at its end and
before discharge.  This module is the Qt- and SQL-free part: which scales exist, when each
time point is due (relative to the session start, the infusion start, the end of the infusion
or the end of the minimum observation), whether it is upcoming, due, overdue, done or skipped,
and how a score is stored on the session timeline (an annotation event whose ``data`` names
the scale and the time point, so the record keeps a plain ``score`` column and the review and
reports can still read every score without knowing this module).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from console.domain.session import EventKind, SessionEvent, SessionRuleError


@dataclass(frozen=True, slots=True)
class Scale:
    """One scored scale: its name as stored and shown, its range and its event kind."""

    name: str
    low: int
    high: int
    kind: EventKind
    #: What the scale measures, for the entry's field caption.
    what: str

    def check(self, score: float) -> float:
        """``score`` when it is a whole number in range; else one clear refusal."""
        if score != int(score) or not self.low <= score <= self.high:
            raise SessionRuleError(
                f"{self.name} must be a whole number {self.low}-{self.high}, got {score:g}"
            )
        return float(score)


#: The timed scales (clinical.md E 22-25): sedation, dissociation, nausea.
TIMED_SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("MOAA/S", 0, 5, EventKind.SEDATION, "sedation"),
        Scale("CADSS-6", 0, 24, EventKind.DISSOCIATION, "dissociation"),
        Scale("nausea", 0, 10, EventKind.NAUSEA, "nausea"),
    )
}
#: Per-session outcome scales (clinical.md G 34, measurement-based care), entered before the
#: session; the series view shows them beside each session's BP peak.
OUTCOME_SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("PHQ-9", 0, 27, EventKind.OUTCOME_SCORE, "depression"),
        Scale("MADRS", 0, 60, EventKind.OUTCOME_SCORE, "depression"),
    )
}
#: The time point label of a score entered outside the schedule.
UNSCHEDULED = "unscheduled"


class Anchor(enum.StrEnum):
    """What a time point is counted from (the names are the configuration's)."""

    SESSION_START = "session_start"
    INFUSION_START = "infusion_start"
    INFUSION_END = "infusion_end"
    OBSERVATION_END = "observation_end"


@dataclass(frozen=True, slots=True)
class TimePoint:
    """A scheduled observation: ``offset_min`` minutes after (or before) ``anchor``."""

    label: str
    anchor: Anchor
    offset_min: float = 0.0


class PointState(enum.StrEnum):
    """Where a time point stands now."""

    WAITING = "waiting"
    """Its anchor has not happened yet (e.g. "end of infusion" while the pump runs)."""
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    SKIPPED = "skipped"
    """It fell after the infusion stopped early (the end-of-infusion point covers it)."""


@dataclass(frozen=True, slots=True)
class PointStatus:
    """One time point's due time (None while waiting), state and the scales still missing."""

    point: TimePoint
    due_at: datetime | None
    state: PointState
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ObservationSchedule:
    """The clinic's time points and scales (``[observations]`` in the configuration).

    Attributes:
        points: the time points, in the order they are shown.
        scales: the scales prompted at every point (names of :data:`TIMED_SCALES`).
        overdue_after_min: a point not done this long after its due time shows overdue.
    """

    points: tuple[TimePoint, ...] = (
        TimePoint("baseline", Anchor.SESSION_START, 0.0),
        TimePoint("20 min", Anchor.INFUSION_START, 20.0),
        TimePoint("40 min", Anchor.INFUSION_START, 40.0),
        TimePoint("end of infusion", Anchor.INFUSION_END, 0.0),
        TimePoint("pre-discharge", Anchor.OBSERVATION_END, 0.0),
    )
    scales: tuple[str, ...] = ("MOAA/S", "CADSS-6", "nausea")
    overdue_after_min: float = 5.0

    def __post_init__(self) -> None:
        labels = [p.label for p in self.points]
        if len(set(labels)) != len(labels):
            raise ValueError(f"time point labels must be unique: {', '.join(labels)}")
        if UNSCHEDULED in labels:
            raise ValueError(f"{UNSCHEDULED!r} is reserved for scores outside the schedule")
        unknown = [s for s in self.scales if s not in TIMED_SCALES]
        if unknown or not self.scales:
            raise ValueError(
                f"scales must be some of {', '.join(TIMED_SCALES)}, got {', '.join(unknown)}"
            )
        if not 1 <= self.overdue_after_min <= 120:
            raise ValueError(f"overdue_after_min must be 1-120 min, got {self.overdue_after_min:g}")

    def status(
        self, events: Sequence[SessionEvent], *, observation_min: float, now: datetime
    ) -> list[PointStatus]:
        """Every time point's state at ``now`` from the session's timeline.

        Why from the events: the stored timeline is the lifecycle (a resumed session shows
        the same prompts), and a back-dated entry still completes its point.
        """
        anchors = _anchors(events, observation_min)
        stop = anchors.get(Anchor.INFUSION_END)
        recorded = recorded_scales(events)
        out: list[PointStatus] = []
        for p in self.points:
            missing = tuple(s for s in self.scales if s not in recorded.get(p.label, ()))
            base = anchors.get(p.anchor)
            if base is None:
                out.append(PointStatus(p, None, PointState.WAITING, missing))
                continue
            due = base + timedelta(minutes=p.offset_min)
            if not missing:
                state = PointState.DONE
            elif p.anchor is Anchor.INFUSION_START and stop is not None and due > stop:
                state = PointState.SKIPPED
            elif now < due:
                state = PointState.UPCOMING
            elif now < due + timedelta(minutes=self.overdue_after_min):
                state = PointState.DUE
            else:
                state = PointState.OVERDUE
            out.append(PointStatus(p, due, state, missing))
        return out

    def current(
        self, events: Sequence[SessionEvent], *, observation_min: float, now: datetime
    ) -> PointStatus | None:
        """The point the nurse should score now: the earliest due or overdue one, else one
        coming within the overdue window (scored a little early), else None."""
        points = self.status(events, observation_min=observation_min, now=now)
        open_ = [s for s in points if s.state in (PointState.DUE, PointState.OVERDUE)]
        if open_:
            return open_[0]
        soon = now + timedelta(minutes=self.overdue_after_min)
        return next(
            (
                s
                for s in points
                if s.state is PointState.UPCOMING and s.due_at is not None and s.due_at <= soon
            ),
            None,
        )


def _anchors(events: Iterable[SessionEvent], observation_min: float) -> dict[Anchor, datetime]:
    out: dict[Anchor, datetime] = {}
    for e in events:
        if e.kind in (EventKind.INTERRUPTED, EventKind.RESUMED):
            continue
        out.setdefault(Anchor.SESSION_START, e.at)
        if e.kind == EventKind.INFUSION_START:
            out.setdefault(Anchor.INFUSION_START, e.at)
        elif e.kind == EventKind.INFUSION_STOP:
            out[Anchor.INFUSION_END] = e.at
            out[Anchor.OBSERVATION_END] = e.at + timedelta(minutes=observation_min)
    return out


def recorded_scales(events: Iterable[SessionEvent]) -> dict[str, set[str]]:
    """Time point label -> the scales scored for it."""
    out: dict[str, set[str]] = {}
    for e in events:
        scale, point = e.data.get("scale"), e.data.get("time_point")
        if isinstance(scale, str) and isinstance(point, str) and e.score is not None:
            out.setdefault(point, set()).add(scale)
    return out


def scale_of(name: str) -> Scale:
    """A timed or outcome scale by name (one clear refusal for an unknown one)."""
    scale = TIMED_SCALES.get(name) or OUTCOME_SCALES.get(name)
    if scale is None:
        known = ", ".join([*TIMED_SCALES, *OUTCOME_SCALES])
        raise SessionRuleError(f"unknown scale {name!r}; known: {known}")
    return scale


def score_label(ev: SessionEvent) -> str | None:
    """``MOAA/S 3`` for a structured score, None for any other event (markers, reports)."""
    scale = ev.data.get("scale")
    if not isinstance(scale, str) or ev.score is None:
        return None
    return f"{scale} {ev.score:g}"


def score_sets(events: Iterable[SessionEvent]) -> list[tuple[datetime, str]]:
    """The timed scores grouped by entry (same time), each as one marker text:
    ``(at, "MOAA/S 3 · CADSS-6 12 · nausea 2")``, in time order.  Outcome scores (PHQ-9,
    MADRS) belong to the whole session and are left out."""
    sets: dict[datetime, list[str]] = {}
    for e in sorted(events, key=lambda e: e.at):
        label = score_label(e)
        if label is not None and e.kind != EventKind.OUTCOME_SCORE:
            sets.setdefault(e.at, []).append(label)
    return [(at, " · ".join(labels)) for at, labels in sets.items()]


def shows_effect(ev: SessionEvent) -> bool:
    """False for a structured score that records no effect (MOAA/S 5 is awake, CADSS-6 and
    nausea 0 are none): the review's adverse effects and the REMS flags list only effects.
    Any other event (a free annotation) counts as its kind says."""
    scale = ev.data.get("scale")
    if not isinstance(scale, str) or scale not in TIMED_SCALES or ev.score is None:
        return ev.kind != EventKind.OUTCOME_SCORE
    return ev.score < 5 if scale == "MOAA/S" else ev.score > 0


def outcome_scores(events: Iterable[SessionEvent]) -> dict[str, float]:
    """The session's outcome scores (PHQ-9, MADRS), the last entry of each."""
    out: dict[str, float] = {}
    for e in sorted(events, key=lambda e: e.at):
        scale = e.data.get("scale")
        if e.kind == EventKind.OUTCOME_SCORE and isinstance(scale, str) and e.score is not None:
            out[scale] = e.score
    return out


def extreme_scores(events: Iterable[SessionEvent]) -> dict[str, float]:
    """Each timed scale's worst score of the session: lowest MOAA/S (deepest sedation),
    highest CADSS-6 and nausea."""
    out: dict[str, float] = {}
    for e in events:
        scale = e.data.get("scale")
        if not isinstance(scale, str) or scale not in TIMED_SCALES or e.score is None:
            continue
        worse = min if scale == "MOAA/S" else max
        out[scale] = worse(out.get(scale, e.score), e.score)
    return out
