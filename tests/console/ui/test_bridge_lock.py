"""A GUI slot never runs under the alarm pipeline's lock (issue 13).

An acknowledge (or any alarm action) from the GUI thread posts its alarm events to the
bridge while the pipeline holds its lock.  The bridge's wake-up signal was connected
directly, so on the GUI thread it drained at once: every alarm slot of the screen ran under
the lock and the device thread, delivering the next reading, waited for them.  Here a slot
that takes a second stands in for a slow screen; the device thread must not wait for it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from console.config import load
from console.domain.alarms import AlarmEvent
from console.domain.pipeline import ChairPipeline
from console.services.device_bridge import DeviceBridge
from devices.model import METRIC_UNITS, Metric, Reading

pytestmark = pytest.mark.gui

SLOW_SLOT_S = 1.0


def test_a_slow_alarm_slot_does_not_hold_up_the_device_thread(qtbot: QtBot) -> None:
    bridge = DeviceBridge(name="bridge-test")
    pipeline = ChairPipeline(load(environ={}).alarm_profile, [bridge.outputs()])
    now = datetime.now(UTC)
    reading_took: list[float] = []

    def device_thread_delivers_a_reading() -> None:
        t0 = time.monotonic()
        pipeline.on_readings([Reading(Metric.HR, 72.0, METRIC_UNITS[Metric.HR], now)])
        reading_took.append(time.monotonic() - t0)

    def slow_alarm_slot(_events: list[AlarmEvent]) -> None:
        device = threading.Thread(target=device_thread_delivers_a_reading)
        device.start()
        time.sleep(SLOW_SLOT_S)  # a screen busy painting
        device.join(10.0)

    bridge.sig_alarms_changed.connect(slow_alarm_slot)
    # A GUI-thread alarm action: it publishes an alarm event under the pipeline's lock.
    raised = pipeline.set_audio_available(False, now, "no sound device")
    assert raised
    qtbot.waitUntil(lambda: bool(reading_took), timeout=5_000)
    assert reading_took[0] < SLOW_SLOT_S / 2, (
        f"the device thread waited {reading_took[0]:.2f} s for a GUI slot"
    )
