"""Threshold profiles: the clinic default, per-patient overrides, and changes during a session.

A :class:`ThresholdProfile` bundles everything the alarm engine is configured with: the limit
tiers (:class:`~console.domain.alarm_rules.AlarmPolicy`), the baseline-relative rules and the
timings (confirm window, escalation, audio pause, technical-alarm delays).  Profiles are
immutable; an edit produces a new, validated profile, and :func:`diff_profiles` lists what
changed so the engine can record who changed what, when and why (clinical.md H.36: alarm
presets per clinic, role-restricted and logged limit changes; c6: presets at organisation and
operator level).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from console.domain.alarm_events import LimitChange
from console.domain.alarm_rules import (
    METRIC_LABELS,
    AlarmPolicy,
    BaselineRule,
    Direction,
    LimitError,
    LimitRule,
    Priority,
    check_unit,
)
from devices.model import Metric

#: Accepted range of each timing (seconds), with why.  Checked by :meth:`AlarmTimings.validate`.
TIMING_RANGES: dict[str, tuple[float, float]] = {
    # b2: the repeat cuff reading comes within 2 min, a clinic may choose 5 min.
    "nibp_confirm_window_s": (120.0, 300.0),
    # 0 switches escalation off; otherwise 30 s to 15 min.
    "escalate_unanswered_s": (0.0, 900.0),
    # c4: pause duration is the responsible organisation's choice; 15 min mirrors ISO 7396-1.
    "audio_pause_s": (10.0, 900.0),
    "comm_lost_after_s": (5.0, 120.0),
    "comm_lost_escalate_s": (10.0, 900.0),
    "sensor_off_after_s": (0.0, 120.0),
    "nibp_overdue_grace_s": (0.0, 1800.0),
    "nibp_overdue_recovery_s": (0.0, 4 * 3600.0),
}


@dataclass(frozen=True, slots=True)
class AlarmTimings:
    """Time-based alarm behaviour (clinical.md b3 technical alarms, c4 pause, c5 latching).

    Attributes:
        nibp_confirm_window_s: a repeat NIBP within this time after the first violating reading
            confirms it (b2: 2 min, clinic may choose 5 min).
        escalate_unanswered_s: a medium physiological alarm nobody acknowledged for this long
            becomes high (c13 escalation); 0 disables.
        audio_pause_s: default audio pause (c4; Dräger uses 2 min).
        latch_high: high-priority physiological alarms stay shown until acknowledged (b3 note,
            c5); only the clinic configuration may switch this (c5 hazard note).
        comm_lost_after_s: no data for this long is "communication lost" (b3).
        comm_lost_escalate_s: no data for this long during the infusion makes it high (b3).
        sensor_off_after_s: SpO2 flagged invalid for this long is "sensor off / no signal" (b3).
        nibp_overdue_grace_s: NIBP is overdue this long after the cycle interval (b3: + 2 min).
        nibp_overdue_recovery_s: how long after the infusion NIBP overdue is still watched
            (b3: first 30 min of recovery).
    """

    nibp_confirm_window_s: float = 300.0
    escalate_unanswered_s: float = 120.0
    audio_pause_s: float = 120.0
    latch_high: bool = True
    comm_lost_after_s: float = 10.0
    comm_lost_escalate_s: float = 60.0
    sensor_off_after_s: float = 10.0
    nibp_overdue_grace_s: float = 120.0
    nibp_overdue_recovery_s: float = 1800.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raises LimitError naming the setting that is out of range."""
        for name, (lo, hi) in TIMING_RANGES.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise LimitError(f"alarm setting {name} = {value:g} must be {lo:g}-{hi:g} s")
        if 0 < self.escalate_unanswered_s < 30:
            raise LimitError("alarm setting escalate_unanswered_s must be 0 (off) or >= 30 s")
        if self.comm_lost_escalate_s < self.comm_lost_after_s:
            raise LimitError(
                "alarm setting comm_lost_escalate_s must not be shorter than comm_lost_after_s"
            )


#: The clinic-default baseline rules (clinical.md b2: SBP +40 or DBP +25 mmHg, medium,
#: confirm-by-repeat).
DEFAULT_BASELINE_RULES: tuple[BaselineRule, ...] = (
    BaselineRule(Metric.NIBP_SYS, 40.0),
    BaselineRule(Metric.NIBP_DIA, 25.0),
)


@dataclass(frozen=True, slots=True)
class LimitOverride:
    """A per-patient change of one tier: set the ``priority`` tier of ``metric``/``direction``.

    Attributes:
        metric: the parameter.
        direction: the side.
        priority: which tier (its first-reading priority).
        limit: the new limit value.
        unit: the unit the value was entered in (checked against the metric's unit).
        delay_s: new condition delay, or None to keep the tier's.
    """

    metric: Metric
    direction: Direction
    priority: Priority
    limit: float
    unit: str | None = None
    delay_s: float | None = None


@dataclass(frozen=True, slots=True)
class ThresholdProfile:
    """Everything that configures alarm evaluation; immutable and validated.

    Attributes:
        name: shown and recorded (``clinic default``, ``clinic default + patient``).
        policy: the limit tiers.
        timings: delays and timers.
        baseline_rules: baseline-relative tiers (applied once a baseline is known).
    """

    name: str = "clinic default"
    policy: AlarmPolicy = field(default_factory=AlarmPolicy)
    timings: AlarmTimings = field(default_factory=AlarmTimings)
    baseline_rules: tuple[BaselineRule, ...] = DEFAULT_BASELINE_RULES

    def __post_init__(self) -> None:
        for rule in self.baseline_rules:
            rule.validate()
        metrics = [r.metric for r in self.baseline_rules]
        if len(metrics) != len(set(metrics)):
            raise LimitError("a baseline-relative rule is listed twice for the same parameter")

    def with_limit(
        self,
        metric: Metric,
        direction: Direction,
        priority: Priority,
        limit: float,
        *,
        unit: str | None = None,
        delay_s: float | None = None,
        name: str | None = None,
    ) -> ThresholdProfile:
        """A copy with the ``priority`` tier of ``metric``/``direction`` set to ``limit``.

        When the side has no tier of that priority, one is added (inclusive, no delay).

        Raises:
            LimitError: wrong unit, the result is invalid (range, low above high, tier order),
                or several tiers share that priority (edit them with :meth:`with_rule`).
        """
        check_unit(metric, unit)
        tiers = [r for r in self.policy.rules_for(metric, direction) if r.priority is priority]
        if len(tiers) > 1:
            raise LimitError(
                f"{METRIC_LABELS[metric]}: several {direction} limits have priority "
                f"{priority.label}; name the one to change"
            )
        if tiers:
            old: LimitRule | None = tiers[0]
            new = replace(tiers[0], limit=float(limit))
        else:
            old = None
            new = LimitRule(metric, direction, float(limit), priority)
        if delay_s is not None:
            new = replace(new, delay_s=float(delay_s))
        return self.with_rule(old, new, name=name)

    def with_rule(
        self, old: LimitRule | None, new: LimitRule | None, *, name: str | None = None
    ) -> ThresholdProfile:
        """A copy with ``old`` replaced by ``new`` (None to add or to remove).

        Raises:
            LimitError: ``old`` is not in the profile, or the result is invalid.
        """
        rules = list(self.policy.rules)
        if old is not None:
            if old not in rules:
                raise LimitError(f"{old.label}: limit {old.describe()} is not in the profile")
            index = rules.index(old)
            if new is None:
                del rules[index]
            else:
                rules[index] = new
        elif new is not None:
            rules.append(new)
        return replace(self, name=name or self.name, policy=AlarmPolicy(tuple(rules)))

    def with_overrides(
        self, overrides: Iterable[LimitOverride], *, name: str | None = None
    ) -> ThresholdProfile:
        """Apply per-patient overrides in order.

        Raises:
            LimitError: the first override that cannot be applied, naming its parameter.
        """
        profile = self
        for o in overrides:
            profile = profile.with_limit(
                o.metric, o.direction, o.priority, o.limit, unit=o.unit, delay_s=o.delay_s
            )
        return replace(profile, name=name or f"{self.name} + patient overrides")

    def with_timings(self, name: str | None = None, **changes: float | bool) -> ThresholdProfile:
        """A copy with some timings changed (validated)."""
        known = {f.name for f in fields(AlarmTimings)}
        unknown = set(changes) - known
        if unknown:
            raise LimitError(f"unknown alarm setting(s): {', '.join(sorted(unknown))}")
        timings = AlarmTimings(**{**asdict(self.timings), **changes})
        return replace(self, name=name or self.name, timings=timings)


#: Version of :func:`profile_to_json`'s layout (stored with each session, read back for review).
PROFILE_JSON_VERSION = 1


def profile_to_json(profile: ThresholdProfile) -> str:
    """The whole profile as JSON text: name, every limit tier (priority, delay, confirm), the
    baseline-relative rules and the timings; :func:`profile_from_json` reads it back."""
    data: dict[str, Any] = {
        "version": PROFILE_JSON_VERSION,
        "name": profile.name,
        "limits": [
            {
                "metric": r.metric.value,
                "direction": r.direction.value,
                "limit": r.limit,
                "priority": r.priority.label,
                "inclusive": r.inclusive,
                "delay_s": r.delay_s,
                "confirm": r.confirm,
                "confirmed_priority": _priority_name(r.confirmed_priority),
                "basis": r.basis,
            }
            for r in profile.policy.rules
        ],
        "baseline_rules": [
            {
                "metric": b.metric.value,
                "rise": b.rise,
                "priority": b.priority.label,
                "confirm": b.confirm,
                "confirmed_priority": _priority_name(b.confirmed_priority),
            }
            for b in profile.baseline_rules
        ],
        "timings": asdict(profile.timings),
    }
    return json.dumps(data, sort_keys=True)


def profile_from_json(text: str) -> ThresholdProfile:
    """The profile :func:`profile_to_json` wrote.

    Raises:
        LimitError: the text is not such a profile, or its contents are invalid.
    """
    try:
        data = json.loads(text)
        if not isinstance(data, Mapping) or data.get("version") != PROFILE_JSON_VERSION:
            raise LimitError("not a stored threshold profile (unknown layout)")
        limits = tuple(
            LimitRule(
                metric=Metric(r["metric"]),
                direction=Direction(r["direction"]),
                limit=float(r["limit"]),
                priority=Priority.parse(r["priority"]),
                inclusive=bool(r["inclusive"]),
                delay_s=float(r["delay_s"]),
                confirm=bool(r["confirm"]),
                confirmed_priority=_parse_priority(r["confirmed_priority"]),
                basis=str(r["basis"]),
            )
            for r in data["limits"]
        )
        baseline = tuple(
            BaselineRule(
                metric=Metric(b["metric"]),
                rise=float(b["rise"]),
                priority=Priority.parse(b["priority"]),
                confirm=bool(b["confirm"]),
                confirmed_priority=_parse_priority(b["confirmed_priority"]),
            )
            for b in data["baseline_rules"]
        )
        known = {f.name for f in fields(AlarmTimings)}
        timings = AlarmTimings(**{k: v for k, v in data["timings"].items() if k in known})
        return ThresholdProfile(
            name=str(data["name"]),
            policy=AlarmPolicy(limits),
            timings=timings,
            baseline_rules=baseline,
        )
    except LimitError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LimitError(f"stored threshold profile is unreadable: {exc}") from exc


def _priority_name(priority: Priority | None) -> str | None:
    return None if priority is None else priority.label


def _parse_priority(name: str | None) -> Priority | None:
    return None if name is None else Priority.parse(name)


def diff_profiles(
    old: ThresholdProfile, new: ThresholdProfile, *, actor: str, reason: str, at: datetime
) -> list[LimitChange]:
    """What changed from ``old`` to ``new``, one entry per tier or setting.

    Tiers are paired by parameter, side and priority when exactly one exists on each side of
    the change; anything else is recorded as removed and added.
    """
    changes: list[LimitChange] = []

    def record(parameter: str, setting: str, before: str | None, after: str | None) -> None:
        changes.append(LimitChange(parameter, setting, before, after, actor, reason, at, new.name))

    def group(
        rules: Iterable[LimitRule],
    ) -> dict[tuple[Metric, Direction, Priority], list[LimitRule]]:
        out: dict[tuple[Metric, Direction, Priority], list[LimitRule]] = {}
        for r in rules:
            out.setdefault((r.metric, r.direction, r.priority), []).append(r)
        return out

    before, after = group(old.policy.rules), group(new.policy.rules)
    for k in sorted(set(before) | set(after), key=lambda k: (k[0].value, k[1].value, k[2])):
        metric, direction, priority = k
        setting = f"{direction.value} limit, {priority.label}"
        olds = [r for r in before.get(k, []) if r not in after.get(k, [])]
        news = [r for r in after.get(k, []) if r not in before.get(k, [])]
        if len(olds) == 1 and len(news) == 1:
            record(METRIC_LABELS[metric], setting, olds[0].summary(), news[0].summary())
            continue
        for r in olds:
            record(METRIC_LABELS[metric], setting, r.summary(), None)
        for r in news:
            record(METRIC_LABELS[metric], setting, None, r.summary())
    old_base = {r.metric: r for r in old.baseline_rules}
    new_base = {r.metric: r for r in new.baseline_rules}
    for metric in sorted(set(old_base) | set(new_base), key=lambda m: m.value):
        a, b = old_base.get(metric), new_base.get(metric)
        if a != b:
            record(
                METRIC_LABELS[metric],
                "rise over baseline",
                _baseline_text(a),
                _baseline_text(b),
            )
    for f in fields(AlarmTimings):
        a_val, b_val = getattr(old.timings, f.name), getattr(new.timings, f.name)
        if a_val != b_val:
            record("alarms", f.name, _setting_text(a_val), _setting_text(b_val))
    return changes


def _setting_text(value: float | bool) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}"


def _baseline_text(rule: BaselineRule | None) -> str | None:
    if rule is None:
        return None
    text = f"+{rule.rise:g} mmHg, {rule.priority.label}"
    if rule.confirm:
        text += ", confirm by repeat"
    return text
