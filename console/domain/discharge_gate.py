"""Whether the patient's vital signs and alarms allow discharge (issue 11 item 5).

A session was closed with "discharge checks passed" while a high DBP alarm was latched and
unacknowledged and BP was 160-167 against a baseline of 144: the checklist is the nurse's
judgement, and nothing compared it with what the monitor said.  This gate does, before the
record may close:

* no high-priority physiological alarm may be active or unacknowledged (a latched one must
  have been seen and acknowledged);
* the last NIBP must be inside every NIBP alarm limit in force, and back within
  :data:`BASELINE_BAND` (20 %) of the pre-dose baseline (clinical.md b4: recovery goes on
  until the readings are back within 20 % of baseline and below the alarm limits).

A refusal lists every reason in plain words.  A physician may override it with a reason; the
chair records that as a ``discharge_override`` event, which the review and the PDF print.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from console.domain.alarm_engine import AlarmStatus
from console.domain.alarm_rules import (
    METRIC_LABELS,
    AlarmCategory,
    AlarmPolicy,
    Direction,
    Priority,
)
from console.domain.session import IllegalTransitionError
from devices.model import Metric

#: How far from the pre-dose baseline the last NIBP may still be (fraction of the baseline).
BASELINE_BAND = 0.20


class DischargeRefusedError(IllegalTransitionError):
    """Closing was refused by the gate and no physician overrode it; the checks are kept."""


@dataclass(frozen=True, slots=True)
class DischargeGate:
    """The gate's answer: passed when there is no reason to refuse."""

    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        """True when nothing stands against discharge."""
        return not self.reasons

    def describe(self) -> str:
        """One line for the screen and the record."""
        return "discharge checks passed" if self.passed else "; ".join(self.reasons)


def assess_discharge(
    alarms: Iterable[AlarmStatus],
    *,
    policy: AlarmPolicy,
    last_nibp: tuple[float, float] | None,
    baseline: tuple[float | None, float | None] | None,
    measures_nibp: bool = True,
    session_reasons: Iterable[str] = (),
) -> DischargeGate:
    """Judge the alarms and the last cuff reading against the discharge rule.

    Args:
        alarms: the chair's listed alarms.
        policy: the limits in force (the patient's, with any change made for them).
        last_nibp: (SBP, DBP) of the last cuff reading of this session, if any.
        baseline: the pre-dose (SBP, DBP) baseline, if one was set.
        measures_nibp: False for a monitor without a cuff: only the alarms are judged.
        session_reasons: what the session type's own rules still miss (an esketamine session:
            :func:`~console.domain.esketamine.esketamine_discharge_reasons`, issue 17); none
            for an IV infusion.
    """
    reasons: list[str] = list(session_reasons)
    for a in alarms:
        if a.category is not AlarmCategory.PHYSIOLOGICAL or a.priority is not Priority.HIGH:
            continue
        if a.condition_active:
            reasons.append(f"high alarm active: {a.message}")
        elif a.acknowledged_by is None:
            reasons.append(f"high alarm not acknowledged: {a.message}")
    if not measures_nibp:
        return DischargeGate(tuple(reasons))
    if last_nibp is None:
        reasons.append("no NIBP reading in this session")
        return DischargeGate(tuple(reasons))
    sbp, dbp = last_nibp
    for metric, value in ((Metric.NIBP_SYS, sbp), (Metric.NIBP_DIA, dbp)):
        for direction in Direction:
            broken = [r for r in policy.rules_for(metric, direction) if r.violated_by(value)]
            if broken:
                worst = max(broken, key=lambda r: r.extremeness())
                reasons.append(
                    f"last NIBP {sbp:.0f}/{dbp:.0f}: {METRIC_LABELS[metric]} {value:.0f} "
                    f"{worst.describe()}"
                )
    base_sbp, base_dbp = baseline or (None, None)
    for label, value, base in (("SBP", sbp, base_sbp), ("DBP", dbp, base_dbp)):
        if base and abs(value - base) > BASELINE_BAND * base:
            reasons.append(
                f"last NIBP {sbp:.0f}/{dbp:.0f}: {label} {value:.0f} not within "
                f"{BASELINE_BAND:.0%} of baseline {base:.0f}"
            )
    return DischargeGate(tuple(reasons))


__all__ = ["BASELINE_BAND", "DischargeGate", "DischargeRefusedError", "assess_discharge"]
