"""The 40-minute BP checkpoint (clinical.md C 13, b3): one rule for the live strip and the review.

The live strip took the first reading in the 35-45 min window (203 at 37 min) while the review
took the one nearest 40 min (201/111 at 42 min): two answers for one checkpoint (issue 11
item 9).  The rule, used by both: the checkpoint is answered by the *first* valid NIBP reading
taken 35-45 minutes after the infusion start.  It is the only rule the live screen can apply
(it cannot know whether a nearer reading will come), and once answered it never changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: The window after the infusion start, in minutes (clinical.md C 13).
CHECKPOINT_WINDOW_MIN = (35.0, 45.0)
#: The DBP of the same cuff reading is stored with (almost) the same time as its SBP.
SAME_READING_MIN = 0.5


@dataclass(frozen=True, slots=True)
class CheckpointReading:
    """The reading that answers the checkpoint: minutes after the infusion start, SBP, DBP."""

    minutes: float
    sbp: float
    dbp: float | None

    def text(self) -> str:
        """``203/118 at 37 min`` (whole numbers, as every BP on screen)."""
        bp = f"{self.sbp:.0f}" + ("" if self.dbp is None else f"/{self.dbp:.0f}")
        return f"{bp} at {self.minutes:.0f} min"


def checkpoint_reading(
    sbp_minutes: Sequence[float],
    sbp: Sequence[float],
    dbp_minutes: Sequence[float] = (),
    dbp: Sequence[float] = (),
) -> CheckpointReading | None:
    """The first valid SBP 35-45 min after the infusion start, with the DBP of that reading.

    Args:
        sbp_minutes, sbp: SBP readings, times in minutes after the infusion start, in time
            order; NaN marks a value the device flagged.
        dbp_minutes, dbp: the same for DBP.

    Returns:
        The answering reading, or None while (or if) the window has none.
    """
    lo, hi = CHECKPOINT_WINDOW_MIN
    for m, v in zip(sbp_minutes, sbp, strict=True):
        if lo <= m <= hi and math.isfinite(v):
            return CheckpointReading(float(m), float(v), _same_reading(m, dbp_minutes, dbp))
    return None


def _same_reading(at: float, minutes: Sequence[float], values: Sequence[float]) -> float | None:
    best: tuple[float, float] | None = None
    for m, v in zip(minutes, values, strict=True):
        gap = abs(m - at)
        if gap <= SAME_READING_MIN and math.isfinite(v) and (best is None or gap < best[0]):
            best = (gap, float(v))
    return None if best is None else best[1]
