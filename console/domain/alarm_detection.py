"""Physiological alarm detection: limits, condition delays, confirm-by-repeat, baseline.

Decides whether each physiological condition (one per metric and side) is present and at which
priority, and tells :class:`~console.domain.alarm_signalling.AlarmSignaller`, which owns what
the nurse sees.  With the clinical.md sections it implements:

* b2: the condition's priority is that of the most urgent tier violated.  Continuous metrics
  (HR, SpO2, RR, ...) declare a tier only after its violation has lasted the tier's ``delay_s``
  (c7 alarm condition delay); the ONSET carries the declaration time as ``at`` and the start of
  the violation as ``condition_start``.  A higher tier needs its own delay to escalate; falling
  back is immediate.
* Confirm-by-repeat for NIBP: the first violating reading raises the alarm at the tier's
  priority and asks for a repeat; the next NIBP within the confirm window either confirms it
  (``confirmed_priority``, e.g. medium -> high for >= 180/110) or, back in range, ends it.
* Baseline-relative tiers (b4; SBP +40 / DBP +25 mmHg over the pre-dose baseline) sit beside
  the absolute tiers of the same condition.  The baseline is set explicitly or derived at the
  first infusion start from the pre-dose readings.

Pure Python, no clock, not thread-safe (the engine's caller serialises calls).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from console.domain.alarm_conditions import (
    Condition,
    InfusionState,
    condition_key,
    split_key,
)
from console.domain.alarm_events import AlarmEvent, AlarmEventKind, RepeatRequest
from console.domain.alarm_profiles import ThresholdProfile
from console.domain.alarm_rules import (
    METRIC_LABELS,
    PLAUSIBLE_RANGE,
    AlarmCategory,
    Baseline,
    Direction,
    LimitError,
    LimitRule,
    Priority,
    format_value,
)
from console.domain.alarm_signalling import CONFIRM_TOLERANCE_S, AlarmSignaller
from devices.model import NIBP_METRICS, Metric

log = logging.getLogger("alarms")

#: Pre-dose HR samples averaged into the baseline HR.
PRE_DOSE_HR_SAMPLES = 30

BASELINE_KEY = "baseline"


@dataclass(slots=True)
class _ContinuousTrack:
    """Violation start per tier of one continuous metric and side."""

    since: dict[LimitRule, datetime] = field(default_factory=dict)
    last_value: float | None = None
    last_at: datetime | None = None


@dataclass(slots=True)
class _NibpTrack:
    """Which tiers the previous NIBP reading violated, for confirm-by-repeat."""

    last_violated: frozenset[str] = frozenset()
    last_at: datetime | None = None


class PhysiologicalDetector:
    """Judges usable readings against the tiers in force, with delays and confirmation.

    Args:
        profile: returns the profile in force (a callable: a profile change swaps it).
        infusion: the infusion state the engine keeps (pre-dose means "never started").
        signals: where present/absent conditions and repeat requests go.
    """

    def __init__(
        self,
        profile: Callable[[], ThresholdProfile],
        infusion: InfusionState,
        signals: AlarmSignaller,
    ) -> None:
        self._profile = profile
        self._infusion = infusion
        self._signals = signals
        self._continuous: dict[str, _ContinuousTrack] = {}
        self._nibp: dict[str, _NibpTrack] = {}
        self._pre_dose: dict[Metric, list[float]] = {}
        self.baseline: Baseline | None = None

    # -- readings ---------------------------------------------------------------------------
    def on_usable(self, metric: Metric, value: float, at: datetime) -> None:
        """Judge one usable value (a pulse rate judged as HR arrives as ``Metric.HR``)."""
        if metric in NIBP_METRICS:
            self._signals.answer_repeats(at)
            if not self._infusion.ever_started and self.baseline is None:
                self._pre_dose.setdefault(metric, []).append(value)
            for direction in Direction:
                self._judge_nibp(metric, direction, value, at)
            return
        if metric is Metric.HR and not self._infusion.ever_started:
            pre = self._pre_dose.setdefault(metric, [])
            pre.append(value)
            del pre[:-PRE_DOSE_HR_SAMPLES]
        for direction in Direction:
            key = condition_key(metric, direction)
            tiers = self._tiers(metric, direction)
            if not tiers and key not in self._continuous:
                continue
            track = self._continuous.setdefault(key, _ContinuousTrack())
            for rule in tiers:
                if rule.violated_by(value):
                    track.since.setdefault(rule, at)
                else:
                    track.since.pop(rule, None)
            for rule in [r for r in track.since if r not in tiers]:
                del track.since[rule]  # the profile changed under it
            track.last_value, track.last_at = value, at
            self._judge_continuous(metric, direction, track, at)

    def rejudge_tracks(self, at: datetime) -> None:
        """Re-map continuous violation starts onto the new tiers after a profile change.

        A tier the newest value violates keeps the earliest start the side already had (the
        value has been abnormal since then), or starts now; the timers then re-judge every
        condition at once against the newest value.
        """
        for key, track in self._continuous.items():
            if track.last_value is None:
                continue
            metric, direction = split_key(key)
            earliest = min(track.since.values(), default=at)
            track.since = {
                rule: earliest
                for rule in self._tiers(metric, direction)
                if rule.violated_by(track.last_value)
            }

    def run_timers(self, now: datetime) -> None:
        """Re-judge every continuous condition: its delay may have run out."""
        for key, track in list(self._continuous.items()):
            metric, direction = split_key(key)
            self._judge_continuous(metric, direction, track, now)

    def clear(self) -> None:
        """Forget tracks, pre-dose readings and the baseline (a session ended)."""
        for state in (self._continuous, self._nibp, self._pre_dose):
            state.clear()
        self.baseline = None

    # -- baseline ---------------------------------------------------------------------------
    def derive_baseline(self, at: datetime) -> None:
        """Baseline from the last two pre-dose NIBP readings (b4: 2 readings before dosing)."""
        sbp = _mean_of_last(self._pre_dose.get(Metric.NIBP_SYS, []), 2)
        dbp = _mean_of_last(self._pre_dose.get(Metric.NIBP_DIA, []), 2)
        hr = _mean_of_last(self._pre_dose.get(Metric.HR, []), PRE_DOSE_HR_SAMPLES)
        if sbp is None and dbp is None:
            log.info("infusion started without a pre-dose NIBP: no baseline-relative limits")
            return
        count = min(2, len(self._pre_dose.get(Metric.NIBP_SYS, [])))
        source = f"derived from {count} pre-dose NIBP reading{'s' if count != 1 else ''}"
        self.set_baseline(Baseline(sbp, dbp, hr, at, source), at, None)

    def set_baseline(self, baseline: Baseline, at: datetime, actor: str | None) -> None:
        """Put ``baseline`` in force and record it (BASELINE_SET)."""
        self.baseline = baseline
        self._signals.record(
            AlarmEvent(
                AlarmEventKind.BASELINE_SET,
                BASELINE_KEY,
                None,
                None,
                None,
                baseline.sbp,
                None,
                at,
                f"Pre-dose baseline {baseline.describe()} ({baseline.source})",
                actor=actor,
            )
        )

    # -- judging ------------------------------------------------------------------------------
    def _tiers(self, metric: Metric, direction: Direction) -> list[LimitRule]:
        profile = self._profile()
        tiers = profile.policy.rules_for(metric, direction)
        if direction is Direction.HIGH and self.baseline is not None:
            for rule in profile.baseline_rules:
                base = self.baseline.value_of(rule.metric)
                if rule.metric is metric and base is not None:
                    tiers.append(rule.rule_for(base))
        return tiers

    def _judge_continuous(
        self, metric: Metric, direction: Direction, track: _ContinuousTrack, now: datetime
    ) -> None:
        key = condition_key(metric, direction)
        if track.last_at is None or track.last_value is None:
            return
        if now - track.last_at > timedelta(seconds=self._profile().timings.comm_lost_after_s):
            return  # stale: no new evidence either way (communication lost covers it)
        tiers = self._tiers(metric, direction)
        violated = {r: s for r, s in track.since.items() if r in tiers}
        if not violated:
            value = track.last_value
            self._signals.end(
                key,
                now,
                f"{METRIC_LABELS[metric]} {format_value(metric, value)} back within limits",
                value,
            )
            return
        alarm = self._signals.alarms.get(key)
        active = alarm is not None and alarm.condition_active
        declared = [r for r, s in violated.items() if now - s >= timedelta(seconds=r.delay_s)]
        candidates = declared or (list(violated) if active else [])
        if not candidates:
            return  # still within the condition delay
        rule = max(candidates, key=lambda r: (r.priority, r.extremeness()))
        value = track.last_value
        self._signals.present(
            Condition(
                key,
                AlarmCategory.PHYSIOLOGICAL,
                rule.priority,
                value,
                rule.limit,
                f"{rule.label} {format_value(metric, value)} {rule.describe()}",
                min(violated.values()),
                metric=metric,
                direction=direction,
                tile_metric=metric,
            ),
            now,
        )

    def _judge_nibp(self, metric: Metric, direction: Direction, value: float, at: datetime) -> None:
        key = condition_key(metric, direction)
        tiers = self._tiers(metric, direction)
        track = self._nibp.setdefault(key, _NibpTrack())
        confirm_window_s = self._profile().timings.nibp_confirm_window_s
        window = timedelta(seconds=confirm_window_s + CONFIRM_TOLERANCE_S)
        within = track.last_at is not None and at - track.last_at <= window
        confirmable = track.last_violated if within else frozenset()
        violated = [r for r in tiers if r.violated_by(value)]
        track.last_violated = frozenset(r.tier_id for r in violated)
        track.last_at = at

        def effective(rule: LimitRule) -> Priority:
            if rule.confirm and rule.tier_id in confirmable:
                return rule.priority_when_confirmed
            return rule.priority

        label = METRIC_LABELS[metric]
        if not violated:
            self._signals.end(
                key, at, f"{label} {format_value(metric, value)} back within limits", value
            )
            return
        rule = max(violated, key=lambda r: (effective(r), r.extremeness()))
        priority = effective(rule)
        confirmed = rule.confirm and rule.tier_id in confirmable
        message = f"{label} {format_value(metric, value)} {rule.describe()}"
        if confirmed:
            message += ", confirmed by repeat"
        self._signals.present(
            Condition(
                key,
                AlarmCategory.PHYSIOLOGICAL,
                priority,
                value,
                rule.limit,
                message,
                at,
                metric=metric,
                direction=direction,
                tile_metric=metric,
            ),
            at,
        )
        unconfirmed = [
            r
            for r in violated
            if r.confirm
            and r.tier_id not in confirmable
            and (r is rule or r.priority_when_confirmed > priority)
        ]
        if unconfirmed and key not in self._signals.repeats:
            asked = max(unconfirmed, key=lambda r: (r.priority_when_confirmed, r.extremeness()))
            request = RepeatRequest(
                key,
                metric,
                at,
                at + timedelta(seconds=confirm_window_s),
                f"Repeat NIBP now: {label} {format_value(metric, value)} {asked.describe()} "
                "needs confirmation",
            )
            self._signals.request_repeat(request, direction, value, asked.limit)


def check_plausible(metric: Metric, value: float) -> None:
    """Refuse a baseline value outside the physiological range.

    Raises:
        LimitError: naming the metric and the range.
    """
    lo, hi = PLAUSIBLE_RANGE[metric]
    if not lo <= value <= hi:
        raise LimitError(
            f"{METRIC_LABELS[metric]} baseline {value:g} is outside the physiological range "
            f"{lo:g}-{hi:g}"
        )


def _mean_of_last(values: list[float], n: int) -> float | None:
    if not values:
        return None
    tail = values[-n:]
    return round(sum(tail) / len(tail), 1)
