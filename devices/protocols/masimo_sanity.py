"""Sanity checks for Masimo ASCII 1 lines, which carry no checksum (protocols.md 3.2).

The strict parser in :mod:`devices.protocols.masimo_ascii` already rejects most bit flips: a
flipped bit in a digit often gives a character that is not a digit (``8`` -> ``:``), and a
flipped ``=`` or ``%`` breaks the field syntax.  What it cannot see is a digit turned into
another digit: the fault campaign flipped one bit of ``SPO2=098%`` into ``SPO2=088%``, a false
desaturation shown as patient data.  The line itself still gives two clues, and this module
uses both, per link:

* **The serial number** (``SN=``) is the same on every line of one monitor.  A line whose SN
  differs from the monitor's was damaged on the wire and is rejected as a whole; a different SN
  that repeats on :data:`ADOPT_SERIAL_AFTER` lines in a row is a new monitor on the same cable
  and is adopted.
* **The trend values are averaged** over several seconds by the monitor, so from one line to the
  next (one second of the monitor's own clock) SpO2 and pulse rate move slowly.  A value that
  jumps more than :data:`MAX_STEP_PER_S` per second from the last accepted one is held as
  implausible until the next line confirms the new level (a real fall is confirmed one second
  later, far inside any alarm delay); a one-line spike is never shown.

What remains undetectable is a flip small enough to look like a real change (``98`` -> ``99``):
the limits below are stated so that every flip of a tens digit, and of ``8`` <-> ``0``, is seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

#: Largest change per second of the monitor's clock that averaged trend data can show.
#: Generous for real physiology (a fast desaturation falls ~1 %/s, a bradycardia onset a few
#: beats/min per second) and smaller than any tens-digit flip (10, 20, 40, 80).
MAX_STEP_PER_S: Final[dict[str, float]] = {"SPO2": 5.0, "BPM": 15.0}
#: Beyond this gap between two lines (seconds of device clock), or when the clock went back
#: (a clock reset, 3.6), there is no reference to compare with: the value starts a new one.
REFERENCE_MAX_AGE_S: Final = 30.0
#: A new serial number is believed after this many lines in a row carry it.
ADOPT_SERIAL_AFTER: Final = 3


@dataclass(slots=True)
class _Track:
    value: float
    at: datetime


class MasimoLineCheck:
    """Per-link memory of the last good line, for :meth:`check_serial` and :meth:`check_step`.

    Call :meth:`reset` when a new byte stream starts (reconnect).
    """

    def __init__(self) -> None:
        self._serial: str | None = None
        self._candidate: str | None = None
        self._candidate_lines = 0
        self._accepted: dict[str, _Track] = {}
        self._suspect: dict[str, _Track] = {}

    def reset(self) -> None:
        """Forget everything: the next line sets the references afresh."""
        self._serial = None
        self._candidate = None
        self._candidate_lines = 0
        self._accepted.clear()
        self._suspect.clear()

    def check_serial(self, serial: str | None) -> str | None:
        """Why a line with serial number ``serial`` cannot be trusted, or None when it can.

        Dashes (None) say nothing and pass.
        """
        if serial is None:
            return None
        if self._serial is None or serial == self._serial:
            self._serial = serial
            self._candidate, self._candidate_lines = None, 0
            return None
        if serial == self._candidate:
            self._candidate_lines += 1
        else:
            self._candidate, self._candidate_lines = serial, 1
        if self._candidate_lines >= ADOPT_SERIAL_AFTER:
            self._serial = serial
            self._candidate, self._candidate_lines = None, 0
            self._accepted.clear()
            self._suspect.clear()
            return None
        return f"Masimo SN={serial} differs from the monitor's SN={self._serial}: damaged line"

    def check_step(self, field: str, value: float | None, at: datetime) -> str | None:
        """Why ``value`` of ``field`` (``SPO2`` or ``BPM``) at device time ``at`` is implausible.

        None when it is plausible; it then becomes the reference.  A missing value (dashes, or a
        line the monitor flagged) is passed as None and clears the reference.
        """
        if value is None:
            self._accepted.pop(field, None)
            self._suspect.pop(field, None)
            return None
        step = MAX_STEP_PER_S[field]
        accepted = self._accepted.get(field)
        suspect = self._suspect.get(field)
        if (
            accepted is None
            or _within(accepted, value, at, step) is not False
            or (suspect is not None and _within(suspect, value, at, step))  # confirmed level
        ):
            self._accepted[field] = _Track(value, at)
            self._suspect.pop(field, None)
            return None
        self._suspect[field] = _Track(value, at)
        return (
            f"Masimo {field} jumped {accepted.value:g} -> {value:g} within "
            f"{(at - accepted.at).total_seconds():g} s of the monitor's clock: implausible for "
            "averaged trend data (a bit flip?)"
        )


def _within(track: _Track, value: float, at: datetime, step: float) -> bool | None:
    """Whether ``value`` can follow ``track`` by ``at``; None when ``track`` is no reference."""
    elapsed = (at - track.at).total_seconds()
    if not 0 < elapsed <= REFERENCE_MAX_AGE_S:
        return None
    return abs(value - track.value) <= step * max(1.0, elapsed)
