"""Faults a simulated monitor can be told to show: on the wire and in the device's own flags.

A scenario director flips these switches on the session timeline; every virtual monitor reads
them when it builds its next message, so faults look exactly as a real monitor's would (invalid
markers, a stepped device clock, corrupted frames), not like doctored numbers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from devices.model import Metric, ReadingFlag


class Corruption(enum.StrEnum):
    """How to damage one outgoing frame."""

    CHECKSUM = "checksum"  # one payload byte changed: the frame check fails
    TRUNCATE = "truncate"  # the second half of the frame never arrives


@dataclass(slots=True)
class MonitorFaults:
    """Mutable fault switches of one virtual monitor (set by the director's thread)."""

    #: SpO2 probe off the finger: the monitor reports no SpO2/PR (and its sensor-off status).
    sensor_off: bool = False
    #: The monitor stops talking (frozen, or its serial output disabled) without a cable fault.
    silent: bool = False
    #: Seconds added to the device's own clock (a clock step, DST, a wrong time set on it).
    clock_offset_s: float = 0.0
    #: Device validity flags forced on a metric's value (invalid, questionable, demo...).
    flags: dict[Metric, ReadingFlag] = field(default_factory=dict)
    #: Corruptions to apply to the next outgoing frames, in order.
    corrupt_next: list[Corruption] = field(default_factory=list)

    def take_corruption(self) -> Corruption | None:
        """The corruption for the frame being sent now, if any."""
        return self.corrupt_next.pop(0) if self.corrupt_next else None


class FaultableMonitor(Protocol):
    """A virtual monitor that honours :class:`MonitorFaults`."""

    faults: MonitorFaults


def corrupt_frame(frame: bytes, how: Corruption, *, keep_head: int = 1) -> bytes:
    """Damage a framed message the way a noisy line does.

    Args:
        frame: the complete framed message.
        how: the kind of damage.
        keep_head: bytes at the start never touched (the opening flag), so the receiver still
            sees a frame start and must reject the frame by its check, not by luck.
    """
    if len(frame) <= keep_head + 2:
        return frame
    if how is Corruption.TRUNCATE:
        return frame[: max(keep_head + 1, len(frame) // 2)]
    mid = keep_head + (len(frame) - keep_head) // 2
    damaged = bytearray(frame)
    # Flip a low bit: never turns a byte into a flag or escape of the common framings by itself
    # unless it already was one; pick a neighbour if it would.
    for i in (mid, mid + 1, mid - 1, mid + 2):
        candidate = damaged[i] ^ 0x01
        if candidate not in (0x7E, 0x7D, 0xC0, 0xC1, 0x0B, 0x1C, 0x0D, 0x0A) and damaged[i] not in (
            0x7E,
            0x7D,
            0xC0,
            0xC1,
            0x0B,
            0x1C,
            0x0D,
            0x0A,
        ):
            damaged[i] = candidate
            break
    return bytes(damaged)
