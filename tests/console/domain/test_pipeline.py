"""ChairPipeline: engine wiring, the timer thread, thread-safe user actions, event order."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from console.domain.alarm_events import AlarmEvent, AlarmEventKind
from console.domain.pipeline import ChairOutputs, ChairPipeline
from devices.model import DeviceState, Metric, Reading, TechnicalEvent
from tests.console.domain.alarm_script import DEFAULT_PROFILE, T0, at, reading


class FakeClock:
    """A clock whose time the test sets; ``speed`` as the pipeline's ticker expects."""

    speed = 100.0

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, now: datetime) -> None:
        with self._lock:
            self._now = now

    def monotonic(self) -> float:
        return (self.now() - T0).total_seconds()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        return stop.wait(seconds / self.speed) if stop else False


class Recorder:
    """Collects everything the pipeline outputs, and signals on alarm events."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.alarms: list[AlarmEvent] = []
        self.states: list[DeviceState] = []
        self.technical: list[TechnicalEvent] = []
        self.got_alarm = threading.Event()

    def outputs(self) -> ChairOutputs:
        def alarms(evs: list[AlarmEvent]) -> None:
            self.alarms.extend(evs)
            self.got_alarm.set()

        return ChairOutputs(self.readings.extend, alarms, self.technical.append, self.states.append)


def make(rec: Recorder, **kw: Any) -> ChairPipeline:
    return ChairPipeline(
        DEFAULT_PROFILE, [rec.outputs()], started_at=T0, min_silence_real_s=0.0, **kw
    )


def test_readings_are_forwarded_and_judged() -> None:
    rec = Recorder()
    pipeline = make(rec)
    for t in range(0, 11):
        pipeline.on_readings([reading(Metric.SPO2, 86, t)])
    assert len(rec.readings) == 11
    assert [(e.kind, e.key) for e in rec.alarms] == [(AlarmEventKind.ONSET, "SPO2:low")]
    assert pipeline.snapshot().alarms[0].key == "SPO2:low"


def test_user_actions_go_through_the_same_outputs_in_order() -> None:
    rec = Recorder()
    pipeline = make(rec)
    for t in range(0, 11):
        pipeline.on_readings([reading(Metric.SPO2, 86, t)])
    pipeline.on_readings([reading(Metric.SPO2, 97, 11)])
    pipeline.pause_audio("nurse.a", at(12))
    pipeline.acknowledge("SPO2:low", "nurse.a", at(13))
    kinds = [e.kind.value for e in rec.alarms]
    assert kinds == ["onset", "latched", "audio_paused", "acknowledged", "end"]
    assert rec.alarms[-1].actor == "nurse.a"


def test_tick_without_data_raises_communication_lost() -> None:
    rec = Recorder()
    pipeline = make(rec)
    pipeline.on_readings([reading(Metric.HR, 70, 0)])
    assert pipeline.tick(at(9)) == []
    (event,) = pipeline.tick(at(10))
    assert (event.key, event.kind) == ("comm_lost", AlarmEventKind.ONSET)


def test_tick_does_not_outrun_data_that_are_still_flowing() -> None:
    """At high clock speed a short real stall of the runner must not look like a lost monitor."""
    rec = Recorder()
    pipeline = ChairPipeline(DEFAULT_PROFILE, [rec.outputs()], started_at=T0)  # real guard
    pipeline.on_readings([reading(Metric.HR, 70, 0)])
    assert pipeline.tick(at(60)) == []  # data arrived a moment ago in real time


def test_link_stop_is_not_communication_lost() -> None:
    rec = Recorder()
    pipeline = make(rec)
    pipeline.on_readings([reading(Metric.HR, 70, 0)])
    pipeline.on_state(DeviceState.STOPPED)
    assert pipeline.tick(at(30)) == []
    assert rec.states == [DeviceState.STOPPED]


def test_the_timer_thread_ticks_with_the_clock_and_stops_cleanly() -> None:
    rec = Recorder()
    pipeline = make(rec)
    clock = FakeClock(T0)
    pipeline.start_ticking(clock, name="alarm-ticker-test")
    try:
        clock.set(T0 + timedelta(seconds=15))
        assert rec.got_alarm.wait(5.0), "the ticker did not raise communication lost"
    finally:
        pipeline.stop_ticking()
    assert rec.alarms[0].key == "comm_lost"
    assert not any(t.name == "alarm-ticker-test" for t in threading.enumerate())


def test_concurrent_user_actions_and_readings_keep_storage_order() -> None:
    rec = Recorder()
    pipeline = make(rec)
    done = threading.Event()

    def clicker() -> None:
        i = 0
        while not done.is_set():
            pipeline.acknowledge_all("nurse.a", at(i))
            i += 1

    thread = threading.Thread(target=clicker)
    thread.start()
    try:
        for t in range(300):
            value = 86 if (t // 20) % 2 == 0 else 97
            pipeline.on_readings([reading(Metric.SPO2, value, t)])
    finally:
        done.set()
        thread.join()
    open_keys: set[str] = set()
    for e in rec.alarms:
        if e.kind is AlarmEventKind.ONSET:
            assert e.key not in open_keys
            open_keys.add(e.key)
        elif e.kind is AlarmEventKind.END:
            assert e.key in open_keys
            open_keys.remove(e.key)


def test_a_blocking_alarm_listener_does_not_block_the_device_thread() -> None:
    """Issue 13: outputs run after the pipeline's lock is released.

    A listener (the GUI's alarm slots, in the console) that blocks while it handles an
    acknowledge made on one thread must not hold up readings the device thread feeds, nor the
    ticker; what they produce is delivered afterwards, in the engine's order.
    """
    rec = Recorder()
    entered, release = threading.Event(), threading.Event()
    blocking = threading.Event()

    def slow_alarms(evs: list[AlarmEvent]) -> None:
        if blocking.is_set() and not entered.is_set():
            entered.set()
            release.wait(2.0)  # a GUI slot that hangs (a modal dialog, a slow repaint)

    slow = ChairOutputs(lambda rs: None, slow_alarms, lambda ev: None, lambda st: None)
    pipeline = ChairPipeline(
        DEFAULT_PROFILE, [slow, rec.outputs()], started_at=T0, min_silence_real_s=0.0
    )
    for t in range(0, 11):
        pipeline.on_readings([reading(Metric.SPO2, 86, t)])
    assert pipeline.snapshot().alarms[0].key == "SPO2:low"
    blocking.set()
    gui = threading.Thread(
        target=pipeline.acknowledge, args=("SPO2:low", "nurse.a", at(11)), name="fake-gui"
    )
    gui.start()
    try:
        assert entered.wait(2.0), "the acknowledge never reached the listener"

        def runner() -> None:
            pipeline.on_readings([reading(Metric.SPO2, 97, 12)])
            pipeline.tick(at(13))

        device = threading.Thread(target=runner, name="fake-runner")
        device.start()
        device.join(0.5)
        blocked = device.is_alive()
        assert pipeline.snapshot().alarms == ()  # the engine judged the reading already
    finally:
        release.set()
        gui.join(5.0)
    device.join(5.0)
    assert not blocked, "the device thread waited for a blocked alarm listener"
    kinds = [(e.kind, e.key) for e in rec.alarms]
    assert kinds == [
        (AlarmEventKind.ONSET, "SPO2:low"),
        (AlarmEventKind.ACKNOWLEDGED, "SPO2:low"),
        (AlarmEventKind.END, "SPO2:low"),
    ]
    assert [r.value for r in rec.readings][-1] == 97
