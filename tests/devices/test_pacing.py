"""The paced clock: a stalled thread slows an accelerated run down and changes nothing in it.

Issue 12 item 8: at ``--speed max`` a host stall used to drop records and look like silence.
The device-level test stalls the simulator's own thread for 0.6 s real (180 simulated seconds at
x300) a few times, through the real pty path, and checks that every record arrives and that the
runner never sees a quiet line.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from devices.clock import Clock
from devices.drivers.ge_datex import DatexDriver
from devices.model import Metric, TechnicalEventKind
from devices.pacing import NO_FLOW, TO_HOST, PacedClock, flow_of
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.launch import start_datex_on_pty
from tests.devices.sinks import RecordingSink


def _wait(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def test_the_clock_stands_still_while_bytes_are_in_flight_and_at_holds() -> None:
    clock = PacedClock(1000)
    time.sleep(0.02)
    assert clock.monotonic() == 0.0  # no host has the port open yet
    clock.link_up()
    assert _wait(lambda: clock.monotonic() > 5.0)
    clock.sent(TO_HOST, 10)
    frozen = clock.monotonic()
    time.sleep(0.02)
    assert clock.monotonic() == frozen
    assert "10 bytes to host" in clock.why_held()
    clock.delivered(TO_HOST, 10)
    clock.hold("sim", frozen + 3.0)
    assert _wait(lambda: clock.monotonic() == frozen + 3.0)
    time.sleep(0.02)
    assert clock.monotonic() == frozen + 3.0  # never past a hold
    assert "held by sim" in clock.why_held()
    clock.hold("sim", None)
    assert _wait(lambda: clock.monotonic() > frozen + 10.0)


def test_a_pulled_cable_lets_time_run_and_the_replug_waits_for_the_host() -> None:
    clock = PacedClock(1000)
    clock.link_up()
    clock.sent(TO_HOST, 5)
    clock.cut(True)  # the bytes in flight went with the cable
    start = clock.monotonic()
    assert _wait(lambda: clock.monotonic() > start + 5.0)
    clock.cut(False)
    at = clock.monotonic()
    time.sleep(0.02)
    assert clock.monotonic() == at  # plugged, but nobody reads yet
    assert not clock.host_ready()
    clock.link_up()
    assert _wait(lambda: clock.monotonic() > at + 5.0)


def test_other_clocks_have_no_flow_control() -> None:
    assert flow_of(object()) is NO_FLOW
    assert NO_FLOW.host_ready()


def _stalled_simulator_run(clock: Clock) -> RecordingSink:
    """Datex through a real pty to session second 400, the simulator stalling 0.6 s real every
    100 simulated seconds; returns what the runner reported."""
    endpoint = start_datex_on_pty(clock, seed=5)
    stalls: list[int] = []
    started = clock.now()

    def stall() -> None:
        t = (clock.now() - started).total_seconds()
        if t >= 100 * (len(stalls) + 1) and len(stalls) < 3:
            stalls.append(int(t))
            time.sleep(0.6)  # the simulator's thread is not scheduled (a loaded machine)

    endpoint.tick_hooks.append(stall)
    sink = RecordingSink()
    link = LinkConfig(endpoint.path, DatexDriver.default_baud, device_id="chair-pace")
    runner = DeviceRunner(DatexDriver(interval_s=1), link, sink, clock=clock, name="runner-pace")
    runner.start()
    try:
        assert sink.wait_for(lambda s: len(s.usable(Metric.HR)) >= 400, timeout_s=30)
    finally:
        runner.stop()
        endpoint.stop()
    assert len(stalls) == 3
    return sink


def test_a_stalled_simulator_slows_the_run_down_and_loses_nothing() -> None:
    sink = _stalled_simulator_run(PacedClock(300))
    usable = sink.usable(Metric.HR)
    times = [r.device_time for r in usable if r.device_time is not None]
    assert len(times) == len(usable)  # every record carries its device time
    steps = {(b - a).total_seconds() for a, b in itertools.pairwise(times)}
    assert steps == {1.0}  # one record every second of the session: none skipped
    kinds = {e.kind for e in sink.events}
    assert TechnicalEventKind.QUIET not in kinds  # a stall is not silence
    assert TechnicalEventKind.DISCONNECTED not in kinds


def test_the_flow_is_thread_safe() -> None:
    clock = PacedClock(1000)
    clock.link_up()

    def churn() -> None:
        for _ in range(2000):
            clock.sent(TO_HOST, 3)
            clock.delivered(TO_HOST, 3)

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.idle()
