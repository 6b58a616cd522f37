"""The timed vitals table (console.domain.timed_vitals) against a simple reference.

The reference is written the plain way (loops over every reading, no numpy, no shared helpers):
a window keeps the valid readings with lo <= t <= hi (to the millisecond), the nearest is the
one with the smallest distance and on a tie the earlier, the "first" is the earliest (of
readings with the same time, the one stored first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from console.domain.timed_vitals import (
    COLUMNS,
    DBP,
    HR,
    MAP,
    RR,
    SBP,
    SPO2,
    Reading,
    TimedMark,
    fill_row,
    first_reading,
    nearest_reading,
    recorded_baseline,
    timed_marks,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SLACK = 0.001


@dataclass(frozen=True)
class Trend:
    """A trend as the storage layer hands it over (arrays; NaN = flagged invalid)."""

    t: np.ndarray
    value: np.ndarray


def _trend(pairs: list[tuple[float, float | None]]) -> Trend:
    t = np.array([T0.timestamp() + s for s, _v in pairs], dtype=np.float64)
    v = np.array([math.nan if x is None else x for _s, x in pairs], dtype=np.float64)
    return Trend(t, v)


def ref_window(trend: Trend | None, lo: datetime, hi: datetime) -> list[tuple[float, float]]:
    if trend is None:
        return []
    out = []
    for t, v in zip(trend.t.tolist(), trend.value.tolist(), strict=True):
        if math.isfinite(v) and lo.timestamp() - SLACK <= t <= hi.timestamp() + SLACK:
            out.append((t, v))
    return out


def ref_nearest(
    trend: Trend | None, target: datetime, lo: datetime, hi: datetime
) -> tuple[float, float] | None:
    best = None
    for t, v in ref_window(trend, lo, hi):
        d = abs(t - target.timestamp())
        if best is None or d < best[0] or (d == best[0] and t < best[1]):
            best = (d, t, v)
    return None if best is None else (best[1], best[2])


def ref_first(trend: Trend | None, lo: datetime, hi: datetime) -> tuple[float, float] | None:
    best = None
    for t, v in ref_window(trend, lo, hi):  # in stored order: the first of equal times wins
        if best is None or t < best[0]:
            best = (t, v)
    return best


def _as_pair(r: Reading | None) -> tuple[float, float] | None:
    return None if r is None else (r.at.timestamp(), r.value)


def _same(got: Reading | None, want: tuple[float, float] | None) -> bool:
    g = _as_pair(got)
    if g is None or want is None:
        return g is None and want is None
    return abs(g[0] - want[0]) < 0.002 and g[1] == want[1]


# readings within one hour, mostly on a 5-s grid (so equal distances, i.e. ties, happen) and
# some at any millisecond; values or None (flagged invalid); in any order
instants = st.one_of(
    st.integers(0, 720).map(lambda k: k * 5.0),
    st.integers(0, 3600 * 1000).map(lambda ms: ms / 1000.0),
)
readings = st.lists(
    st.tuples(instants, st.one_of(st.none(), st.floats(40, 250, allow_nan=False).map(round))),
    max_size=60,
)
seconds = st.integers(0, 3600)


@given(readings, seconds, seconds, seconds)
def test_nearest_reading_matches_the_reference(
    pairs: list[tuple[float, float | None]], a: int, b: int, x: int
) -> None:
    trend = _trend(pairs)
    lo, hi = sorted((T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)))
    target = T0 + timedelta(seconds=x)
    assert _same(nearest_reading(trend, target, lo, hi), ref_nearest(trend, target, lo, hi))


@given(readings, seconds, seconds)
def test_first_reading_matches_the_reference(
    pairs: list[tuple[float, float | None]], a: int, b: int
) -> None:
    trend = _trend(pairs)
    lo, hi = sorted((T0 + timedelta(seconds=a), T0 + timedelta(seconds=b)))
    assert _same(first_reading(trend, lo, hi), ref_first(trend, lo, hi))


@given(
    st.fixed_dictionaries({c: readings for c in COLUMNS}),
    seconds,
    st.integers(60, 1800),
    st.booleans(),
)
def test_a_row_matches_the_reference(
    data: dict[str, list[tuple[float, float | None]]], at: int, half: int, first: bool
) -> None:
    trends = {c: _trend(p) for c, p in data.items()}
    target = T0 + timedelta(seconds=at)
    lo, hi = target - timedelta(seconds=half), target + timedelta(seconds=half)
    row = fill_row(trends, TimedMark("x", target, lo, hi, first_bp=first))
    sbp = ref_first(trends[SBP], lo, hi) if first else ref_nearest(trends[SBP], target, lo, hi)
    assert _same(row.values[SBP], sbp)
    cuff = target if sbp is None else datetime.fromtimestamp(sbp[0], tz=UTC)
    for c in (DBP, MAP):  # the same cuff cycle as the SBP
        assert _same(row.values[c], ref_nearest(trends[c], cuff, lo, hi)), c
    continuous = cuff if first else target
    for c in (HR, SPO2, RR):
        assert _same(row.values[c], ref_nearest(trends[c], continuous, lo, hi)), c
    # nothing is ever taken from outside the window
    for c in COLUMNS:
        v = row.values[c]
        assert v is None or lo.timestamp() - SLACK <= v.at.timestamp() <= hi.timestamp() + SLACK
    assert set(row.missing()) == {c for c in COLUMNS if row.values[c] is None}


def test_the_recorded_baseline_wins_over_readings() -> None:
    trends = {SBP: _trend([(60.0, 150.0)]), HR: _trend([(60.0, 90.0)])}
    recorded = recorded_baseline({"sbp": 132, "dbp": 84, "hr": None, "verdict": "clear"}, T0)
    mark = TimedMark(
        "Baseline", T0, T0 - timedelta(minutes=10), T0 + timedelta(minutes=5), recorded=recorded
    )
    row = fill_row(trends, mark)
    assert row.values[SBP] == Reading(132.0, T0)
    assert row.values[DBP] == Reading(84.0, T0)
    assert row.values[HR] == Reading(90.0, T0 + timedelta(seconds=60))  # not recorded: read
    assert row.values[SPO2] is None


@given(
    st.integers(0, 30),  # baseline minute
    st.integers(1, 240),  # infusion minutes (0 = none)
    st.integers(0, 120),  # observation minutes
    st.booleans(),  # discharge started
)
def test_marks_cover_the_infusion_every_ten_minutes(
    base: int, infusion: int, observe: int, discharge: bool
) -> None:
    start = T0 + timedelta(minutes=base + 3)
    stop = start + timedelta(minutes=infusion)
    end = stop + timedelta(minutes=observe + 1)
    marks = timed_marks(
        session_start=T0,
        monitoring_end=end,
        infusion_start=start,
        infusion_stop=stop,
        discharge_start=end - timedelta(minutes=1) if discharge else None,
        baseline_at=T0 + timedelta(minutes=base),
    )
    labels = [m.label for m in marks]
    assert labels[0] == "Baseline"
    assert labels[-1] == "Pre-discharge"
    assert labels.count("40-min checkpoint") == 1
    assert "+40 min" not in labels  # the checkpoint stands for it
    expected = [f"+{m} min" for m in range(10, infusion + 1, 10) if m != 40]
    assert [x for x in labels if x.startswith("+")] == expected
    inner = [m.target for m in marks[1:-1]]
    assert inner == sorted(inner)  # type: ignore[type-var]
    base_mark = marks[0]
    assert base_mark.hi is not None
    assert base_mark.hi <= start
    for m in marks:
        assert m.lo is not None
        assert m.hi is not None
        assert m.target is not None
        assert m.lo <= m.target <= m.hi or m.label == "Baseline"


def test_a_session_without_infusion_has_baseline_and_pre_discharge_only() -> None:
    marks = timed_marks(
        session_start=T0,
        monitoring_end=T0 + timedelta(minutes=30),
        infusion_start=None,
        infusion_stop=None,
        discharge_start=None,
    )
    assert [m.label for m in marks] == ["Baseline", "Pre-discharge"]


def test_ties_go_to_the_earlier_reading_and_window_edges_count() -> None:
    trend = _trend([(600.0, 150.0), (480.0, 140.0), (540.0, None)])
    target = T0 + timedelta(seconds=540)
    got = nearest_reading(trend, target, T0, T0 + timedelta(hours=1))
    assert got == Reading(140.0, T0 + timedelta(seconds=480))  # 60 s either side: the earlier
    edge = nearest_reading(trend, T0, T0 + timedelta(seconds=480), T0 + timedelta(seconds=480))
    assert edge == Reading(140.0, T0 + timedelta(seconds=480))  # lo == hi == the reading
    assert first_reading(trend, T0 + timedelta(seconds=481), T0 + timedelta(seconds=599)) is None
