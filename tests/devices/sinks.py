"""A LinkSink for tests: records what a runner reports and lets a test wait for conditions."""

from __future__ import annotations

import threading
from collections.abc import Callable

from devices.model import DeviceState, Metric, Reading, TechnicalEvent, TechnicalEventKind


class RecordingSink:
    """Collects readings, technical events and link states (thread-safe)."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.events: list[TechnicalEvent] = []
        self.states: list[DeviceState] = []
        self._changed = threading.Condition()

    def on_readings(self, readings: list[Reading]) -> None:
        with self._changed:
            self.readings.extend(readings)
            self._changed.notify_all()

    def on_event(self, event: TechnicalEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def on_state(self, state: DeviceState) -> None:
        with self._changed:
            self.states.append(state)
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[RecordingSink], bool], timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(self)`` holds; False on time-out."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout_s)

    def usable(self, metric: Metric) -> list[Reading]:
        """Readings of ``metric`` that may be shown and alarmed on."""
        with self._changed:
            return [r for r in self.readings if r.metric is metric and r.usable]

    def values(self, metric: Metric) -> list[float]:
        """Values of the usable readings of ``metric``."""
        return [r.value for r in self.usable(metric) if r.value is not None]

    def disconnects(self) -> list[TechnicalEvent]:
        """Every DISCONNECTED event so far."""
        with self._changed:
            return [e for e in self.events if e.kind is TechnicalEventKind.DISCONNECTED]
