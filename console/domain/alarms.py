"""Threshold alarms: limits, the evaluator that applies them, and the events it yields.

Plain Python with no Qt and no clock of its own: time comes with each reading, so the same code
runs at x1 on the ward and at x600 in a QA replay.  A policy is immutable; a limit edit swaps in
a whole new :class:`AlarmPolicy` (design.md data flow, step 4).

Semantics (clinical.md b2): several limits on the same side of one metric form tiers (SBP >= 160
low, >= 180 medium, >= 200 high); one alarm condition exists per metric and side, and its priority
is that of the highest tier currently violated.  Readings the device flagged invalid never raise,
change or clear an alarm.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from devices.model import Metric, Reading

#: Short labels nurses know, for alarm messages.
METRIC_LABELS: dict[Metric, str] = {
    Metric.HR: "HR",
    Metric.PR: "PR",
    Metric.SPO2: "SpO2",
    Metric.RR: "RR",
    Metric.NIBP_SYS: "SBP",
    Metric.NIBP_DIA: "DBP",
    Metric.NIBP_MEAN: "MAP",
    Metric.TEMP: "Temp",
}

#: Plausible physiological range per metric; a limit outside it is a configuration mistake.
PLAUSIBLE_RANGE: dict[Metric, tuple[float, float]] = {
    Metric.HR: (20, 250),
    Metric.PR: (20, 250),
    Metric.SPO2: (50, 100),
    Metric.RR: (2, 60),
    Metric.NIBP_SYS: (50, 260),
    Metric.NIBP_DIA: (20, 180),
    Metric.NIBP_MEAN: (30, 200),
    Metric.TEMP: (30, 43),
}


class Priority(enum.IntEnum):
    """Alarm priority per IEC 60601-1-8; higher value is more urgent."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        """Lower-case name, as stored and as written in configuration."""
        return self.name.lower()

    @property
    def marker(self) -> str:
        """Vendor-style priority prefix: ``***`` high, ``**`` medium, ``*`` low."""
        return "*" * int(self)

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Priority from its configuration name."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"priority must be low, medium or high, not {text!r}") from None


class Direction(enum.StrEnum):
    """Which side of a limit is abnormal."""

    HIGH = "high"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One limit: ``metric`` is abnormal beyond ``limit`` on side ``direction``."""

    metric: Metric
    direction: Direction
    limit: float
    priority: Priority
    inclusive: bool = True

    def violated_by(self, value: float) -> bool:
        """True when ``value`` is on the abnormal side of this limit."""
        if self.direction is Direction.HIGH:
            return value >= self.limit if self.inclusive else value > self.limit
        return value <= self.limit if self.inclusive else value < self.limit

    def describe(self) -> str:
        """Philips-style comparison text, e.g. ``>= 180``."""
        if self.direction is Direction.HIGH:
            op = ">=" if self.inclusive else ">"
        else:
            op = "<=" if self.inclusive else "<"
        return f"{op} {self.limit:g}"


@dataclass(frozen=True, slots=True)
class AlarmPolicy:
    """A validated, immutable set of limit rules."""

    rules: tuple[LimitRule, ...] = ()

    def __post_init__(self) -> None:
        for rule in self.rules:
            lo, hi = PLAUSIBLE_RANGE[rule.metric]
            if not lo <= rule.limit <= hi:
                raise ValueError(
                    f"{METRIC_LABELS[rule.metric]} limit {rule.limit:g} is outside the "
                    f"physiological range {lo:g}-{hi:g}"
                )
        for metric in {r.metric for r in self.rules}:
            highs = [r.limit for r in self.rules if r.metric == metric and r.direction == "high"]
            lows = [r.limit for r in self.rules if r.metric == metric and r.direction == "low"]
            if highs and lows and max(lows) >= min(highs):
                raise ValueError(
                    f"{METRIC_LABELS[metric]}: low limit {max(lows):g} is not below "
                    f"high limit {min(highs):g}"
                )

    def rules_for(self, metric: Metric, direction: Direction) -> list[LimitRule]:
        """The tiers of one side of one metric."""
        return [r for r in self.rules if r.metric == metric and r.direction == direction]

    def limit_lines(self, metric: Metric) -> list[LimitRule]:
        """Every limit on ``metric``, for drawing threshold lines."""
        return [r for r in self.rules if r.metric == metric]


class AlarmEventKind(enum.StrEnum):
    """Transitions of an alarm condition."""

    ONSET = "onset"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    END = "end"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """A change of one alarm condition, with the reading that caused it."""

    kind: AlarmEventKind
    key: str
    metric: Metric
    direction: Direction
    priority: Priority
    value: float | None
    limit: float | None
    at: datetime
    message: str


@dataclass(slots=True)
class ActiveAlarm:
    """A condition that is currently abnormal."""

    key: str
    metric: Metric
    direction: Direction
    priority: Priority
    onset: datetime
    value: float
    rule: LimitRule
    message: str


@dataclass(slots=True)
class AlarmEvaluator:
    """Applies an :class:`AlarmPolicy` to readings and tracks active conditions.

    Not thread-safe: one evaluator per chair, called from that chair's runner thread.
    """

    policy: AlarmPolicy
    active: dict[str, ActiveAlarm] = field(default_factory=dict)

    def evaluate(self, readings: Iterable[Reading]) -> list[AlarmEvent]:
        """Update conditions from ``readings`` (in arrival order) and return the transitions."""
        events: list[AlarmEvent] = []
        for reading in readings:
            if not reading.usable:
                continue  # never raised, changed or cleared from an invalid value
            assert reading.value is not None
            for direction in Direction:
                tiers = self.policy.rules_for(reading.metric, direction)
                if tiers:
                    event = self._update(reading, direction, tiers)
                    if event is not None:
                        events.append(event)
        return events

    def set_policy(self, policy: AlarmPolicy) -> None:
        """Swap in new limits; conditions are re-judged at the next reading."""
        self.policy = policy

    def _update(
        self, reading: Reading, direction: Direction, tiers: list[LimitRule]
    ) -> AlarmEvent | None:
        assert reading.value is not None
        value = reading.value
        key = f"{reading.metric.value}:{direction.value}"
        violated = [r for r in tiers if r.violated_by(value)]
        current = self.active.get(key)
        label = METRIC_LABELS[reading.metric]
        if not violated:
            if current is None:
                return None
            del self.active[key]
            return AlarmEvent(
                AlarmEventKind.END,
                key,
                reading.metric,
                direction,
                current.priority,
                value,
                current.rule.limit,
                reading.received_at,
                f"{label} {value:g} back within limits",
            )
        rule = max(violated, key=lambda r: (r.priority, abs(r.limit)))
        message = f"{label} {value:g} {rule.describe()}"
        if current is None:
            self.active[key] = ActiveAlarm(
                key,
                reading.metric,
                direction,
                rule.priority,
                reading.received_at,
                value,
                rule,
                message,
            )
            kind = AlarmEventKind.ONSET
        else:
            previous = current.priority
            current.value, current.rule, current.message = value, rule, message
            current.priority = rule.priority
            if rule.priority > previous:
                kind = AlarmEventKind.ESCALATED
            elif rule.priority < previous:
                kind = AlarmEventKind.DEESCALATED
            else:
                return None
        return AlarmEvent(
            kind,
            key,
            reading.metric,
            direction,
            rule.priority,
            value,
            rule.limit,
            reading.received_at,
            message,
        )
