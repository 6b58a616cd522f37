"""Issue 11 item 9: the 40-minute BP checkpoint is one rule with one answer, live and in review.

The hazard: readings at 37 min (203/118) and 42 min (201/111) after the infusion start; the live
strip said "SBP 203 at 37 min", the review "201/111 at +42 min".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import numpy.typing as npt

from console.domain.checkpoint import checkpoint_reading
from console.domain.review import DBP, HR, SBP, ReviewInputs, minutes_text, summarize
from console.domain.session import EventKind, SessionEvent
from console.services.chair_service import ChairService
from console.services.plot_buffer import RingBuffer
from devices.model import Metric

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
START_MIN = 5.0  # infusion start, minutes into the session
#: NIBP readings: minutes after the infusion start, SBP, DBP.
NIBP = [(30.0, 180.0, 100.0), (37.0, 203.0, 118.0), (42.0, 201.0, 111.0), (47.0, 190.0, 105.0)]


@dataclass
class Trend:
    t: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]


def _session_min(after_start: float) -> float:
    return START_MIN + after_start


def _review_answer() -> str:
    def trend(column: int) -> Trend:
        times = [(T0 + timedelta(minutes=_session_min(r[0]))).timestamp() for r in NIBP]
        return Trend(np.array(times), np.array([r[column] for r in NIBP], dtype=np.float64))

    inputs = ReviewInputs(
        started_at=T0,
        ended_at=T0 + timedelta(minutes=70),
        trends={SBP: trend(1), DBP: trend(2), HR: Trend(np.empty(0), np.empty(0))},
        events=[SessionEvent(EventKind.INFUSION_START, T0 + timedelta(minutes=START_MIN))],
    )
    s = summarize(inputs).checkpoint_40
    assert s.sbp is not None
    return f"{s.bp_text()} at {minutes_text(s.sbp.minutes_after(inputs.events[0].at))}"


def _live_answer() -> str:
    trends = {Metric.NIBP_SYS: RingBuffer(16), Metric.NIBP_DIA: RingBuffer(16)}
    for after, sbp, dbp in NIBP:
        trends[Metric.NIBP_SYS].append(_session_min(after), sbp)
        trends[Metric.NIBP_DIA].append(_session_min(after), dbp)
    chair = SimpleNamespace(
        lifecycle=SimpleNamespace(infusion_started_at=T0 + timedelta(minutes=START_MIN)),
        session_start=T0,
        trends=trends,
        clock=SimpleNamespace(now=lambda: T0 + timedelta(minutes=60)),
    )
    state, text = ChairService.checkpoint(chair, T0 + timedelta(minutes=60))  # type: ignore[arg-type]
    assert state == "done"
    return text


def test_live_strip_and_review_give_the_same_checkpoint_reading() -> None:
    assert _live_answer() == "40-min BP done: 203/118 at 37 min"
    assert _review_answer() == "203/118 at +37 min"


def test_the_rule_takes_the_first_valid_reading_of_the_window() -> None:
    nan = float("nan")
    assert checkpoint_reading([34.9, 36.0, 38.0], [150.0, nan, 160.0]) is not None
    found = checkpoint_reading([34.9, 36.0, 38.0], [150.0, nan, 160.0], [38.0], [95.0])
    assert found is not None
    assert (found.minutes, found.sbp, found.dbp) == (38.0, 160.0, 95.0)
    assert checkpoint_reading([20.0, 46.0], [150.0, 151.0]) is None
