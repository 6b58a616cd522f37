"""Masimo end to end through a real pty: simulator -> pty -> pyserial -> runner -> driver.

No mocks: the simulated Radical-7 writes its ASCII lines on the pty master and the runner opens
the slave path with pyserial exactly as it would a USB-serial adapter.
"""

from __future__ import annotations

from typing import cast

import pytest

from devices.clock import ScaledClock
from devices.drivers.masimo_radical import MasimoDriver
from devices.model import DeviceState, Metric, TechnicalEventKind
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.masimo_monitor import MasimoMonitorSim, start_masimo_on_pty
from tests.devices.sinks import RecordingSink


def _runner(path: str, sink: RecordingSink, clock: ScaledClock) -> DeviceRunner:
    link = LinkConfig(path, MasimoDriver.default_baud, MasimoDriver.parity, device_id="chair-m")
    return DeviceRunner(MasimoDriver("chair-m"), link, sink, clock=clock, name="runner-masimo")


def _count(sink: RecordingSink, kind: TechnicalEventKind) -> int:
    return sum(1 for e in sink.events if e.kind is kind)


def test_lines_arrive_through_a_real_pty_and_survive_unplugging() -> None:
    clock = ScaledClock(20)
    endpoint = start_masimo_on_pty(clock, seed=3)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        assert sink.wait_for(lambda s: len(s.values(Metric.SPO2)) >= 10)
        endpoint.unplug()
        assert sink.wait_for(lambda s: _count(s, TechnicalEventKind.DISCONNECTED) >= 1)
        endpoint.replug()
        n = len(sink.values(Metric.PR))
        assert sink.wait_for(lambda s: len(s.values(Metric.PR)) >= n + 10, timeout_s=15)
    finally:
        runner.stop()
        endpoint.stop()
    assert endpoint.device_path.startswith("/dev/pts/")
    assert runner.frame_errors == 0  # a partial first line after replugging is not an error
    assert all(90 <= v <= 100 for v in sink.values(Metric.SPO2))
    assert all(40 < v < 130 for v in sink.values(Metric.PR))
    assert _count(sink, TechnicalEventKind.CONNECTED) >= 2
    assert DeviceState.STREAMING in sink.states
    assert sink.states[-1] is DeviceState.STOPPED
    assert all(r.device_id == "chair-m" for r in sink.readings)


def test_sensor_off_through_the_pty_is_one_event_and_invalid_readings() -> None:
    clock = ScaledClock(20)
    endpoint = start_masimo_on_pty(clock, seed=1)
    monitor = cast(MasimoMonitorSim, endpoint.monitor)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        assert sink.wait_for(lambda s: len(s.values(Metric.SPO2)) >= 3)
        monitor.set_sensor_off(True)
        assert sink.wait_for(lambda s: _count(s, TechnicalEventKind.SENSOR_OFF) == 1)
        off_from = len(sink.readings)
        assert sink.wait_for(lambda s: len(s.readings) >= off_from + 10)
        monitor.set_sensor_off(False)
        usable = len(sink.values(Metric.SPO2))
        assert sink.wait_for(lambda s: len(s.values(Metric.SPO2)) >= usable + 3)
    finally:
        runner.stop()
        endpoint.stop()
    assert _count(sink, TechnicalEventKind.SENSOR_OFF) == 1
    off_readings = sink.readings[off_from : off_from + 10]
    assert all(r.value is None and not r.valid for r in off_readings)
    # The line is not silent while the sensor is off, so the link never goes quiet.
    assert _count(sink, TechnicalEventKind.QUIET) == 0


@pytest.mark.expected_log(
    "devices.runner",
    r"^runner-masimo: frame error #\d+: Masimo line longer than 512 bytes without CR/LF",
)
@pytest.mark.expected_log(
    "devices.runner",
    r"^runner-masimo: frame error #\d+: Masimo line does not start with MM/DD/YY HH:MM:SS",
)
def test_garbage_on_the_line_is_counted_and_streaming_continues() -> None:
    clock = ScaledClock(20)
    endpoint = start_masimo_on_pty(clock, seed=2)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        assert sink.wait_for(lambda s: len(s.readings) >= 6)
        endpoint.inject(b"\r\n\x00\xff noise \xfe\r\n" + b"A" * 2000)
        n = len(sink.readings)
        assert sink.wait_for(lambda s: len(s.readings) >= n + 10)
    finally:
        runner.stop()
        endpoint.stop()
    assert 1 <= runner.frame_errors <= 3
    assert any(e.kind is TechnicalEventKind.FRAME_ERROR for e in sink.events)
