"""The production read path through a real pseudo-terminal: simulator -> pty -> pyserial -> driver.

No mocks: the simulator writes DRI bytes on the pty master and the runner opens the slave path
with pyserial exactly as it would open a USB-serial adapter.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from devices.clock import ScaledClock
from devices.drivers.ge_datex import DatexDriver
from devices.model import DeviceState, Metric, TechnicalEventKind
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.launch import start_datex_on_pty
from devices.simulator.monitor import NibpSchedule
from tests.devices.sinks import RecordingSink
from tests.sim_time import cuff_cycles_done


def _runner(path: str, sink: RecordingSink, clock: ScaledClock) -> DeviceRunner:
    link = LinkConfig(path, DatexDriver.default_baud, DatexDriver.parity, device_id="chair-test")
    return DeviceRunner(DatexDriver(interval_s=1), link, sink, clock=clock, name="runner-test")


def test_readings_arrive_through_a_real_pty() -> None:
    clock = ScaledClock(60)
    endpoint = start_datex_on_pty(clock, seed=3, nibp_interval_s=120)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        # Two NIBP cycles (first completes at 60 s, next at 180 s session time) = ~3 s real.
        assert sink.wait_for(lambda s: len(s.values(Metric.NIBP_SYS)) >= 2, timeout_s=15)
    finally:
        runner.stop()
        endpoint.stop()
    assert endpoint.device_path.startswith("/dev/pts/")
    assert runner.frame_errors == 0
    hr = sink.values(Metric.HR)
    spo2 = sink.values(Metric.SPO2)
    assert len(hr) > 100
    assert all(40 < v < 130 for v in hr)
    assert all(90 <= v <= 100 for v in spo2)
    nibp = [r for r in sink.readings if r.metric is Metric.NIBP_SYS and r.usable]
    # One reading per completed cuff cycle, never one per record: at most the cycles done in
    # the simulated time that passed until the runner stopped (more of it under load).
    elapsed_s = clock.monotonic()
    assert len(nibp) <= cuff_cycles_done(elapsed_s, NibpSchedule(interval_s=120)), elapsed_s
    assert all(r.device_time is not None for r in nibp)
    assert all(isinstance(r.received_at, datetime) for r in sink.readings)
    assert DeviceState.STREAMING in sink.states
    assert sink.states[-1] is DeviceState.STOPPED
    assert sink.events[0].kind is TechnicalEventKind.CONNECTED
    assert endpoint.monitor.requests_seen >= 1  # type: ignore[attr-defined]


def test_monitor_vanishing_is_reported_and_runner_keeps_trying() -> None:
    clock = ScaledClock(30)
    endpoint = start_datex_on_pty(clock, seed=1)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        assert sink.wait_for(lambda s: len(s.readings) > 10)
        endpoint.stop()  # the cable is pulled: the pty disappears
        assert sink.wait_for(
            lambda s: any(e.kind is TechnicalEventKind.DISCONNECTED for e in s.events)
        )
        assert runner.is_alive()  # it retries with back-off rather than dying
    finally:
        runner.stop()
    assert not runner.is_alive()
    assert DeviceState.DISCONNECTED in sink.states


def test_unplug_and_replug_reconnects_on_the_same_path() -> None:
    clock = ScaledClock(30)
    endpoint = start_datex_on_pty(clock, seed=4)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        assert sink.wait_for(lambda s: len(s.readings) > 10)
        first_device = endpoint.device_path
        endpoint.unplug()
        assert sink.wait_for(
            lambda s: any(e.kind is TechnicalEventKind.DISCONNECTED for e in s.events)
        )
        endpoint.replug()
        n = len(sink.readings)
        # The runner reopens the same path, re-sends its request, and data flow again.
        assert sink.wait_for(lambda s: len(s.readings) > n + 10, timeout_s=15)
    finally:
        runner.stop()
        endpoint.stop()
    connects = [e for e in sink.events if e.kind is TechnicalEventKind.CONNECTED]
    assert len(connects) >= 2
    assert endpoint.monitor.requests_seen >= 2  # type: ignore[attr-defined]
    assert first_device.startswith("/dev/pts/")


def test_wrong_port_gives_a_clear_event_not_a_crash() -> None:
    clock = ScaledClock(1)
    sink = RecordingSink()
    runner = _runner("/dev/does-not-exist-42", sink, clock)
    runner.start()
    try:
        assert sink.wait_for(lambda s: bool(s.events))
    finally:
        runner.stop()
    event = sink.events[0]
    assert event.kind is TechnicalEventKind.DISCONNECTED
    assert "/dev/does-not-exist-42" in event.detail
    assert not sink.readings


@pytest.mark.parametrize(
    "garbage", [b"\x00\xff" * 50, b"\x7e\x7e\x7e", b"\x7e" + b"\x41" * 400 + b"\x7e"]
)
@pytest.mark.expected_log(
    "devices.runner",
    r"^runner-test: frame error #\d+: DRI frame rejected: checksum 0x(FF|41) != computed",
)
def test_garbage_on_the_line_is_counted_and_streaming_continues(garbage: bytes) -> None:
    clock = ScaledClock(30)
    endpoint = start_datex_on_pty(clock, seed=2)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        assert sink.wait_for(lambda s: len(s.readings) > 10)
        endpoint.inject(garbage)  # on the wire, between good frames
        n = len(sink.readings)
        assert sink.wait_for(lambda s: len(s.readings) > n + 20)
    finally:
        runner.stop()
        endpoint.stop()
    assert runner.is_alive() is False
