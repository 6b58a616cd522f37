"""Properties of the alarm engine that must hold for any sequence of readings (hypothesis)."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from console.domain.alarm_events import AlarmEventKind
from console.domain.alarm_rules import AlarmCategory
from devices.model import Metric, ReadingFlag
from tests.console.domain.alarm_script import at, make_engine, reading

METRICS = [Metric.HR, Metric.SPO2, Metric.RR, Metric.NIBP_SYS, Metric.NIBP_DIA]
RANGES = {
    Metric.HR: (30.0, 160.0),
    Metric.SPO2: (80.0, 100.0),
    Metric.RR: (4.0, 40.0),
    Metric.NIBP_SYS: (80.0, 220.0),
    Metric.NIBP_DIA: (40.0, 130.0),
}
CONDITION_KINDS = {
    AlarmEventKind.ONSET,
    AlarmEventKind.ESCALATED,
    AlarmEventKind.DEESCALATED,
    AlarmEventKind.END,
    AlarmEventKind.LATCHED,
    AlarmEventKind.RETRIGGERED,
}


@st.composite
def valid_history(draw: st.DrawFn) -> list[tuple[Metric, float]]:
    metric = draw(st.sampled_from(METRICS))
    lo, hi = RANGES[metric]
    values = draw(st.lists(st.floats(lo, hi, allow_nan=False), min_size=1, max_size=60))
    return [(metric, round(v)) for v in values]


@settings(max_examples=150, deadline=None)
@given(
    history=valid_history(),
    bad_metric=st.sampled_from(METRICS),
    bad_value=st.one_of(st.none(), st.floats(0, 300, allow_nan=False)),
    flag=st.sampled_from(
        [ReadingFlag.INVALID, ReadingFlag.QUESTIONABLE, ReadingFlag.SENSOR_OFF, ReadingFlag.OLD]
    ),
)
def test_an_invalid_reading_never_creates_changes_or_ends_a_physiological_alarm(
    history: list[tuple[Metric, float]],
    bad_metric: Metric,
    bad_value: float | None,
    flag: ReadingFlag,
) -> None:
    engine = make_engine()
    for i, (metric, value) in enumerate(history):
        engine.process_readings([reading(metric, value, i)], at(i))
    t = len(history)
    twin = copy.deepcopy(engine)
    with_invalid = engine.process_readings(
        [reading(bad_metric, bad_value, t, flags=(flag,))], at(t)
    )
    with_tick = twin.tick(at(t))

    def physiological(events: list) -> list:  # type: ignore[type-arg]
        return [
            (e.kind, e.key, e.priority)
            for e in events
            if e.category is AlarmCategory.PHYSIOLOGICAL and e.kind in CONDITION_KINDS
        ]

    # Whatever the invalid reading is, physiological alarms evolve exactly as if only time had
    # passed (delays may still run out at t).
    assert physiological(with_invalid) == physiological(with_tick)
    physio = {a.key: a.priority for a in engine.active_alarms() if a.metric is not None}
    assert physio == {a.key: a.priority for a in twin.active_alarms() if a.metric is not None}


@settings(max_examples=100, deadline=None)
@given(history=valid_history(), ack_at=st.integers(0, 60))
def test_every_listed_alarm_has_a_matching_onset_and_no_end(
    history: list[tuple[Metric, float]], ack_at: int
) -> None:
    engine = make_engine()
    events = []
    for i, (metric, value) in enumerate(history):
        events += engine.process_readings([reading(metric, value, i)], at(i))
        if i == ack_at:
            events += engine.acknowledge_all("nurse.a", at(i))
    open_keys: set[str] = set()
    for e in events:
        if e.kind is AlarmEventKind.ONSET:
            assert e.key not in open_keys
            open_keys.add(e.key)
        elif e.kind is AlarmEventKind.END:
            assert e.key in open_keys
            open_keys.discard(e.key)
    assert {a.key for a in engine.active_alarms()} == open_keys


@settings(max_examples=100, deadline=None)
@given(history=valid_history())
def test_audio_priority_is_the_highest_active_unacknowledged(
    history: list[tuple[Metric, float]],
) -> None:
    engine = make_engine()
    for i, (metric, value) in enumerate(history):
        engine.process_readings([reading(metric, value, i)], at(i))
    sounding = [
        a.priority
        for a in engine.active_alarms()
        if a.condition_active and a.acknowledged_by is None
    ]
    assert engine.audio().priority == (max(sounding) if sounding else None)
