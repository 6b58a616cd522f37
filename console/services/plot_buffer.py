"""Fixed-size numpy ring buffers for trend curves.

Appending is O(1) and never allocates, and a redraw reads a contiguous view: this is what keeps
16 chairs' trends cheap (shared/performance.md: ring buffers plus "only set what changed" cost a
tenth of redrawing whole lists).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
#: An empty series (a metric with nothing stored).
NO_SAMPLES: FloatArray = np.empty(0, dtype=np.float64)


class RingBuffer:
    """(x, y) samples in arrival order, keeping the newest ``capacity``."""

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._start = 0
        self._size = 0
        #: Incremented on every change, so a redraw can skip unchanged curves.
        self.version = 0

    def __len__(self) -> int:
        return self._size

    def append(self, x: float, y: float) -> None:
        """Add a sample; the oldest is overwritten when full."""
        end = (self._start + self._size) % self.capacity
        self._x[end] = x
        self._y[end] = y
        if self._size < self.capacity:
            self._size += 1
        else:
            self._start = (self._start + 1) % self.capacity
        self.version += 1

    def append_gap(self, x: float) -> None:
        """Break the curve at ``x`` (a NaN sample): lost data is drawn as a gap, never bridged."""
        if self._size and not np.isnan(self.last_y()):
            self.append(x, float("nan"))

    def last_y(self) -> float:
        """The newest y value (NaN when empty)."""
        if not self._size:
            return float("nan")
        return float(self._y[(self._start + self._size - 1) % self.capacity])

    def arrays(self) -> tuple[FloatArray, FloatArray]:
        """Copies of x and y in order, oldest first."""
        if self._start + self._size <= self.capacity:
            sl = slice(self._start, self._start + self._size)
            return self._x[sl].copy(), self._y[sl].copy()
        idx = (np.arange(self._size) + self._start) % self.capacity
        return self._x[idx], self._y[idx]

    def clear(self) -> None:
        """Forget every sample."""
        self._start = self._size = 0
        self.version += 1

    def put_before(self, xs: FloatArray, ys: FloatArray, *, shift_live_by: float) -> None:
        """Put stored samples ``(xs, ys)`` before the live ones, a gap between, and move the
        live ones by ``shift_live_by`` (a resumed session: its stored trend, then what was
        measured while the nurse decided, on the resumed session's time axis)."""
        live_x, live_y = self.arrays()
        self.clear()
        if len(xs):
            for x, y in zip(xs[-self.capacity :], ys[-self.capacity :], strict=True):
                self.append(float(x), float(y))
            self.append_gap(float(xs[-1]))
        for x, y in zip(live_x + shift_live_by, live_y, strict=True):
            self.append(float(x), float(y))
