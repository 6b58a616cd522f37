"""Alarm limits: priorities, limit rules, baseline-relative rules and their validation.

Plain values with no clock and no state.  The rules encode clinical.md section b2 (the default
threshold table): tiers of limits per parameter and side, a *condition delay* for continuous
signals (HR, SpO2, RR: the violation must persist before the alarm condition is declared,
clinical.md c7) and *confirm-by-repeat* for the intermittent NIBP (first reading raises the
alarm and asks for a repeat; a confirming repeat raises its priority).  Validation refuses a
limit that cannot be right (out of physiological range, wrong unit, low above high, tiers in the
wrong order) with a message naming the parameter, because a silently wrong limit is an alarm that
never comes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from devices.model import METRIC_UNITS, NIBP_METRICS, Metric

#: Short labels nurses know, for alarm messages.
METRIC_LABELS: dict[Metric, str] = {
    Metric.HR: "HR",
    Metric.PR: "PR",
    Metric.SPO2: "SpO2",
    Metric.RR: "RR",
    Metric.NIBP_SYS: "SBP",
    Metric.NIBP_DIA: "DBP",
    Metric.NIBP_MEAN: "MAP",
    Metric.TEMP: "Temp",
}

#: Plausible physiological range per metric; a limit outside it is a configuration mistake.
PLAUSIBLE_RANGE: dict[Metric, tuple[float, float]] = {
    Metric.HR: (20, 250),
    Metric.PR: (20, 250),
    Metric.SPO2: (50, 100),
    Metric.RR: (2, 60),
    Metric.NIBP_SYS: (50, 260),
    Metric.NIBP_DIA: (20, 180),
    Metric.NIBP_MEAN: (30, 200),
    Metric.TEMP: (30, 43),
}

#: Unit spellings people type, mapped to the UCUM unit each metric is decoded in.
UNIT_ALIASES: dict[str, str] = {
    "mmhg": "mm[Hg]",
    "mm[hg]": "mm[Hg]",
    "/min": "/min",
    "bpm": "/min",
    "1/min": "/min",
    "min-1": "/min",
    "breaths/min": "/min",
    "%": "%",
    "percent": "%",
    "cel": "Cel",
    "°c": "Cel",
    "degc": "Cel",
}

#: Longest condition delay accepted (s).  Longer delays hide real events (clinical.md c13 cites
#: delays of seconds, not minutes, for SpO2); the 5-min HR > 120 rule of b2 still fits.
MAX_DELAY_S = 600.0


class LimitError(ValueError):
    """A limit or alarm setting that cannot be accepted; the message names the parameter."""


class Priority(enum.IntEnum):
    """Alarm priority per IEC 60601-1-8 (clinical.md c1); higher value is more urgent."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        """Lower-case name, as stored and as written in configuration."""
        return self.name.lower()

    @property
    def marker(self) -> str:
        """Vendor-style priority prefix: ``***`` high, ``**`` medium, ``*`` low."""
        return "*" * int(self)

    @classmethod
    def parse(cls, text: str) -> Priority:
        """Priority from its configuration name."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"priority must be low, medium or high, not {text!r}") from None


class Direction(enum.StrEnum):
    """Which side of a limit is abnormal."""

    HIGH = "high"
    LOW = "low"


class AlarmCategory(enum.StrEnum):
    """Physiological (the patient) or technical (equipment, sensor, link) — clinical.md c1."""

    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"


def is_intermittent(metric: Metric) -> bool:
    """True for NIBP: one value per cuff cycle, so persistence means confirm-by-repeat (b2)."""
    return metric in NIBP_METRICS


def check_unit(metric: Metric, unit: str | None) -> None:
    """Refuse a limit given in a unit other than the one ``metric`` is measured in.

    Args:
        metric: the parameter the limit is for.
        unit: the unit the limit was entered in; None means "the metric's own unit".

    Raises:
        LimitError: ``unit`` is not the metric's unit (or a common spelling of it).
    """
    if unit is None:
        return
    expected = METRIC_UNITS[metric]
    given = UNIT_ALIASES.get(unit.strip().lower(), unit.strip())
    if given != expected:
        raise LimitError(
            f"{METRIC_LABELS[metric]} limit unit {unit!r} is wrong: "
            f"{METRIC_LABELS[metric]} is measured in {expected}"
        )


@dataclass(frozen=True, slots=True)
class LimitRule:
    """One limit tier: ``metric`` is abnormal beyond ``limit`` on side ``direction``.

    Attributes:
        metric: the parameter.
        direction: the abnormal side.
        limit: the threshold, in the metric's UCUM unit.
        priority: priority when the tier is violated (for a confirm-type tier: on the first,
            unconfirmed reading).
        inclusive: True when a value equal to ``limit`` is abnormal.
        delay_s: continuous metrics only: how long the violation must last before the alarm
            condition is declared (clinical.md b2 "persistence", c7 "alarm condition delay").
        confirm: NIBP only: confirm-by-repeat (b2): the first violating reading raises the alarm
            at ``priority`` and requests a repeat measurement.
        confirmed_priority: priority once a repeat within the confirm window also violates;
            None means "the same as ``priority``" (the repeat only confirms or ends it).
        basis: why the limit has this value when it is derived (e.g. ``"baseline 137 +40"``);
            empty for limits taken from a profile.
    """

    metric: Metric
    direction: Direction
    limit: float
    priority: Priority
    inclusive: bool = True
    delay_s: float = 0.0
    confirm: bool = False
    confirmed_priority: Priority | None = None
    basis: str = ""

    @property
    def label(self) -> str:
        """Nurse-facing name of the parameter (``SBP``, ``SpO2``)."""
        return METRIC_LABELS[self.metric]

    @property
    def priority_when_confirmed(self) -> Priority:
        """Priority after a confirming repeat."""
        return self.confirmed_priority or self.priority

    @property
    def tier_id(self) -> str:
        """Stable identity of the tier within a policy, e.g. ``NIBP_SYS:high:180:medium``."""
        return f"{self.metric.value}:{self.direction.value}:{self.limit:g}:{self.priority.label}"

    def violated_by(self, value: float) -> bool:
        """True when ``value`` is on the abnormal side of this limit."""
        if self.direction is Direction.HIGH:
            return value >= self.limit if self.inclusive else value > self.limit
        return value <= self.limit if self.inclusive else value < self.limit

    def extremeness(self) -> float:
        """Sort key: larger means further from normal on this rule's side."""
        return self.limit if self.direction is Direction.HIGH else -self.limit

    def describe(self) -> str:
        """Philips-style comparison text, e.g. ``>= 180`` (clinical.md c2 vendor practice)."""
        if self.direction is Direction.HIGH:
            op = ">=" if self.inclusive else ">"
        else:
            op = "<=" if self.inclusive else "<"
        text = f"{op} {self.limit:g}"
        return f"{text} ({self.basis})" if self.basis else text

    def summary(self) -> str:
        """Everything that defines the tier, for change records: ``> 110 for 30 s, medium``."""
        parts = [self.describe()]
        if self.delay_s:
            parts.append(f"for {self.delay_s:g} s")
        if self.confirm:
            confirmed = self.priority_when_confirmed
            parts.append(
                "confirm by repeat"
                + (f" -> {confirmed.label}" if confirmed is not self.priority else "")
            )
        return f"{' '.join(parts)}, {self.priority.label}"

    def validate(self) -> None:
        """Check this rule on its own.

        Raises:
            LimitError: out of the physiological range, delay on NIBP, confirm on a continuous
                metric, a confirmed priority below the first priority, or a bad delay.
        """
        label = self.label
        lo, hi = PLAUSIBLE_RANGE[self.metric]
        if not lo <= self.limit <= hi:
            raise LimitError(
                f"{label} limit {self.limit:g} is outside the physiological range {lo:g}-{hi:g}"
            )
        if not 0 <= self.delay_s <= MAX_DELAY_S:
            raise LimitError(f"{label} delay {self.delay_s:g} s must be 0-{MAX_DELAY_S:g} s")
        if is_intermittent(self.metric) and self.delay_s:
            raise LimitError(
                f"{label} is measured intermittently: use confirm-by-repeat, not a delay"
            )
        if self.confirm and not is_intermittent(self.metric):
            raise LimitError(
                f"{label} is continuous: confirm-by-repeat applies to NIBP only, use a delay"
            )
        if self.confirmed_priority is not None:
            if not self.confirm:
                raise LimitError(f"{label} confirmed priority is set but confirm is off")
            if self.confirmed_priority < self.priority:
                raise LimitError(
                    f"{label} confirmed priority {self.confirmed_priority.label} is below the "
                    f"first-reading priority {self.priority.label}"
                )


@dataclass(frozen=True, slots=True)
class AlarmPolicy:
    """A validated, immutable set of limit rules (the limit part of a threshold profile).

    Several tiers on the same side of one metric are allowed (SBP >= 160 low, >= 180 medium,
    >= 200 high); one alarm condition exists per metric and side and takes the priority of the
    most urgent tier violated (merging similar conditions, clinical.md c8).

    Raises:
        LimitError: a rule is invalid, a low limit is not below a high limit of the same metric,
            or a more urgent tier is less extreme than a less urgent one.
    """

    rules: tuple[LimitRule, ...] = ()

    def __post_init__(self) -> None:
        for rule in self.rules:
            rule.validate()
        for metric in {r.metric for r in self.rules}:
            label = METRIC_LABELS[metric]
            highs = [r for r in self.rules if r.metric == metric and r.direction == "high"]
            lows = [r for r in self.rules if r.metric == metric and r.direction == "low"]
            if highs and lows:
                top_low = max(r.limit for r in lows)
                bottom_high = min(r.limit for r in highs)
                if top_low >= bottom_high:
                    raise LimitError(
                        f"{label}: low limit {top_low:g} is not below high limit {bottom_high:g}"
                    )
            for side in (highs, lows):
                for a in side:
                    for b in side:
                        if a.priority > b.priority and a.extremeness() < b.extremeness():
                            raise LimitError(
                                f"{label}: {a.priority.label}-priority {a.direction} limit "
                                f"{a.limit:g} is less extreme than the {b.priority.label}-"
                                f"priority limit {b.limit:g}"
                            )
            ids = [r.tier_id for r in highs + lows]
            if len(ids) != len(set(ids)):
                raise LimitError(f"{label}: the same limit and priority is listed twice")

    def rules_for(self, metric: Metric, direction: Direction) -> list[LimitRule]:
        """The tiers of one side of one metric."""
        return [r for r in self.rules if r.metric == metric and r.direction == direction]

    def limit_lines(self, metric: Metric) -> list[LimitRule]:
        """Every limit on ``metric``, for drawing threshold lines."""
        return [r for r in self.rules if r.metric == metric]

    def metrics(self) -> frozenset[Metric]:
        """Metrics with at least one limit."""
        return frozenset(r.metric for r in self.rules)


@dataclass(frozen=True, slots=True)
class BaselineRule:
    """A limit relative to the session's pre-dose baseline (clinical.md b2, (e) item 2).

    The Spravato label measures notable BP increases as >= 40 mmHg systolic and >= 25 mmHg
    diastolic over baseline; we alarm on the same yardstick beside the absolute limits.

    Attributes:
        metric: NIBP_SYS or NIBP_DIA.
        rise: mmHg above baseline at which the tier is violated (inclusive).
        priority: priority on the first reading.
        confirm: confirm-by-repeat as for absolute NIBP limits.
        confirmed_priority: priority after a confirming repeat (None: unchanged).
    """

    metric: Metric
    rise: float
    priority: Priority = Priority.MEDIUM
    confirm: bool = True
    confirmed_priority: Priority | None = None

    def validate(self) -> None:
        """Raises LimitError for a metric without a baseline or an implausible rise."""
        if self.metric not in (Metric.NIBP_SYS, Metric.NIBP_DIA):
            raise LimitError(
                f"{METRIC_LABELS[self.metric]}: baseline-relative limits exist for SBP and DBP only"
            )
        if not 5 <= self.rise <= 100:
            raise LimitError(
                f"{METRIC_LABELS[self.metric]} rise over baseline {self.rise:g} mmHg must be "
                "5-100 mmHg"
            )
        if self.confirmed_priority is not None and self.confirmed_priority < self.priority:
            raise LimitError(
                f"{METRIC_LABELS[self.metric]} baseline confirmed priority is below its priority"
            )

    def rule_for(self, baseline_value: float) -> LimitRule:
        """The absolute tier this rule means for a given baseline value."""
        return LimitRule(
            self.metric,
            Direction.HIGH,
            round(baseline_value + self.rise, 1),
            self.priority,
            inclusive=True,
            confirm=self.confirm,
            confirmed_priority=self.confirmed_priority if self.confirm else None,
            basis=f"baseline {baseline_value:g} +{self.rise:g}",
        )


@dataclass(frozen=True, slots=True)
class Baseline:
    """The session's pre-dose vital signs (clinical.md b1/b4: readings before dosing).

    Attributes:
        sbp: systolic, mmHg.
        dbp: diastolic, mmHg.
        hr: heart rate, /min (kept for the record; no HR rule is baseline-relative yet).
        at: when the baseline was taken or set.
        source: ``"set by <user>"`` or ``"derived from N pre-dose NIBP readings"``.
    """

    sbp: float | None
    dbp: float | None
    hr: float | None
    at: datetime
    source: str

    def value_of(self, metric: Metric) -> float | None:
        """The baseline of ``metric``, if known."""
        if metric is Metric.NIBP_SYS:
            return self.sbp
        if metric is Metric.NIBP_DIA:
            return self.dbp
        if metric is Metric.HR:
            return self.hr
        return None

    def describe(self) -> str:
        """``137/84 mmHg, HR 72`` style text."""
        bp = "?/?" if self.sbp is None and self.dbp is None else f"{_g(self.sbp)}/{_g(self.dbp)}"
        hr = f", HR {self.hr:g}" if self.hr is not None else ""
        return f"{bp} mmHg{hr}"


def _g(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


#: Decimals a value is shown with (issue 11 item 9): monitors count beats, breaths, percent
#: and mmHg in whole numbers; a temperature has one decimal.  Unlisted metrics: one decimal.
VALUE_DECIMALS: dict[Metric, int] = {
    Metric.HR: 0,
    Metric.PR: 0,
    Metric.SPO2: 0,
    Metric.RR: 0,
    Metric.NIBP_SYS: 0,
    Metric.NIBP_DIA: 0,
    Metric.NIBP_MEAN: 0,
    Metric.TEMP: 1,
}


def format_value(metric: Metric | str, value: float | None) -> str:
    """``value`` as a monitor shows ``metric`` (``91.04`` SpO2 -> ``91``), ``-`` for None.

    ``metric`` may be the stored parameter name (``"SPO2"``); an unknown name gets ``:g``.
    """
    if value is None:
        return "-"
    if isinstance(metric, str):
        try:
            metric = Metric(metric)
        except ValueError:
            return f"{value:g}"
    return f"{value:.{VALUE_DECIMALS.get(metric, 1)}f}"
