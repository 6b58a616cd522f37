"""The default limit table (clinical.md b2) and policy validation, through the alarm façade.

The instantaneous ``AlarmEvaluator`` these tests once drove was dead code (issue 13: nothing but
tests used it); the table is now checked on :class:`AlarmEngine`, the engine the console runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.config import load
from console.domain.alarms import (
    AlarmCategory,
    AlarmEngine,
    AlarmEvent,
    AlarmEventKind,
    AlarmPolicy,
    Direction,
    LimitRule,
    Priority,
)
from devices.model import METRIC_UNITS, Metric, Reading

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def reading(metric: Metric, value: float | None, s: float = 0) -> Reading:
    return Reading(metric, value, METRIC_UNITS[metric], T0 + timedelta(seconds=s))


@pytest.fixture
def engine() -> AlarmEngine:
    return AlarmEngine(load(environ={}).alarm_profile, started_at=T0)


def physiological_events(engine: AlarmEngine, metric: Metric, value: float) -> list[AlarmEvent]:
    """Feed ``value`` every 5 s for a minute: past every default condition delay."""
    events: list[AlarmEvent] = []
    for s in range(0, 61, 5):
        events += engine.process_readings([reading(metric, value, s)], T0 + timedelta(seconds=s))
    return [e for e in events if e.category is AlarmCategory.PHYSIOLOGICAL]


@pytest.mark.parametrize(
    ("metric", "value", "priority"),
    [
        (Metric.NIBP_SYS, 159, None),
        (Metric.NIBP_SYS, 160, Priority.LOW),
        (Metric.NIBP_SYS, 179, Priority.LOW),
        (Metric.NIBP_SYS, 180, Priority.MEDIUM),
        (Metric.NIBP_SYS, 200, Priority.HIGH),
        (Metric.NIBP_SYS, 90, None),
        (Metric.NIBP_SYS, 89, Priority.MEDIUM),
        (Metric.NIBP_DIA, 109, None),
        (Metric.NIBP_DIA, 110, Priority.MEDIUM),
        (Metric.NIBP_DIA, 120, Priority.HIGH),
        (Metric.NIBP_MEAN, 64, Priority.MEDIUM),
        (Metric.HR, 110, None),
        (Metric.HR, 111, Priority.MEDIUM),
        (Metric.HR, 131, Priority.HIGH),
        (Metric.HR, 50, None),
        (Metric.HR, 49, Priority.MEDIUM),
        (Metric.HR, 39, Priority.HIGH),
        (Metric.SPO2, 92, None),
        (Metric.SPO2, 91, Priority.MEDIUM),
        (Metric.SPO2, 87, Priority.HIGH),
        (Metric.RR, 31, Priority.MEDIUM),
        (Metric.RR, 7, Priority.MEDIUM),
    ],
)
def test_default_limits_from_clinical_table(
    engine: AlarmEngine, metric: Metric, value: float, priority: Priority | None
) -> None:
    events = physiological_events(engine, metric, value)
    if priority is None:
        assert events == []
        assert engine.active_alarms() == ()
    else:
        # The onset carries the tier's priority; an NIBP tier may then ask for a repeat.
        assert events[0].kind is AlarmEventKind.ONSET
        assert events[0].priority is priority
        assert events[0].metric is metric
        assert events[0].condition_start == T0


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ((LimitRule(Metric.HR, Direction.HIGH, 400, Priority.HIGH),), "outside the physiological"),
        (
            (
                LimitRule(Metric.HR, Direction.HIGH, 60, Priority.HIGH),
                LimitRule(Metric.HR, Direction.LOW, 80, Priority.HIGH),
            ),
            "not below high limit",
        ),
    ],
)
def test_invalid_policies_are_refused(rules: tuple[LimitRule, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AlarmPolicy(rules)
