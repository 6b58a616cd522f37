"""The hand-over between alarm detection and alarm signalling: a condition as judged now.

Detection (:mod:`console.domain.alarm_detection`, :mod:`console.domain.alarm_technical`)
decides *whether* a condition is present and at which priority; signalling
(:mod:`console.domain.alarm_signalling`) decides what the nurse sees and hears about it
(latching, acknowledge, pause, escalation).  :class:`Condition` is the only thing that passes
between them, so either side can change without the other knowing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.domain.alarm_events import TechnicalAlarmKind
from console.domain.alarm_rules import METRIC_LABELS, AlarmCategory, Direction, Priority
from devices.model import Metric

#: Where a technical condition is shown when the screen groups alarms by parameter tile.
TECHNICAL_TILE: dict[TechnicalAlarmKind, Metric | None] = {
    TechnicalAlarmKind.COMM_LOST: None,
    TechnicalAlarmKind.SENSOR_OFF: Metric.SPO2,
    TechnicalAlarmKind.NIBP_OVERDUE: Metric.NIBP_SYS,
    TechnicalAlarmKind.INVALID_VALUE: None,  # the flagged metric itself, set per condition
    TechnicalAlarmKind.AUDIO_UNAVAILABLE: None,
    TechnicalAlarmKind.STORAGE_UNAVAILABLE: None,
    TechnicalAlarmKind.STORAGE_BEHIND: None,
    TechnicalAlarmKind.WRONG_PATIENT: None,
    TechnicalAlarmKind.NO_HR_SOURCE: Metric.HR,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition as judged now (present), before it meets the alarm's history."""

    key: str
    category: AlarmCategory
    priority: Priority
    value: float | None
    limit: float | None
    message: str
    condition_start: datetime
    metric: Metric | None = None
    direction: Direction | None = None
    technical_kind: TechnicalAlarmKind | None = None
    tile_metric: Metric | None = None


@dataclass(slots=True)
class InfusionState:
    """What the session said about the infusion; one object shared by the detectors.

    Shared rather than copied because the technical conditions (communication lost escalates,
    NIBP overdue) and the baseline (fixed at the first start) must see the same answer.
    """

    running: bool = False
    ever_started: bool = False
    started_at: datetime | None = None
    stopped_at: datetime | None = None

    def reset(self) -> None:
        """Back to "no infusion yet" (a session ended)."""
        self.running = self.ever_started = False
        self.started_at = self.stopped_at = None


def condition_key(metric: Metric, direction: Direction) -> str:
    """The key of a physiological condition (``HR:high``)."""
    return f"{metric.value}:{direction.value}"


def split_key(key: str) -> tuple[Metric, Direction]:
    """The metric and side of a physiological condition key."""
    metric, direction = key.split(":")
    return Metric(metric), Direction(direction)


def technical_condition(
    kind: TechnicalAlarmKind,
    priority: Priority,
    message: str,
    start: datetime,
    *,
    tile: Metric | None = None,
    key: str | None = None,
    value: float | None = None,
) -> Condition:
    """A technical condition, shown on its kind's tile unless ``tile`` says otherwise."""
    return Condition(
        key or kind.value,
        AlarmCategory.TECHNICAL,
        priority,
        value,
        None,
        message,
        start,
        technical_kind=kind,
        tile_metric=tile if tile is not None else TECHNICAL_TILE[kind],
    )


def condition_name(cond: Condition) -> str:
    """The parameter or technical kind, as words."""
    if cond.metric is not None:
        return METRIC_LABELS[cond.metric]
    assert cond.technical_kind is not None
    return cond.technical_kind.value.replace("_", " ")


def duration_text(seconds: float) -> str:
    """Seconds as nurse-readable text: whole minutes from 2 min on."""
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
