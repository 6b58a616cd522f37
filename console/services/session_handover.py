"""How a chair passes from one patient's session to the next without carrying anything over.

Issue 11 item 2: a latched, unacknowledged alarm of session A showed on the next patient's
screen and trend and was stored in the next patient's record, because the alarm engine, the
repeat requests, the baseline, the patient's limit changes and the screen's log and values
lived on across "New session".  The rule now:

* when a record ends (discharge, ending early, replaced by a new session) every alarm and
  repeat request of that session is closed *in that record*, at its end, and the patient's
  limit changes go back to the clinic default (recorded there too);
* the next record then starts clean: conditions of the monitor or the console that still
  hold (communication lost, audio unavailable) are raised again, into the new record;
* the screen forgets the last session's alarm log, values and NIBP request.

Issue 11 item 7: the simulator's scripted demo session (only in a scenario that says
``session = "scripted"``) is nobody's patient.  A nurse's New session is never refused because
the *script* started an infusion: the demo infusion is stopped, on the record, by that nurse
(:data:`DEMO_STOP_REASON`).

The engine work happens under the pipeline's lock (:meth:`ChairPipeline.hand_over`), so a
reading or tick of the runner thread cannot slip an old alarm into the new record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from console.domain.alarm_events import AlarmEvent
from console.domain.alarm_profiles import ThresholdProfile
from console.domain.pipeline import ChairPipeline

#: The stop reason recorded when a person's New session replaces the scripted demo infusion.
DEMO_STOP_REASON = "simulated demo infusion stopped: a new session was started"

#: Why the alarms of a session end with it (stored in the alarm log).
SESSION_ENDED = "session ended"


def hand_over(
    pipeline: ChairPipeline,
    clinic_profile: ThresholdProfile,
    now: datetime,
    switch: Callable[[datetime], None],
    *,
    user: str,
) -> list[AlarmEvent]:
    """Close the session's alarm state in its record, run ``switch``, then start clean."""
    return pipeline.hand_over(now, switch, profile=clinic_profile, actor=user, reason=SESSION_ENDED)


class _Screen(Protocol):
    """What a chair shows about its session (the parts :func:`start_clean` resets)."""

    alarm_log: Any
    latest: dict[Any, Any]
    last_nibp_at: datetime | None
    nibp_requested_at: datetime | None


def start_clean(chair: _Screen) -> None:
    """Forget what the screen showed of the last session: its alarm log, its values (the last
    cuff reading was the previous patient's) and its NIBP request."""
    chair.alarm_log.clear()
    chair.latest.clear()
    chair.last_nibp_at = None
    chair.nibp_requested_at = None
