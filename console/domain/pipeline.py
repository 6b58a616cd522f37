"""What happens to a chair's data off the GUI thread: run the alarm engine, then fan out.

The pipeline implements the device layer's ``LinkSink``; the console plugs it into a
``DeviceRunner``.  It is Qt-free, so alarm detection never waits for the GUI thread (design.md,
Threads), and tests drive it with plain lists.

Tick design.  The runner calls the sink only when data arrive, but several alarms are about time
passing with *no* data (communication lost, NIBP overdue) or about time passing at all (condition
delays, audio-pause expiry, escalation).  The pipeline therefore owns a small timer thread
(:meth:`ChairPipeline.start_ticking`) that calls :meth:`ChairPipeline.tick` every
:data:`TICK_INTERVAL_REAL_S` of real time (faster when the clock is accelerated, so one tick never
spans more than about a simulated second).  A QTimer on the GUI thread was rejected: a busy or
frozen GUI would delay exactly the alarms that say something is wrong.  Callers without the thread
(the headless ``run`` command, tests) may call :meth:`ChairPipeline.tick` themselves.

Lock discipline (issue 13).  Every engine call happens under one lock, and what it produced is
queued, still under that lock, in one outbox; the outputs are then called from the outbox with
*no* pipeline lock held.  So the storage writer and the bridge receive transitions in the order
the engine made them, whichever thread (runner, ticker, GUI) caused them, and an output that
blocks (a GUI slot run by an acknowledge) cannot make the runner or the ticker wait: one thread
at a time delivers, and a thread that finds another one delivering leaves its batch queued behind
and returns at once.  Outputs must therefore not assume they run on the thread that caused the
batch, only one batch at a time and in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from console.domain.alarm_engine import AlarmEngine, AlarmSnapshot
from console.domain.alarm_events import AlarmEvent
from console.domain.alarm_profiles import ThresholdProfile
from console.domain.alarm_rules import AlarmPolicy
from console.domain.heart_rate_source import HeartRateSource
from devices.clock import Clock
from devices.model import DeviceState, Reading, TechnicalEvent

log = logging.getLogger("alarms")

_T = TypeVar("_T")

#: Real seconds between ticks at x1.
TICK_INTERVAL_REAL_S = 0.25
#: A tick does not move engine time past the newest reading until the data have been silent for
#: this long in *real* time: at x300 a 30 ms scheduling hiccup of the runner thread is 9 simulated
#: seconds and would otherwise look like a lost monitor (the idea of
#: ``devices.runner.MIN_QUIET_REAL_S``).  150 ms covers the stalls measured on a busy 2-core
#: machine (up to ~65 ms) with margin; at ``--speed max`` (x300) a real loss is still declared
#: within ~45 simulated seconds, and at x1 the guard is irrelevant next to the 10 s delay.
MIN_SILENCE_REAL_S = 0.15


@dataclass(frozen=True, slots=True)
class ChairOutputs:
    """Where a chair's results go.

    Each callable is invoked with no pipeline lock held, one batch at a time, in the engine's
    order: on the thread that produced the batch, or on another thread that was delivering at
    that moment (module docstring).  A callable may call back into the pipeline.
    """

    readings: Callable[[list[Reading]], None]
    alarms: Callable[[list[AlarmEvent]], None]
    technical: Callable[[TechnicalEvent], None]
    state: Callable[[DeviceState], None]


class ChairPipeline:
    """Readings and link events -> alarm engine -> outputs, for one chair.

    Thread-safe: the runner thread, the ticker thread and the GUI thread may all call it.

    Args:
        profile: the threshold profile (a bare policy gets default timings).
        outputs: receivers of readings, alarm events, technical events and link states.
        nibp_interval_s: the monitor's NIBP cycle (for NIBP overdue).
        started_at: when monitoring starts (communication-lost watch origin); None: first call.
        min_silence_real_s: real-time guard against false "communication lost" at high clock
            speeds; tests driving simulated time by hand pass 0.
        pulse_as_hr: the monitor has no ECG (a pulse oximeter): the SpO2 pulse rate is its heart
            rate from the first reading.  Without it the source is "auto" for every monitor
            (console.domain.heart_rate_source): the pulse rate is judged against the HR limits
            whenever the ECG HR is absent or flagged.  The stored and displayed readings stay
            PR; only the alarm judges them as HR.
        measures_nibp: False for a monitor with no cuff: no "NIBP overdue" alarm.
    """

    def __init__(
        self,
        profile: ThresholdProfile | AlarmPolicy,
        outputs: list[ChairOutputs],
        *,
        nibp_interval_s: float = 300.0,
        started_at: datetime | None = None,
        min_silence_real_s: float = MIN_SILENCE_REAL_S,
        pulse_as_hr: bool = False,
        measures_nibp: bool = True,
    ) -> None:
        self.engine = AlarmEngine(profile, nibp_interval_s=nibp_interval_s, started_at=started_at)
        self.engine.nibp_expected = measures_nibp
        self.pulse_as_hr = pulse_as_hr
        self.hr_source = HeartRateSource(pulse_only=pulse_as_hr)
        self.outputs = outputs
        self._lock = threading.RLock()  # the engine and the outbox's order
        #: Deliveries made under ``_lock``, run after it is released (module docstring).
        self._outbox: deque[Callable[[], None]] = deque()
        self._out_lock = threading.Lock()  # guards the outbox and who delivers; never held out
        self._delivered = threading.Condition(self._out_lock)
        self._delivering: int | None = None  # ident of the thread delivering, if any
        self._min_silence_real_s = min_silence_real_s
        self._last_data_at: datetime | None = None
        self._last_data_real = time.monotonic()
        self._ticker: threading.Thread | None = None
        self._stop_ticking = threading.Event()

    # -- LinkSink (runner thread) -------------------------------------------------------------
    def on_readings(self, readings: list[Reading]) -> None:
        """Evaluate and forward a batch of readings."""
        if not readings:
            return
        now = max(r.received_at for r in readings)
        with self._lock:
            self._last_data_at = now
            self._last_data_real = time.monotonic()
            self.hr_source.feed(readings)
            self.engine.hr_source = self.hr_source.source(now)
            self.engine.hr_missing_since = self.hr_source.missing_since(now)
            events = self.engine.process_readings(readings, now)
            self._post(_each(tuple(out.readings for out in self.outputs), readings))
            self._publish(events)
        self._deliver()

    def on_event(self, event: TechnicalEvent) -> None:
        """Forward a technical event (SENSOR_OFF also raises the sensor-off alarm)."""
        with self._lock:
            events = self.engine.on_technical_event(event, event.at)
            self._post(_each(tuple(out.technical for out in self.outputs), event))
            self._publish(events)
        self._deliver()

    def on_state(self, state: DeviceState) -> None:
        """Forward a link state change (STOPPED ends communication-lost watching)."""
        with self._lock:
            events = self.engine.on_link_state(state, self._now_hint())
            self._post(_each(tuple(out.state for out in self.outputs), state))
            self._publish(events)
        self._deliver()

    # -- timers ---------------------------------------------------------------------------------
    def tick(self, now: datetime) -> list[AlarmEvent]:
        """Run the engine's timers at ``now`` and publish what they produced.

        While data are still arriving in real time, the tick does not move engine time past
        the newest reading (:data:`MIN_SILENCE_REAL_S`); readings advance it themselves.
        """
        with self._lock:
            recent_real = time.monotonic() - self._last_data_real < self._min_silence_real_s
            if recent_real and self._last_data_at is None:
                return []  # the link is still opening (real ms, many simulated s at x300)
            if recent_real and self._last_data_at is not None:
                now = min(now, self._last_data_at)
            events = self.engine.tick(now)
            self._publish(events)
        self._deliver()
        return events

    def start_ticking(self, clock: Clock, *, name: str = "alarm-ticker") -> None:
        """Start the timer thread calling :meth:`tick` with ``clock.now()``.

        The period is :data:`TICK_INTERVAL_REAL_S` of real time, or one simulated second when
        the clock runs faster than x4.  Call :meth:`stop_ticking` before shutdown.
        """
        if self._ticker is not None:
            raise RuntimeError("ticker already running")
        period_real_s = min(TICK_INTERVAL_REAL_S, 1.0 / clock.speed)
        with self._lock:
            self._last_data_real = time.monotonic()  # the silence guard starts now
            self._last_data_at = self._last_data_at or clock.now()
        self._stop_ticking.clear()

        def run() -> None:
            while not self._stop_ticking.wait(period_real_s):
                try:
                    self.tick(clock.now())
                except Exception:  # a bug must not silently end alarm timing
                    log.exception("alarm tick failed")

        self._ticker = threading.Thread(target=run, name=name, daemon=False)
        self._ticker.start()

    def stop_ticking(self, timeout_s: float = 5.0) -> None:
        """Stop and join the timer thread (no-op when not running)."""
        ticker, self._ticker = self._ticker, None
        if ticker is None:
            return
        self._stop_ticking.set()
        ticker.join(timeout_s)

    # -- session and user actions (any thread) --------------------------------------------------
    def set_policy(self, policy: AlarmPolicy) -> None:
        """Swap in new limits atomically, keeping the timings (kept for older callers).

        Prefer :meth:`change_profile`, which records who changed what and why.
        """
        with self._lock:
            profile = self.engine.profile
            self._publish(
                self.engine.change_profile(
                    ThresholdProfile(profile.name, policy, profile.timings, profile.baseline_rules),
                    actor="system",
                    reason="policy replaced",
                    now=self._now_hint(),
                )
            )
        self._deliver()

    def act(self, action: Callable[[AlarmEngine], list[AlarmEvent]]) -> list[AlarmEvent]:
        """Run one engine action under the lock and deliver what it produced.

        The way in for the nurse's alarm actions (console.services.chair_alarm_actions): the
        caller names the engine's method itself, so its arguments are written once on their
        way to the engine, not again here (issue 13: a limit change went through three layers
        with the same signature).  Raises what the engine raises (LimitError when refused).
        The shorthands below serve the headless ``run`` and the tests.
        """
        return self._act(lambda: action(self.engine))

    def acknowledge(self, key: str, user: str, now: datetime) -> list[AlarmEvent]:
        """See :meth:`AlarmEngine.acknowledge`."""
        return self._act(lambda: self.engine.acknowledge(key, user, now))

    def acknowledge_all(self, user: str, now: datetime) -> list[AlarmEvent]:
        """See :meth:`AlarmEngine.acknowledge_all`."""
        return self._act(lambda: self.engine.acknowledge_all(user, now))

    def pause_audio(
        self, user: str, now: datetime, duration_s: float | None = None
    ) -> list[AlarmEvent]:
        """See :meth:`AlarmEngine.pause_audio`."""
        return self._act(lambda: self.engine.pause_audio(user, now, duration_s))

    def set_infusion_running(self, running: bool, now: datetime) -> list[AlarmEvent]:
        """See :meth:`AlarmEngine.set_infusion_running`."""
        return self._act(lambda: self.engine.set_infusion_running(running, now))

    def set_audio_available(
        self, available: bool, now: datetime, reason: str = ""
    ) -> list[AlarmEvent]:
        """See :meth:`AlarmEngine.set_audio_available`."""
        return self._act(lambda: self.engine.set_audio_available(available, now, reason))

    def hand_over(
        self,
        now: datetime,
        switch: Callable[[datetime], None],
        *,
        profile: ThresholdProfile,
        actor: str,
        reason: str,
    ) -> list[AlarmEvent]:
        """End a session's alarm state in its own record, then start the next one clean.

        Under the lock, in this order: the patient's limit changes go back to ``profile``,
        every alarm and repeat request is closed (both recorded in the ending session), then
        ``switch(at)`` moves the outputs to the next record (or none) at the engine's time of
        the closing (never before ``now``), and a tick re-raises the
        conditions of the monitor and the console that still hold, into that record.  Nothing
        of the ending session can land in the next one (issue 11 item 2).

        ``switch`` is queued in the outbox between the two, so it runs after the closing events
        reached the outputs and before anything later does, with no lock held, and on this
        thread: the hand-over first waits for another thread's delivery to end and then
        delivers itself.  It returns once everything it produced has been delivered.
        """
        with self._delivery_role(), self._lock:
            events: list[AlarmEvent] = []
            if profile != self.engine.profile:
                events += self.engine.change_profile(profile, actor=actor, reason=reason, now=now)
            events += self.engine.close_session(now, reason)
            self._publish(events)
            at = max(now, self.engine.now or now)
            self._post(lambda: switch(at))
            return events + self._publish(self.engine.tick(at))

    # -- queries ----------------------------------------------------------------------------------
    def snapshot(self) -> AlarmSnapshot:
        """The engine's state as one immutable value (safe from any thread)."""
        with self._lock:
            return self.engine.snapshot()

    @property
    def policy(self) -> AlarmPolicy:
        """The limit tiers in force."""
        with self._lock:
            return self.engine.policy

    # -- internals ---------------------------------------------------------------------------------
    def _act(self, call: Callable[[], list[AlarmEvent]]) -> list[AlarmEvent]:
        """Run one engine call under the lock, then deliver with the lock released."""
        try:
            with self._lock:
                return self._publish(call())
        finally:
            self._deliver()

    def _publish(self, events: list[AlarmEvent]) -> list[AlarmEvent]:
        """Queue ``events`` for every output (call under ``_lock``: it fixes their order)."""
        if events:
            self._post(_each(tuple(out.alarms for out in self.outputs), events))
        return events

    def _post(self, delivery: Callable[[], None]) -> None:
        """Queue one delivery; under ``_lock``, so the outbox has the engine's order."""
        with self._out_lock:
            self._outbox.append(delivery)

    def _deliver(self) -> None:
        """Run the queued deliveries, unless another thread (or this one, further up the
        stack: an output that called back in) is delivering: it will run ours, in order."""
        with self._out_lock:
            if self._delivering is not None:
                return
            self._delivering = threading.get_ident()
        self._drain()

    @contextmanager
    def _delivery_role(self) -> Iterator[None]:
        """Be the delivering thread for the block, waiting for another one to finish first;
        the outbox is delivered on leaving (re-entrant: a nested use leaves it to the outer)."""
        me = threading.get_ident()
        with self._out_lock:
            if self._delivering == me:
                nested = True
            else:
                nested = False
                while self._delivering is not None:
                    self._delivered.wait()
                self._delivering = me
        try:
            yield
        finally:
            if not nested:
                self._drain()

    def _drain(self) -> None:
        """Deliver until the outbox is empty, then give up the role (the caller holds it).

        A delivery that raises propagates to the caller, as an output's error did when
        outputs ran under the lock; what is still queued goes with the next delivery.
        """
        try:
            while True:
                with self._out_lock:
                    if not self._outbox:
                        # Given up in the same step as the empty outbox was seen: a batch
                        # posted a moment later finds nobody delivering and delivers itself
                        # (it was stranded until some later call, or for ever at the end).
                        self._delivering = None
                        self._delivered.notify_all()
                        return
                    delivery = self._outbox.popleft()
                delivery()
        except BaseException:
            with self._out_lock:
                self._delivering = None
                self._delivered.notify_all()
            raise

    def _now_hint(self) -> datetime:
        """Engine time, for inputs that carry none (link states, policy swaps)."""
        return self.engine.now or self._last_data_at or datetime.now(UTC)


def _each(calls: tuple[Callable[[_T], None], ...], arg: _T) -> Callable[[], None]:
    """One outbox delivery: ``arg`` to every output, bound now (outputs may change later)."""

    def deliver() -> None:
        for call in calls:
            call(arg)

    return deliver
