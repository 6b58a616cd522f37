"""The only place where other threads hand data to the Qt GUI thread.

Runner threads, the storage writer for its health and the database workers for their results
(console.services.db_tasks) put items on a ``SimpleQueue`` (never blocks, never touches Qt); a
~20 Hz QTimer on the GUI thread drains it and emits typed signals carrying batches, at once
when an alarm, the storage health or a database result arrives.  One crossing, one set of
rules: the wake-up is always queued, so no slot runs on the thread that posts (issue 13; test:
tests/console/services/test_one_crossing.py).  Batching bounds the Qt
event queue however fast a device talks, and lets tests call :meth:`DeviceBridge.drain`
synchronously (design.md, Threads).
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from console.domain.alarms import AlarmEvent
from console.domain.pipeline import ChairOutputs
from devices.model import DeviceState, Reading, TechnicalEvent

DRAIN_INTERVAL_MS = 50


class DeviceBridge(QObject):
    """Thread-safe inbox for one chair, drained on the GUI thread.

    Signals:
        sig_readings_received(list): readings that arrived since the last drain.
        sig_alarms_changed(list): alarm transitions since the last drain, in order.
        sig_technical_received(list): technical events since the last drain.
        sig_state_changed(str): the newest link state (a ``DeviceState`` value).
        sig_storage_status(bool, str): the storage writer's health (database reachable?,
            and why not), each change in order.

    Calls posted with :meth:`post_call` run at the end of a drain, in order.
    """

    sig_readings_received = Signal(list)
    """Readings that arrived since the last drain."""
    sig_alarms_changed = Signal(list)
    """Alarm transitions since the last drain, in order."""
    sig_technical_received = Signal(list)
    """Technical events since the last drain."""
    sig_state_changed = Signal(str)
    """The newest link state."""
    sig_storage_status = Signal(bool, str)
    """The storage writer's health: database reachable?, and why not."""
    _sig_wake = Signal()
    """Emitted from a runner thread: Qt queues it to the GUI thread, which drains at once."""

    def __init__(self, parent: QObject | None = None, *, name: str = "bridge") -> None:
        super().__init__(parent)
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setObjectName(f"{name}-drain")
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self.drain)
        # Alarm changes must not wait for the next periodic drain (up to 50 ms): the banner
        # has a 60 ms budget from the wire (issue 5).  Always queued, also when the GUI thread
        # itself posts (an acknowledge): the pipeline posts under its lock, and a direct call
        # would run every alarm slot of the screen under it while the device thread waits
        # (issue 13).
        self._sig_wake.connect(self.drain, Qt.ConnectionType.QueuedConnection)

    def outputs(self) -> ChairOutputs:
        """Callables for the chair pipeline, safe to call from the runner thread."""
        return ChairOutputs(
            readings=lambda rs: self._inbox.put(("r", rs)),
            alarms=self._post_alarms,
            technical=lambda ev: self._inbox.put(("t", ev)),
            state=lambda st: self._inbox.put(("s", st)),
        )

    def _post_alarms(self, events: list[AlarmEvent]) -> None:
        self._inbox.put(("a", events))
        self._sig_wake.emit()

    def post_storage_status(self, healthy: bool, detail: str) -> None:
        """The storage writer's ``on_status`` (its thread): shown at once, like an alarm."""
        self._inbox.put(("w", (healthy, detail)))
        self._sig_wake.emit()

    def post_call(self, call: Callable[[], None]) -> None:
        """Run ``call`` on the GUI thread at the next drain (a database worker's result,
        any thread); the GUI thread is woken at once."""
        self._inbox.put(("c", call))
        self._sig_wake.emit()

    def start(self) -> None:
        """Start draining periodically."""
        self._timer.start()

    def stop(self) -> None:
        """Stop draining (pending items stay until the next :meth:`drain`)."""
        self._timer.stop()

    def drain(self, *, calls: bool = True) -> None:
        """Emit everything queued so far as batched signals, then run the posted calls.

        Args:
            calls: False leaves the posted calls queued for the next drain (the chair drains
                its alarm events in the middle of a nurse's action, where a database result
                of another request must not run).
        """
        readings: list[Reading] = []
        alarms: list[AlarmEvent] = []
        technical: list[TechnicalEvent] = []
        state: DeviceState | None = None
        storage: list[tuple[bool, str]] = []
        posted: list[Callable[[], None]] = []
        while True:
            try:
                tag, payload = self._inbox.get_nowait()
            except queue.Empty:
                break
            if tag == "r":
                readings.extend(payload)
            elif tag == "a":
                alarms.extend(payload)
            elif tag == "t":
                technical.append(payload)
            elif tag == "w":
                storage.append(payload)
            elif tag == "c":
                posted.append(payload)
            else:
                state = payload
        if technical:
            self.sig_technical_received.emit(technical)
        if readings:
            self.sig_readings_received.emit(readings)
        if alarms:
            self.sig_alarms_changed.emit(alarms)
        if state is not None:
            self.sig_state_changed.emit(state.value)
        for healthy, detail in storage:
            self.sig_storage_status.emit(healthy, detail)
        if not calls:
            for call in posted:  # run by the drain after the current slot returns
                self.post_call(call)
            return
        for i, call in enumerate(posted):
            try:
                call()
            except BaseException:
                for later in posted[i + 1 :]:  # a failing call does not lose the ones after it
                    self.post_call(later)
                raise
