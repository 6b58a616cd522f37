"""HL7 over a serial line, end to end through a real pty: gateway sim -> pty -> runner -> driver.

The runner writes the driver's ACKs back on the same pty, so the simulated gateway sees exactly
what a real one would.
"""

from __future__ import annotations

from typing import cast

import pytest

from devices.clock import ScaledClock
from devices.drivers.hl7_gateway import Hl7Driver
from devices.model import DeviceState, Metric, TechnicalEventKind
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.hl7_gateway_sim import Hl7GatewaySim, start_hl7_on_pty
from tests.devices.sinks import RecordingSink


def _runner(path: str, sink: RecordingSink, clock: ScaledClock) -> DeviceRunner:
    link = LinkConfig(path, Hl7Driver.default_baud, Hl7Driver.parity, device_id="chair-h")
    return DeviceRunner(Hl7Driver("chair-h"), link, sink, clock=clock, name="runner-hl7")


def test_messages_arrive_are_acknowledged_and_survive_unplugging() -> None:
    clock = ScaledClock(60)
    endpoint = start_hl7_on_pty(clock, seed=4, interval_s=5.0, nibp_interval_s=60.0)
    gateway = cast(Hl7GatewaySim, endpoint.monitor)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        # The first cuff cycle completes 60 s into the session (1 s real at x60).
        assert sink.wait_for(lambda s: len(s.values(Metric.NIBP_SYS)) >= 1)
        acked_before = len(gateway.acked_ids)
        endpoint.unplug()
        assert sink.wait_for(
            lambda s: any(e.kind is TechnicalEventKind.DISCONNECTED for e in s.events)
        )
        endpoint.replug()
        n = len(sink.values(Metric.HR))
        assert sink.wait_for(lambda s: len(s.values(Metric.HR)) >= n + 5, timeout_s=15)
    finally:
        runner.stop()
        endpoint.stop()
    assert acked_before >= 4
    # Every message the runner decoded was acknowledged on the wire (ACKs are written back by
    # the runner); messages lost while unplugged were never received, so never acknowledged.
    received = len(sink.values(Metric.HR))
    assert len(gateway.acked_ids) >= received - 1
    assert {code for code, _ in gateway.acks} == {"AA"}
    assert runner.frame_errors == 0
    nibp = [r for r in sink.readings if r.metric is Metric.NIBP_SYS]
    assert nibp
    assert len({r.device_time for r in nibp}) == len(nibp)  # each cuff result once
    assert sink.values(Metric.PR) == sink.values(Metric.HR)
    assert DeviceState.STREAMING in sink.states
    assert sink.states[-1] is DeviceState.STOPPED


@pytest.mark.expected_log(
    "devices.runner", r"^runner-hl7: frame error #\d+: not an HL7 message: does not start with MSH"
)
def test_garbage_on_the_serial_line_is_answered_and_streaming_continues() -> None:
    clock = ScaledClock(20)
    endpoint = start_hl7_on_pty(clock, seed=1, interval_s=2.0)
    gateway = cast(Hl7GatewaySim, endpoint.monitor)
    sink = RecordingSink()
    runner = _runner(endpoint.path, sink, clock)
    runner.start()
    try:
        assert sink.wait_for(lambda s: len(s.values(Metric.HR)) >= 2)
        endpoint.inject(b"\x00\xffnoise\x0bnot hl7 at all\x1c\x0d")
        n = len(sink.values(Metric.HR))
        assert sink.wait_for(lambda s: len(s.values(Metric.HR)) >= n + 3)
    finally:
        runner.stop()
        endpoint.stop()
    assert runner.frame_errors == 1
    assert ("AR", "") in gateway.acks
