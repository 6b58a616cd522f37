"""Alarm vocabulary in one import, and the simple tier evaluator kept for replays and tests.

The alarm system lives in focused modules:

* :mod:`console.domain.alarm_rules` — priorities, limit tiers, baseline-relative rules and their
  validation (clinical.md b2);
* :mod:`console.domain.alarm_events` — the immutable events and repeat requests the engine emits;
* :mod:`console.domain.alarm_profiles` — threshold profiles, per-patient overrides, change records;
* :mod:`console.domain.alarm_engine` — :class:`AlarmEngine`, the stateful engine the console runs
  (delays, confirm-by-repeat, latching, acknowledge, audio pause, escalation, technical alarms).

This module re-exports that vocabulary so ``from console.domain.alarms import Priority`` keeps
working, and keeps :class:`AlarmEvaluator`: an instantaneous tier evaluator (no delays, no
confirmation, no latching) that judges each reading on its own.  It is *not* what the console
runs; it stays for offline replays and as the reference for the tier semantics: several limits on
the same side of one metric form tiers, one alarm condition exists per metric and side, and its
priority is that of the highest tier currently violated.  Readings the device flagged invalid
never raise, change or clear an alarm.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from console.domain.alarm_engine import AlarmEngine, AlarmSnapshot, AlarmStatus, AudioStatus
from console.domain.alarm_events import (
    AlarmEvent,
    AlarmEventKind,
    LimitChange,
    RepeatRequest,
    TechnicalAlarmKind,
)
from console.domain.alarm_profiles import (
    AlarmTimings,
    LimitOverride,
    ThresholdProfile,
    diff_profiles,
)
from console.domain.alarm_rules import (
    METRIC_LABELS,
    PLAUSIBLE_RANGE,
    AlarmCategory,
    AlarmPolicy,
    Baseline,
    BaselineRule,
    Direction,
    LimitError,
    LimitRule,
    Priority,
)
from devices.model import Metric, Reading

__all__ = [
    "METRIC_LABELS",
    "PLAUSIBLE_RANGE",
    "ActiveAlarm",
    "AlarmCategory",
    "AlarmEngine",
    "AlarmEvaluator",
    "AlarmEvent",
    "AlarmEventKind",
    "AlarmPolicy",
    "AlarmSnapshot",
    "AlarmStatus",
    "AlarmTimings",
    "AudioStatus",
    "Baseline",
    "BaselineRule",
    "Direction",
    "LimitChange",
    "LimitError",
    "LimitOverride",
    "LimitRule",
    "Priority",
    "RepeatRequest",
    "TechnicalAlarmKind",
    "ThresholdProfile",
    "diff_profiles",
]


@dataclass(slots=True)
class ActiveAlarm:
    """A condition that is currently abnormal (as tracked by :class:`AlarmEvaluator`)."""

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
    """Applies an :class:`AlarmPolicy` to each reading on its own (no delays, no confirmation).

    For replays and as the tier reference; the console runs :class:`AlarmEngine`.  Not
    thread-safe.
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
