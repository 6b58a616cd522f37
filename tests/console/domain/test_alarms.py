"""Threshold flagging: tiers, onset/escalation/end, invalid values, policy validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.config import load
from console.domain.alarms import (
    AlarmEvaluator,
    AlarmEventKind,
    AlarmPolicy,
    Direction,
    LimitRule,
    Priority,
)
from devices.model import METRIC_UNITS, Metric, Reading, ReadingFlag

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def reading(metric: Metric, value: float | None, s: float = 0, *, valid: bool = True) -> Reading:
    return Reading(
        metric,
        value,
        METRIC_UNITS[metric],
        T0 + timedelta(seconds=s),
        valid=valid,
        flags=() if valid else (ReadingFlag.INVALID,),
    )


@pytest.fixture
def evaluator() -> AlarmEvaluator:
    return AlarmEvaluator(load(environ={}).alarm_policy)


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
    evaluator: AlarmEvaluator, metric: Metric, value: float, priority: Priority | None
) -> None:
    events = evaluator.evaluate([reading(metric, value)])
    if priority is None:
        assert events == []
        assert evaluator.active == {}
    else:
        assert [e.kind for e in events] == [AlarmEventKind.ONSET]
        assert events[0].priority is priority
        assert events[0].metric is metric
        assert events[0].at == T0


def test_onset_escalation_deescalation_end(evaluator: AlarmEvaluator) -> None:
    seq = [165, 185, 205, 190, 150]
    kinds = []
    for i, v in enumerate(seq):
        kinds += [
            (e.kind, e.priority) for e in evaluator.evaluate([reading(Metric.NIBP_SYS, v, i)])
        ]
    assert kinds == [
        (AlarmEventKind.ONSET, Priority.LOW),
        (AlarmEventKind.ESCALATED, Priority.MEDIUM),
        (AlarmEventKind.ESCALATED, Priority.HIGH),
        (AlarmEventKind.DEESCALATED, Priority.MEDIUM),
        (AlarmEventKind.END, Priority.MEDIUM),
    ]


def test_repeated_abnormal_value_keeps_onset_without_new_events(evaluator: AlarmEvaluator) -> None:
    assert evaluator.evaluate([reading(Metric.HR, 120, 0)])
    assert evaluator.evaluate([reading(Metric.HR, 121, 1), reading(Metric.HR, 119, 2)]) == []
    assert evaluator.active["HR:high"].onset == T0


def test_message_names_value_and_limit(evaluator: AlarmEvaluator) -> None:
    (event,) = evaluator.evaluate([reading(Metric.NIBP_SYS, 186)])
    assert event.message == "SBP 186 >= 180"


def test_invalid_values_never_raise_or_clear(evaluator: AlarmEvaluator) -> None:
    assert evaluator.evaluate([reading(Metric.SPO2, 80, valid=False)]) == []
    assert evaluator.evaluate([reading(Metric.SPO2, None, valid=False)]) == []
    assert evaluator.evaluate([reading(Metric.SPO2, 85, 1)])[0].priority is Priority.HIGH
    assert evaluator.evaluate([reading(Metric.SPO2, 98, 2, valid=False)]) == []
    assert "SPO2:low" in evaluator.active


def test_policy_swap_applies_to_next_reading(evaluator: AlarmEvaluator) -> None:
    assert evaluator.evaluate([reading(Metric.HR, 105)]) == []
    evaluator.set_policy(
        AlarmPolicy((LimitRule(Metric.HR, Direction.HIGH, 100, Priority.MEDIUM, False),))
    )
    assert evaluator.evaluate([reading(Metric.HR, 105, 1)])[0].kind is AlarmEventKind.ONSET


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
