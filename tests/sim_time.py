"""Expected counts derived from the simulated time a test measured, not from fixed numbers.

Why: the simulators run at x60 to x300, so one wall-clock second under load is one or more
whole NIBP cycles.  A test that allows "at most 10 readings" after waiting "about 45 minutes"
fails on a busy machine; a bound computed from the simulated seconds that actually passed
does not, and still fails if a reading is duplicated or a cycle is lost.
"""

from __future__ import annotations

import math

from devices.simulator.monitor import CUFF_MEASUREMENT_S, NibpSchedule


def cuff_cycles_done(seconds: float, schedule: NibpSchedule | None = None) -> int:
    """How many automatic cuff cycles have completed ``seconds`` into a simulated session.

    A cycle starting at ``s`` completes at ``s + CUFF_MEASUREMENT_S``; starts are
    ``first_start_s + k * interval_s``.
    """
    sched = schedule or NibpSchedule()
    first_done = sched.first_start_s + CUFF_MEASUREMENT_S
    if not math.isfinite(seconds) or seconds < first_done:
        return 0
    return int((seconds - first_done) // sched.interval_s) + 1
