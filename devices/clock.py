"""Clocks that can be injected everywhere time matters.

The simulator and the console must agree on what time it is when a session runs accelerated
(``--speed``): alarm delays, the NIBP schedule and the quiet-line watchdog all run on the
simulated clock, so a 40-minute infusion replayed at x120 keeps its event order and timing.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of wall time and of a monotonic time scale, both possibly accelerated."""

    speed: float

    def now(self) -> datetime:
        """Current (possibly simulated) wall time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale that advances at ``speed`` times real time."""
        ...

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait ``seconds`` of clock time; returns True if ``stop`` was set meanwhile."""
        ...


class SystemClock:
    """The real clock: speed 1."""

    speed: float = 1.0

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep, waking early when ``stop`` is set."""
        if stop is None:
            time.sleep(max(0.0, seconds))
            return False
        return stop.wait(max(0.0, seconds))


class ScaledClock:
    """A clock that runs ``speed`` times faster than real time from a chosen start.

    Thread-safe without locks: it is immutable after construction and derives everything from
    ``time.monotonic()``.
    """

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed!r}")
        self.speed = float(speed)
        self._start = start if start is not None else datetime.now(UTC)
        self._t0 = time.monotonic()

    @property
    def start(self) -> datetime:
        """The simulated wall time at which this clock was created."""
        return self._start

    def monotonic(self) -> float:
        """Simulated seconds since the clock was created."""
        return (time.monotonic() - self._t0) * self.speed

    def now(self) -> datetime:
        """Simulated UTC wall time."""
        return self._start + timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Sleep ``seconds`` of simulated time (``seconds / speed`` of real time)."""
        real = max(0.0, seconds / self.speed)
        if stop is None:
            time.sleep(real)
            return False
        return stop.wait(real)
