"""An esketamine session's record, rebuilt from its stored events and cuff readings.

The REMS form (clinical.md G 32) is filled from what was stored, not re-typed: the dose and lot
(``esketamine_planned``), each device with its time (``device_given``), the three BP
checkpoints (from the NIBP readings, by :func:`~console.domain.esketamine.bp_checkpoints`),
the end checks with the ready-to-leave time (``end_checks``) and the end of monitoring (the
close).  One function for the live console, the headless run and the reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from console.domain.esketamine import (
    Checkpoint,
    EndChecks,
    EsketamineRecord,
    Series,
    bp_checkpoints,
)
from console.domain.session import EventKind, SessionEvent

#: Events that end the monitoring (the session's close, or its early end).
_END_KINDS = (EventKind.CLOSED.value, EventKind.ABORTED.value)
#: A physician's decision on the pre-dose gate: the vitals were not acceptable as they were.
_DECISION_KINDS = (EventKind.PHYSICIAN_REVIEW.value, EventKind.PHYSICIAN_OVERRIDE.value)


def esketamine_record(
    events: Sequence[SessionEvent],
    sbp: Series,
    dbp: Series = (),
    *,
    ended_at: datetime | None = None,
) -> EsketamineRecord | None:
    """The esketamine part of a session's record; None for an IV session.

    Args:
        events: the session's events in time order.
        sbp, dbp: its (time, value) cuff readings in time order.
        ended_at: the end of monitoring when the events do not say (a session still open:
            None, and the "before end" checkpoint stays unanswered).
    """
    plan = next((e for e in events if e.kind == EventKind.ESKETAMINE_PLANNED), None)
    if plan is None:
        return None
    devices = [e for e in events if e.kind == EventKind.DEVICE_GIVEN]
    checks_ev = [e for e in events if e.kind == EventKind.END_CHECKS]
    end_ev = next((e for e in events if e.kind in _END_KINDS), None)
    end_at = end_ev.at if end_ev is not None else ended_at
    first = devices[0].at if devices else None
    checks = EndChecks.from_data(checks_ev[-1].data) if checks_ev else None
    points = bp_checkpoints(first, end_at, sbp, dbp)
    before = [e for e in events if first is not None and e.at <= first]
    decided = any(e.kind in _DECISION_KINDS for e in before)
    overridden = any(e.kind == EventKind.DISCHARGE_OVERRIDE for e in events)
    closed = end_ev is not None and end_ev.kind == EventKind.CLOSED.value
    steps = [*devices, *checks_ev, *([end_ev] if end_ev is not None else [])]
    return EsketamineRecord(
        dose_mg=float(plan.data["dose_mg"]),
        devices_planned=int(plan.data["devices"]),
        lot=str(plan.data["lot"]),
        devices_given_at=tuple(e.at for e in devices),
        device_warnings=tuple(e.text for e in devices if e.text),
        first_device_at=first,
        end_of_monitoring_at=end_at,
        bp_before_dosing=points[Checkpoint.BEFORE_DOSING],
        bp_at_40_min=points[Checkpoint.AT_40_MIN],
        bp_before_end=points[Checkpoint.BEFORE_END],
        end_checks=checks,
        vitals_acceptable_before_dosing=None if first is None else not decided,
        vitals_acceptable_before_completion=not overridden if closed else None,
        monitored_by=tuple(dict.fromkeys(e.author for e in steps if e.author)),
    )


__all__ = ["esketamine_record"]
