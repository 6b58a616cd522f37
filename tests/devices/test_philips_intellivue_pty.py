"""The whole IntelliVue conversation through a real pseudo-terminal.

simulator -> pty -> pyserial -> DeviceRunner -> IntelliVueDriver, and the driver's association,
MDS create result, poll renewals, keep-alives and release back the other way.  No mocks.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from devices.clock import ScaledClock
from devices.drivers.philips_intellivue import IntelliVueDriver, Phase
from devices.model import DeviceState, Metric, TechnicalEventKind
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.intellivue_monitor import (
    IntelliVueMonitorSim,
    SimPhase,
    start_intellivue_on_pty,
)
from devices.simulator.pty_endpoint import PtyEndpoint
from tests.devices.sinks import RecordingSink

#: Simulated seconds per real second: a 20-s poll period passes in 0.67 s.
SPEED = 30
POLL_PERIOD_S = 20.0


def _monitor(endpoint: PtyEndpoint) -> IntelliVueMonitorSim:
    monitor = endpoint.monitor
    assert isinstance(monitor, IntelliVueMonitorSim)
    return monitor


def _start(
    clock: ScaledClock, *, seed: int, nibp_interval_s: float = 300.0
) -> tuple[PtyEndpoint, IntelliVueDriver, RecordingSink, DeviceRunner]:
    endpoint = start_intellivue_on_pty(
        clock, seed=seed, nibp_interval_s=nibp_interval_s, name="sim-intellivue"
    )
    driver = IntelliVueDriver("chair-iv", poll_period_s=POLL_PERIOD_S, renew_before_s=10.0)
    sink = RecordingSink()
    link = LinkConfig(endpoint.path, 115200, "N", device_id="chair-iv")
    runner = DeviceRunner(driver, link, sink, clock=clock, name="runner-intellivue")
    runner.start()
    return endpoint, driver, sink, runner


def _eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    """Wait for a condition on another thread's object that has no notification of its own."""
    deadline = threading.Event()
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return True
        deadline.wait(0.01)
    return condition()


def _latest_time(sink: RecordingSink, metric: Metric) -> datetime | None:
    times = [r.device_time for r in sink.usable(metric) if r.device_time is not None]
    return max(times) if times else None


def test_whole_conversation_polls_renewed_unplug_and_replug() -> None:
    clock = ScaledClock(SPEED)
    start = clock.now()
    endpoint, driver, sink, runner = _start(clock, seed=5, nibp_interval_s=60.0)
    monitor = _monitor(endpoint)
    try:
        # Well past three poll periods of simulated time, with a cuff measurement on the way.
        beyond = start + timedelta(seconds=3.5 * POLL_PERIOD_S)
        assert sink.wait_for(
            lambda s: (
                (_latest_time(s, Metric.HR) or start) > beyond
                and len(s.usable(Metric.NIBP_SYS)) >= 1
            ),
            timeout_s=15,
        )
        assert monitor.extended_polls_seen >= 4  # first poll + renewals every 10 s
        assert monitor.associations == 1
        assert driver.phase is Phase.ASSOCIATED

        endpoint.unplug()
        assert sink.wait_for(lambda s: bool(s.disconnects()), timeout_s=10)
        associations = monitor.associations
        endpoint.replug()
        n = len(sink.readings)
        # The runner reopens the same path and the driver associates again.
        assert sink.wait_for(lambda s: len(s.usable(Metric.HR)) > 0 and len(s.readings) > n + 20)
        assert monitor.associations > associations
    finally:
        runner.stop()
        endpoint.stop()

    assert runner.frame_errors == 0
    hr = sink.usable(Metric.HR)
    assert all(40 < (r.value or 0) < 130 for r in hr)
    assert all(90 <= (r.value or 0) <= 100 for r in sink.usable(Metric.SPO2))
    # Before the unplug numerics arrived once per simulated second without a gap: the
    # 20-s poll never lapsed.
    before = sorted(r.device_time for r in hr if r.device_time and r.device_time <= beyond)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(before)]
    assert max(gaps) <= 2.0
    nibp = sink.usable(Metric.NIBP_SYS)
    assert len({r.device_time for r in nibp}) == len(nibp)  # once per cuff measurement
    assert {e.kind for e in sink.events} >= {
        TechnicalEventKind.CONNECTED,
        TechnicalEventKind.DISCONNECTED,
    }
    assert DeviceState.STREAMING in sink.states
    assert sink.states[-1] is DeviceState.STOPPED


def test_stopping_the_runner_releases_the_association() -> None:
    clock = ScaledClock(SPEED)
    endpoint, _driver, sink, runner = _start(clock, seed=2)
    monitor = _monitor(endpoint)
    try:
        assert sink.wait_for(lambda s: len(s.readings) > 10)
        runner.stop()
        # The release request travels over the pty; wait for the simulator to have acted on it.
        assert _eventually(lambda: monitor.releases_seen == 1 and monitor.phase is SimPhase.IDLE)
    finally:
        runner.stop()
        endpoint.stop()


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff" * 50,
        b"\xc0\xc0\xc1\x7d\xc1",
        b"\xc0\x11\x01\x00\x10" + b"\x41" * 40 + b"\xc1",  # bad FCS
    ],
)
@pytest.mark.expected_log(
    "devices.runner",
    r"^runner-intellivue: frame error #\d+: IntelliVue frame rejected: (frame of 0 bytes "
    r"is shorter than 6|FCS 0x4141 != computed)",
)
def test_garbage_on_the_line_is_counted_and_streaming_continues(garbage: bytes) -> None:
    clock = ScaledClock(SPEED)
    endpoint, driver, sink, runner = _start(clock, seed=1)
    try:
        assert sink.wait_for(lambda s: len(s.readings) > 10)
        endpoint.inject(garbage)
        n = len(sink.readings)
        assert sink.wait_for(lambda s: len(s.readings) > n + 20)
    finally:
        runner.stop()
        endpoint.stop()
    # Garbage never cost the association (a quiet-line re-association on a loaded machine
    # would not be reported as a disconnect, so this does not flake).
    assert not sink.disconnects()
    assert driver.phase is Phase.RELEASING  # runner.stop() released the association
    if b"\x41" in garbage:
        assert runner.frame_errors >= 1
