"""What the chair's status line says about the session: the 40-minute BP checkpoint and
what still stands between the patient and the door.

Plain functions of the session's lifecycle and trends (no Qt, no chair), so the rules can be
read and tested on their own (issue 13: the chair service had grown past what one can hold
in one's head).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from console.domain.checkpoint import CHECKPOINT_WINDOW_MIN, checkpoint_reading
from console.domain.session import (
    ANNOTATION_KINDS,
    BaselineVitals,
    Phase,
    SessionEvent,
    SessionLifecycle,
)
from console.services.plot_buffer import RingBuffer
from console.services.session_values import DISCHARGE_SHORT, LatestValue
from devices.model import Metric

_ANNOTATIONS = frozenset(k.value for k in ANNOTATION_KINDS)


def checkpoint_status(
    infusion_started_at: datetime | None,
    session_start: datetime,
    sys_trend: RingBuffer,
    dia_trend: RingBuffer,
    now: datetime,
) -> tuple[str, str]:
    """The 40-minute BP checkpoint (clinical.md C 13): (state, text); state is one of
    ``waiting``, ``pending``, ``due``, ``done``, ``missed``.

    The trends are in minutes since ``session_start``; the rule that finds the reading is the
    review's too (:mod:`console.domain.checkpoint`).
    """
    if infusion_started_at is None:
        return "waiting", "40-min BP: after the start"
    lo, hi = CHECKPOINT_WINDOW_MIN
    x, y = sys_trend.arrays()
    dx, dy = dia_trend.arrays()
    offset = (infusion_started_at - session_start).total_seconds() / 60.0
    found = checkpoint_reading(list(x - offset), list(y), list(dx - offset), list(dy))
    if found is not None:
        return "done", f"40-min BP done: {found.text()}"
    since = (now - infusion_started_at).total_seconds() / 60.0
    if since < lo:
        return "pending", f"40-min BP in {lo - since:.0f} min ({lo:g}-{hi:g} min window)"
    if since <= hi:
        return "due", f"40-min BP DUE NOW ({hi - since:.0f} min left of window)"
    return "missed", "40-min BP MISSED (no reading 35-45 min)"


def discharge_needs(life: SessionLifecycle, now: datetime) -> list[str]:
    """What still stands between the patient and the door, in plain words."""
    labels = DISCHARGE_SHORT
    if life.closed:
        return []
    items = life.policy.discharge_items
    pending = [labels.get(i, i) for i in items]
    if life.esketamine is not None and life.end_checks is None:
        pending.insert(0, "end checks")
    if life.esketamine is not None and life.phase in (Phase.BASELINE, Phase.INFUSION):
        return [
            f"devices {len(life.devices_given)}/{life.esketamine.devices}",
            f"{life.observation_minutes():g} min observation",
            *pending,
        ]
    if life.phase in (Phase.BASELINE, Phase.INFUSION):
        return [
            "infusion end",
            f"{life.policy.observation_min:g} min observation",
            f"{len(items)} discharge checks",
        ]
    if life.phase is Phase.OBSERVATION:
        ends = life.observation_ends_at()
        assert ends is not None
        if ends > now:
            left = int((ends - now).total_seconds())
            return [f"observation {left // 60}:{left % 60:02d} left", *pending]
        return pending
    unanswered = [labels.get(i, i) for i in items if not life.discharge_checks.get(i)]
    if life.esketamine is not None and life.end_checks is None:
        return ["end checks", *unanswered]
    return unanswered


def cuff_baseline(
    latest: Mapping[Metric, LatestValue],
    events: Sequence[SessionEvent],
    last_cuff_at: datetime | None,
) -> tuple[datetime, BaselineVitals] | None:
    """A new pre-dose cuff reading as a baseline set (clinical.md b1), with the cuff's time;
    None while only half of a pair is in, or when that reading was taken already.

    The set is dated no earlier than the session's last step (an event after it would
    otherwise appear to come before the baseline on the record).
    """
    sys_, dia = latest.get(Metric.NIBP_SYS), latest.get(Metric.NIBP_DIA)
    if sys_ is None or dia is None:
        return None
    if abs((sys_.received_at - dia.received_at).total_seconds()) > 5.0:
        return None  # half of a pair: wait for the other value
    cuff_at = max(sys_.received_at, dia.received_at)
    if last_cuff_at is not None and cuff_at <= last_cuff_at:
        return None
    steps = [e.at for e in events if e.kind not in _ANNOTATIONS]
    at = max(cuff_at, *steps) if steps else cuff_at
    hr = latest.get(Metric.HR) or latest.get(Metric.PR)
    spo2 = latest.get(Metric.SPO2)
    vitals = BaselineVitals(
        at,
        sys_.value,
        dia.value,
        None if hr is None else hr.value,
        None if spo2 is None else spo2.value,
    )
    return cuff_at, vitals
