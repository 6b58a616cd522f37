"""The Qt-free review computations (console.domain.review) on hand-made plain data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from console.domain.review import (
    DBP,
    HR,
    SBP,
    SPO2,
    ReviewInputs,
    SeriesSession,
    overlay_curve,
    parameter_completeness,
    series_rows,
    summarize,
    with_gap_breaks,
)
from console.domain.session import EventKind, SessionEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeTrend:
    t: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class FakeAlarm:
    condition: str
    parameter: str
    priority: str
    limit_value: float | None
    value: float | None
    message: str
    onset_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class FakeLog:
    condition: str
    kind: str
    at: datetime
    actor: str | None = None


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def trend(minutes: Sequence[float], values: Sequence[float]) -> FakeTrend:
    return FakeTrend(
        np.array([at(m).timestamp() for m in minutes]), np.array(values, dtype=np.float64)
    )


def _inputs(**kw: object) -> ReviewInputs:
    nibp_min = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]
    sbp = [130, 131, 132, 140, 150, 165, 172, 168, 160, 150, 140, 135, 131]
    dbp = [80, 80, 81, 85, 90, 98, 104, 100, 95, 90, 86, 83, 81]
    hr_min = [i / 60 for i in range(0, 3600, 5)]
    hr = [75.0 + (10 if 30 <= m <= 31 else 0) for m in hr_min]
    base: dict[str, object] = {
        "started_at": T0,
        "ended_at": at(60),
        "trends": {SBP: trend(nibp_min, sbp), DBP: trend(nibp_min, dbp), HR: trend(hr_min, hr)},
        "events": [
            SessionEvent(EventKind.BASELINE_VITALS, at(1), data={"sbp": 128, "dbp": 79, "hr": 72}),
            SessionEvent(
                EventKind.INFUSION_PLANNED,
                at(2),
                dose_mg=35.0,
                rate_ml_per_h=60.0,
                data={"weight_kg": 70.0, "dose_mg_per_kg": 0.5, "route": "IV"},
            ),
            SessionEvent(EventKind.INFUSION_START, at(3), rate_ml_per_h=60.0),
            SessionEvent(EventKind.INFUSION_PAUSE, at(20), reason="nausea"),
            SessionEvent(EventKind.NAUSEA, at(20), text="mild"),
            SessionEvent(EventKind.INFUSION_RESUME, at(22), rate_ml_per_h=60.0),
            SessionEvent(EventKind.INFUSION_STOP, at(43), reason="completed", dose_mg=33.0),
            SessionEvent(EventKind.DISCHARGE_START, at(55)),
        ],
    }
    base.update(kw)
    return ReviewInputs(**base)  # type: ignore[arg-type]


def test_figures_baseline_peak_checkpoint_pre_discharge() -> None:
    s = summarize(_inputs())
    assert s.baseline.source == "recorded baseline vitals"
    assert (s.baseline.sbp.value, s.baseline.dbp.value, s.baseline.hr.value) == (128, 79, 72)  # type: ignore[union-attr]
    assert s.peak.sbp is not None
    assert s.peak.sbp.value == 172
    assert s.peak.sbp.at == at(30)
    assert s.time_to_peak_sbp_min == pytest.approx(27.0)
    assert s.checkpoint_40.sbp is not None
    assert s.checkpoint_40.sbp.at == at(40)  # the first NIBP 35-45 min after the start (3)
    assert s.pre_discharge.sbp is not None
    assert s.pre_discharge.sbp.at == at(55)
    assert s.monitoring_min == pytest.approx(60.0)
    assert not s.in_progress
    assert s.infusion.planned_dose_mg == 35.0
    assert s.infusion.given_dose_mg == 33.0
    assert s.infusion.duration_min == pytest.approx(40.0)
    assert [(p.start, p.end, p.reason) for p in s.infusion.pauses] == [(at(20), at(22), "nausea")]
    assert [e.kind for e in s.adverse_events] == ["nausea"]
    assert s.infusion.dose_text() == "35 mg (0.5 mg/kg x 70 kg) IV - given 33 mg"


def test_baseline_falls_back_to_last_reading_before_the_infusion() -> None:
    events = [SessionEvent(EventKind.INFUSION_START, at(12))]
    s = summarize(_inputs(events=events))
    assert s.baseline.sbp is not None
    assert s.baseline.sbp.at == at(10)
    assert s.baseline.source == "last readings before the infusion"


def test_completeness_counts_invalid_as_missing_and_lists_gaps() -> None:
    minutes = [i / 60 for i in range(0, 600)]  # 10 min at 1 Hz
    values = [97.0] * 600
    for i in range(120, 180):  # one minute flagged invalid
        values[i] = np.nan
    del minutes[300:420], values[300:420]  # two minutes not received at all
    c = parameter_completeness(SPO2, trend(minutes, values), T0, at(10))
    assert c.interval_s == pytest.approx(1.0)
    assert c.expected == 600
    assert c.valid == 420
    assert c.invalid == 60
    assert c.percent == pytest.approx(70.0)
    assert [(round(g.duration_s), g.start) for g in c.gaps] == [
        (61, at(119 / 60)),
        (121, at(299 / 60)),
    ]


def test_nibp_is_judged_against_its_cycle() -> None:
    c = parameter_completeness(
        SBP, trend([0, 5, 20, 25], [1, 1, 1, 1]), T0, at(30), nibp_interval_s=300
    )
    assert c.expected == 6
    assert c.valid == 4
    assert [(g.start, g.end) for g in c.gaps] == [(at(5), at(20))]  # 15 min > 5 min + 2 min grace


def test_alarm_acks_belong_to_the_right_period_of_a_recurring_condition() -> None:
    alarms = [
        FakeAlarm("HR:high", HR, "medium", 110, 118, "HR 118 > 110", at(10), at(12)),
        FakeAlarm("HR:high", HR, "high", 130, 135, "HR 135 > 130", at(30), None),
    ]
    log = [
        FakeLog("HR:high", "onset", at(10)),
        FakeLog("HR:high", "acknowledged", at(11), "rn1"),
        FakeLog("HR:high", "end", at(12)),
        FakeLog("HR:high", "onset", at(30)),
        FakeLog("HR:high", "latched", at(31)),
        FakeLog("HR:high", "acknowledged", at(33), "dr2"),
    ]
    s = summarize(_inputs(alarms=alarms, alarm_log=log))
    first, second = s.alarms
    assert [a.actor for a in first.acknowledgements] == ["rn1"]
    assert [a.actor for a in second.acknowledgements] == ["dr2"]
    assert second.end is None
    assert second.shade_end == at(60)
    assert second.condition_ended_at == at(31)
    assert s.alarm_count("high") == 1
    assert s.alarm_count() == 2


def test_unfinished_session_ends_at_its_last_data() -> None:
    s = summarize(_inputs(ended_at=None))
    assert s.in_progress
    assert s.monitoring_end == at(60)  # the last SBP, not the wall clock


def test_gap_breaks_insert_nan_between_distant_readings() -> None:
    t = np.array([0.0, 1.0, 2.0, 30.0, 31.0])
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    t2, v2 = with_gap_breaks(t, v, 10.0)
    assert len(t2) == 6
    assert np.isnan(v2[3])
    assert 2.0 < t2[3] < 30.0


def test_series_rows_and_overlay_are_aligned_at_the_infusion_start() -> None:
    sessions = []
    for i in range(3):
        s = summarize(_inputs())
        sessions.append(
            SeriesSession(
                10 - i, i + 1, T0 + timedelta(days=3 * i), False, s, _inputs().trends[SBP]
            )
        )
    rows = series_rows(list(reversed(sessions)))
    assert [r.series_number for r in rows] == [1, 2, 3]
    assert rows[0].sbp_rise == pytest.approx(44.0)
    assert rows[0].dbp_rise == pytest.approx(25.0)
    assert rows[0].adverse == ("nausea (mild)",)
    x, y = overlay_curve(sessions[0].sbp, sessions[0].summary.origin)
    assert x[0] == pytest.approx(-3.0)
    assert y.max() == 172
