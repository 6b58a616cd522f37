"""Where the heart rate comes from: ECG, or the SpO2 pulse rate (HR source "auto").

Issue 11 items 8 and 12.  Whether the pulse rate counted as HR used to be decided once per
device *kind* (a pulse oximeter: yes; a GE monitor: no).  A GE monitor with its ECG leads off,
or with no ECG connected at all (common in these clinics), then never alarmed on a pulse of
135, and a Masimo chair showed HR "---" in the chair view but a value on its overview tile,
because the two widgets had two rules.

Bedside monitors with HR source "auto" decide per reading, and so does this module:

* the ECG heart rate is the source while the newest ECG HR reading is usable and not older
  than :data:`SOURCE_ABSENT_S`;
* otherwise the SpO2 pulse rate is, under the same condition: its values are judged against
  the HR limits, and the screen labels them "HR (from SpO2)";
* otherwise there is no heart-rate source (the alarm engine raises a medium technical alarm).

One rule, :func:`choose_source`, decides for the alarms (:class:`HeartRateSource` in the
chair's pipeline) and for the screen (:func:`shown_heart_rate`, used by both the chair view and
the overview tile), so the screen and the alarms agree.  "Usable" means the newest reading of
that metric was a valid number: a flagged ECG HR stops being the source at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from devices.model import Metric, Reading

#: A source whose newest usable value is older than this is absent.  Longer than the slowest
#: monitor's update period (GE Datex displayed values: 5-10 s) so a healthy link never flaps.
SOURCE_ABSENT_S = 15.0

#: Metrics that can be the heart rate.  The chair forgets one whose newest reading is flagged,
#: so :func:`shown_heart_rate` sees it absent at once, as :class:`HeartRateSource` does.
HEART_RATE_METRICS = frozenset({Metric.HR, Metric.PR})

#: Tile captions by source.
HR_LABEL = "HR"
PULSE_AS_HR_LABEL = "HR (from SpO2)"


class _Timed(Protocol):
    """A shown value: what the chair keeps per metric (``LatestValue``)."""

    @property
    def value(self) -> float: ...

    @property
    def received_at(self) -> datetime: ...


V = TypeVar("V", bound=_Timed)


def choose_source(
    usable_at: Mapping[Metric, datetime], now: datetime, *, pulse_only: bool = False
) -> Metric | None:
    """The heart-rate source now: ``Metric.HR`` (ECG), ``Metric.PR`` (SpO2 pulse) or None.

    Args:
        usable_at: for HR and PR, when their newest reading arrived, if that reading was
            usable (a metric whose newest reading was flagged, or that never came, is absent).
        now: the time to decide at.
        pulse_only: the monitor has no ECG at all.
    """
    for metric in (Metric.PR,) if pulse_only else (Metric.HR, Metric.PR):
        at = usable_at.get(metric)
        if at is not None and now - at <= timedelta(seconds=SOURCE_ABSENT_S):
            return metric
    return None


def shown_heart_rate(latest: Mapping[Metric, V], now: datetime) -> tuple[str, V | None]:
    """What the HR tile shows, in the chair view and on the overview: (caption, value).

    ``latest`` holds the newest usable value per metric (the chair drops HR or PR when its
    newest reading is flagged).  The value of the source in use; without one, the newer of the
    two (the tile greys it by its age), or None when there is neither.
    """
    usable_at = {m: v.received_at for m in (Metric.HR, Metric.PR) if (v := latest.get(m))}
    src = choose_source(usable_at, now)
    if src is None and usable_at:
        src = max(usable_at, key=lambda m: usable_at[m])
    if src is None:
        return HR_LABEL, None
    return _caption(src), latest[src]


class HeartRateSource:
    """Follows ECG HR and SpO2 pulse readings and says which one the alarms judge as HR.

    Not thread-safe: the pipeline calls it under its lock.

    Args:
        pulse_only: the monitor has no ECG at all (a pulse oximeter).
    """

    def __init__(self, *, pulse_only: bool = False) -> None:
        self.pulse_only = pulse_only
        self._usable_at: dict[Metric, datetime] = {}
        self._last_usable: dict[Metric, datetime] = {}
        self._first_at: datetime | None = None

    def feed(self, readings: Iterable[Reading]) -> None:
        """Take note of the HR and PR readings (usable or flagged) in arrival order."""
        for r in readings:
            if self._first_at is None:
                self._first_at = r.received_at
            if r.metric not in (Metric.HR, Metric.PR):
                continue
            if r.usable:
                self._usable_at[r.metric] = self._last_usable[r.metric] = r.received_at
            else:
                self._usable_at.pop(r.metric, None)

    def source(self, now: datetime) -> Metric | None:
        """See :func:`choose_source`."""
        return choose_source(self._usable_at, now, pulse_only=self.pulse_only)

    def missing_since(self, now: datetime) -> datetime | None:
        """Since when there has been no heart-rate source, or None while there is one.

        Also None during the first :data:`SOURCE_ABSENT_S` of data: a monitor's first records
        need not carry every parameter.
        """
        if self._first_at is None or self.source(now) is not None:
            return None
        since = max([self._first_at, *self._last_usable.values()]) + timedelta(
            seconds=SOURCE_ABSENT_S
        )
        return since if now >= since else None


def _caption(metric: Metric) -> str:
    return PULSE_AS_HR_LABEL if metric is Metric.PR else HR_LABEL


__all__ = [
    "HEART_RATE_METRICS",
    "PULSE_AS_HR_LABEL",
    "SOURCE_ABSENT_S",
    "HeartRateSource",
    "choose_source",
    "shown_heart_rate",
]
