"""The plausibility gate: numbers no patient can have are not patient data.

Three of the four wire formats carry a checksum, yet a value can still be impossible: Masimo
lines have no checksum at all (one bit flip gave SpO2 898 and PR 872), and an HL7 gateway
happily sends ``HR -72``.  Every reading a driver produces passes :func:`screen` on the link's
thread (:class:`~devices.runner.DeviceRunner` and the MLLP listener's connections) before it
reaches the console: a value outside :data:`PHYSIOLOGICAL_BOUNDS`, or not finite, is kept for
the record but marked invalid with :attr:`~devices.model.ReadingFlag.IMPLAUSIBLE`, so it is
never shown or alarmed on, and it is counted and logged as a frame error.

The bounds are deliberately wide — the widest any supported monitor reports (asystole is
HR 0 and must still alarm) — so a real extreme value is never hidden; they only reject what a
human body cannot produce.  (The console's ``PLAUSIBLE_RANGE`` for alarm *limits* is narrower
on purpose: it catches configuration typos, not measurements.)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Final

from devices.base import DriverOutput
from devices.errors import ProtocolError
from devices.model import Metric, Reading, ReadingFlag

#: Inclusive (low, high) per metric, in the metric's UCUM unit (``METRIC_UNITS``).
PHYSIOLOGICAL_BOUNDS: Final[dict[Metric, tuple[float, float]]] = {
    Metric.HR: (0.0, 350.0),
    Metric.PR: (0.0, 350.0),
    Metric.SPO2: (0.0, 100.0),
    Metric.RR: (0.0, 150.0),
    Metric.NIBP_SYS: (10.0, 300.0),
    Metric.NIBP_DIA: (5.0, 250.0),
    Metric.NIBP_MEAN: (5.0, 280.0),
    Metric.TEMP: (10.0, 50.0),
}


def is_plausible(metric: Metric, value: float) -> bool:
    """True when ``value`` (in the metric's unit) is a number a patient can have."""
    low, high = PHYSIOLOGICAL_BOUNDS[metric]
    return math.isfinite(value) and low <= value <= high


def mark_implausible(reading: Reading) -> Reading:
    """``reading`` made invalid with the IMPLAUSIBLE flag (its value is kept for the record)."""
    flags = (
        reading.flags
        if ReadingFlag.IMPLAUSIBLE in reading.flags
        else (
            *reading.flags,
            ReadingFlag.IMPLAUSIBLE,
        )
    )
    return dataclasses.replace(reading, valid=False, flags=flags)


def screen(out: DriverOutput, raw: bytes = b"") -> None:
    """Invalidate the implausible readings of ``out`` in place, one frame error each.

    Readings the device already flagged invalid, and markers without a number, pass unchanged:
    the device said so itself.

    Args:
        out: what a driver made of one chunk.
        raw: the chunk, for the error's hex dump.
    """
    for index, reading in enumerate(out.readings):
        value = reading.value
        if not reading.valid or value is None or is_plausible(reading.metric, value):
            continue
        low, high = PHYSIOLOGICAL_BOUNDS[reading.metric]
        out.readings[index] = mark_implausible(reading)
        out.errors.append(
            ProtocolError(
                f"implausible {reading.metric.value} {value:g} {reading.unit} "
                f"(physiological range {low:g}..{high:g}): kept as invalid",
                raw,
            )
        )
