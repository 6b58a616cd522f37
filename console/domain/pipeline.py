"""What happens to a chair's data on its runner thread: evaluate alarms, then fan out.

The pipeline implements the device layer's ``LinkSink``; the console plugs it into a
``DeviceRunner``.  It is Qt-free, so alarm detection never waits for the GUI thread, and tests
drive it with plain lists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from console.domain.alarms import AlarmEvaluator, AlarmEvent, AlarmPolicy
from devices.model import DeviceState, Reading, TechnicalEvent


@dataclass(frozen=True, slots=True)
class ChairOutputs:
    """Where a chair's results go; each callable is invoked on the runner thread."""

    readings: Callable[[list[Reading]], None]
    alarms: Callable[[list[AlarmEvent]], None]
    technical: Callable[[TechnicalEvent], None]
    state: Callable[[DeviceState], None]


class ChairPipeline:
    """Readings -> alarm evaluation -> outputs, for one chair."""

    def __init__(self, policy: AlarmPolicy, outputs: list[ChairOutputs]) -> None:
        self.evaluator = AlarmEvaluator(policy)
        self.outputs = outputs
        self._lock = threading.Lock()  # policy swaps come from the GUI thread

    def set_policy(self, policy: AlarmPolicy) -> None:
        """Swap in new limits atomically."""
        with self._lock:
            self.evaluator.set_policy(policy)

    def on_readings(self, readings: list[Reading]) -> None:
        """Evaluate and forward a batch of readings."""
        with self._lock:
            events = self.evaluator.evaluate(readings)
        for out in self.outputs:
            out.readings(readings)
            if events:
                out.alarms(events)

    def on_event(self, event: TechnicalEvent) -> None:
        """Forward a technical event."""
        for out in self.outputs:
            out.technical(event)

    def on_state(self, state: DeviceState) -> None:
        """Forward a link state change."""
        for out in self.outputs:
            out.state(state)
