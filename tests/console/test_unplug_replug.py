"""Unplug and replug through a real pty, with the console's own alarm pipeline (issue 12 item 14).

Measured before: the link loss was known at once (DISCONNECTED at +0.0 s) yet the
communication-lost alarm waited the full 10 s; replug to data took up to 10 s because the
runner backed off up to 8 s; an HL7 gateway pushing every 10 s sat exactly on the 10 s
threshold.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from console.config import DeviceConfig
from console.domain.alarm_events import AlarmEvent, AlarmEventKind, TechnicalAlarmKind
from console.domain.alarm_profiles import ThresholdProfile
from console.domain.pipeline import ChairOutputs, ChairPipeline
from console.services.driver_factory import build_driver
from devices.clock import SystemClock
from devices.drivers.hl7_gateway import Hl7Driver
from devices.drivers.masimo_radical import MasimoDriver
from devices.model import DeviceState, Metric, Reading, TechnicalEvent
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.masimo_monitor import start_masimo_on_pty

T0 = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


class _Watch:
    """Outputs of a pipeline with the real time of the first comm-lost onset and of data."""

    def __init__(self) -> None:
        self.readings_at: list[float] = []
        self.comm_lost_at: list[float] = []
        self.changed = threading.Condition()

    def outputs(self) -> ChairOutputs:
        return ChairOutputs(self._readings, self._alarms, self._technical, self._state)

    def _readings(self, readings: list[Reading]) -> None:
        with self.changed:
            self.readings_at += [time.monotonic()] * sum(r.usable for r in readings)
            self.changed.notify_all()

    def _alarms(self, events: list[AlarmEvent]) -> None:
        with self.changed:
            for ev in events:
                if (
                    ev.kind is AlarmEventKind.ONSET
                    and ev.technical_kind is TechnicalAlarmKind.COMM_LOST
                ):
                    self.comm_lost_at.append(time.monotonic())
            self.changed.notify_all()

    def _technical(self, event: TechnicalEvent) -> None:
        del event

    def _state(self, state: DeviceState) -> None:
        del state

    def wait(self, predicate: object, timeout_s: float) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout_s)  # type: ignore[arg-type]


def test_unplug_raises_comm_lost_at_once_and_replug_gives_data_within_3_s() -> None:
    clock = SystemClock()
    endpoint = start_masimo_on_pty(clock, seed=2)
    watch = _Watch()
    pipeline = ChairPipeline(ThresholdProfile(), [watch.outputs()], measures_nibp=False)
    link = LinkConfig(endpoint.path, MasimoDriver.default_baud, device_id="chair-u")
    runner = DeviceRunner(MasimoDriver("chair-u"), link, pipeline, clock=clock, name="runner-u")
    runner.start()
    pipeline.start_ticking(clock, name="ticker-u")
    try:
        assert watch.wait(lambda: len(watch.readings_at) >= 2, 10)
        unplugged = time.monotonic()
        endpoint.unplug()
        assert watch.wait(lambda: watch.comm_lost_at, 5)
        alarm_after_s = watch.comm_lost_at[0] - unplugged
        # Just after the old back-off's retry at ~4 s, whose next one came only at ~8 s.
        time.sleep(4.3)
        n = len(watch.readings_at)
        replugged = time.monotonic()
        endpoint.replug()
        assert watch.wait(lambda: len(watch.readings_at) > n, 10)
        data_after_s = watch.readings_at[n] - replugged
    finally:
        pipeline.stop_ticking()
        runner.stop()
        endpoint.stop()
    assert alarm_after_s < 1.0  # was 10 s: the silence threshold
    assert data_after_s < 3.0  # was up to 10 s: the back-off
    assert len(watch.comm_lost_at) == 1


def test_comm_lost_follows_the_hl7_push_interval() -> None:
    device = DeviceConfig(kind="hl7-mllp", url="/dev/ttyUSB0", push_interval_s=10.0)
    driver = build_driver(Hl7Driver, device)
    assert isinstance(driver, Hl7Driver)
    assert driver.quiet_after_s == 30.0
    watch = _Watch()
    pipeline = ChairPipeline(
        ThresholdProfile(), [watch.outputs()], started_at=T0, min_silence_real_s=0
    )
    pipeline.engine.link_gap_s = driver.quiet_after_s
    pipeline.on_state(DeviceState.STREAMING)
    # A gateway pushing every 10 s, a little late now and then, for 75 minutes.
    at = T0
    for n in range(450):
        at += timedelta(seconds=10.0 + (0.4 if n % 7 == 0 else 0.0))
        pipeline.tick(at - timedelta(seconds=0.01))
        pipeline.on_readings([Reading(Metric.HR, 72, "/min", at)])
    assert watch.comm_lost_at == []
    # A push that does not come is noticed: one missed push and the slack.
    pipeline.tick(at + timedelta(seconds=29))
    assert watch.comm_lost_at == []
    pipeline.tick(at + timedelta(seconds=31))
    assert len(watch.comm_lost_at) == 1
