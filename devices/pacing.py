"""A shared clock that never runs ahead of the data: flow control for accelerated runs.

At ``--speed max`` (x300) one real millisecond is 0.3 simulated seconds.  A free-running
:class:`~devices.clock.ScaledClock` therefore turns any stall of a host thread (the simulator's,
the reader's, the GIL held by another thread, a loaded machine) into simulated time in which
nothing happened: the monitor skips the records it "missed", bytes pile up in the pty, and the
reader sees silence.  Measured on a loaded 2-core machine: 15-41 % of a ``routine`` run's
readings lost, with several communication-lost episodes, and a different count every run.

:class:`PacedClock` runs at ``speed`` times real time at most, but stands still while

* bytes are in flight on the wire: written by one side and not yet read *and processed* by the
  other (the reader, or the simulator answering a request, is behind);
* a participant holds it at a time it has not handled yet (the simulator's next record or
  scripted event, the headless run's next alarm tick);
* the cable is plugged but no host has the port open (a fresh pty, a reconnect in progress).

A stall of any participant thus slows the run down instead of changing what happens in it: the
same scenario and seed give the same bytes, readings and verdict on an idle and a loaded machine.
A cable pulled on purpose (:meth:`PacedClock.cut`) lets time run: that silence is scripted.

The participants find the flow control with :func:`flow_of`; any other clock gives a no-op
:class:`Flow`, so the device runner and the simulator work unchanged with real devices.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta

#: Direction of bytes on the wire, for :meth:`Flow.sent` and :meth:`Flow.delivered`.
TO_HOST = "to_host"
TO_DEVICE = "to_device"


class Flow:
    """Flow-control calls of the participants; these defaults do nothing (a real clock)."""

    def sent(self, direction: str, n: int) -> None:
        """``n`` bytes are about to be written towards ``direction`` (call before writing)."""

    def delivered(self, direction: str, n: int) -> None:
        """``n`` bytes from ``direction`` were read and fully processed by their receiver."""

    def link_up(self) -> None:
        """The host has the port open (after the open's input flush) and is reading it."""

    def link_down(self) -> None:
        """The host closed the port; bytes still on the wire towards it are gone."""

    def cut(self, pulled: bool) -> None:
        """The cable was pulled on purpose (``True``) or plugged back (``False``)."""

    def hold(self, owner: str, until_s: float | None) -> None:
        """Keep the clock at or before ``until_s`` (clock seconds) until ``owner`` moves it."""

    def hold_at(self, owner: str, when: datetime) -> None:
        """:meth:`hold` at the wall time ``when`` of this clock."""

    def host_ready(self) -> bool:
        """False while bytes sent now would be lost (no host has the port open)."""
        return True


#: The flow of every clock that is not a :class:`PacedClock`.
NO_FLOW = Flow()


def flow_of(clock: object) -> Flow:
    """The flow control of ``clock``: itself for a :class:`PacedClock`, a no-op otherwise."""
    return clock if isinstance(clock, PacedClock) else NO_FLOW


class PacedClock(Flow):
    """An accelerated clock that stands still while the data are behind (see the module).

    Thread-safe; every call takes one short lock.

    Args:
        speed: the most simulated seconds per real second.
        start: the wall time at clock second 0.
    """

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed!r}")
        self.speed = float(speed)
        self._start = start if start is not None else datetime.now(UTC)
        self._lock = threading.Lock()
        self._sim = 0.0
        self._real = time.monotonic()
        self._in_flight = {TO_HOST: 0, TO_DEVICE: 0}
        self._holds: dict[str, float] = {}
        self._host = False
        self._pulled = False
        #: Real seconds the clock stood still because of the flow control (how much a stall
        #: slowed the run down).
        self.held_real_s = 0.0
        #: Bytes that were on the wire towards the host when it closed the port.
        self.bytes_lost_on_close = 0

    # -- Clock ------------------------------------------------------------------------------
    @property
    def start(self) -> datetime:
        """The wall time at clock second 0."""
        return self._start

    def monotonic(self) -> float:
        """Clock seconds since the start."""
        with self._lock:
            return self._advance()

    def now(self) -> datetime:
        """The clock's wall time."""
        return self._start + timedelta(seconds=self.monotonic())

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait ``seconds`` of clock time; True if ``stop`` was set meanwhile."""
        return self.wait_until(self.monotonic() + seconds, stop)

    def wait_until(self, until_s: float, stop: threading.Event | None = None) -> bool:
        """Wait until the clock reads ``until_s``; True if ``stop`` was set meanwhile."""
        while True:
            remaining = until_s - self.monotonic()
            if remaining <= 0:
                return False
            real = min(max(remaining / self.speed, 0.0005), 0.01)
            if stop is None:
                time.sleep(real)
            elif stop.wait(real):
                return True

    # -- Flow -------------------------------------------------------------------------------
    def sent(self, direction: str, n: int) -> None:
        """Bytes about to go on the wire: the clock stands still until they are delivered."""
        if n <= 0:
            return
        with self._lock:
            self._advance()
            self._in_flight[direction] += n

    def delivered(self, direction: str, n: int) -> None:
        """Bytes read and processed (never below zero: a reset may have counted them)."""
        if n <= 0:
            return
        with self._lock:
            self._advance()
            self._in_flight[direction] = max(0, self._in_flight[direction] - n)

    def link_up(self) -> None:
        """The host reads the port: time may pass."""
        with self._lock:
            self._advance()
            self._host = True

    def link_down(self) -> None:
        """The host closed the port: what was on the wire towards it is gone."""
        with self._lock:
            self._advance()
            self._host = False
            self.bytes_lost_on_close += self._in_flight[TO_HOST]
            self._in_flight[TO_HOST] = 0
            self._in_flight[TO_DEVICE] = 0

    def cut(self, pulled: bool) -> None:
        """A scripted unplug (time runs, nothing is in flight) or the replug (wait for a host)."""
        with self._lock:
            self._advance()
            self._pulled = pulled
            self._host = False
            self._in_flight[TO_HOST] = 0
            self._in_flight[TO_DEVICE] = 0

    def hold(self, owner: str, until_s: float | None) -> None:
        """Set (or with None release) ``owner``'s hold."""
        with self._lock:
            self._advance()
            if until_s is None:
                self._holds.pop(owner, None)
            else:
                self._holds[owner] = until_s

    def hold_at(self, owner: str, when: datetime) -> None:
        """Hold at the wall time ``when`` (exact: no second reading of the clock involved)."""
        self.hold(owner, (when - self._start).total_seconds())

    def host_ready(self) -> bool:
        """True while a host reads the port (or the cable is pulled: nothing is sent)."""
        with self._lock:
            return self._host or self._pulled

    # -- diagnostics ------------------------------------------------------------------------
    def idle(self) -> bool:
        """True when no byte is in flight in either direction."""
        with self._lock:
            return not any(self._in_flight.values())

    def why_held(self) -> str:
        """What keeps the clock still now, in words (empty when it runs)."""
        with self._lock:
            sim = self._advance()
            reasons = [
                f"{n} bytes {direction.replace('_', ' ')} not yet processed"
                for direction, n in self._in_flight.items()
                if n
            ]
            if not self._host and not self._pulled:
                reasons.append("no host has the port open")
            reasons += [
                f"held by {owner} at {until:.1f} s"
                for owner, until in sorted(self._holds.items())
                if until <= sim
            ]
            return "; ".join(reasons)

    # -- internals (under the lock) ---------------------------------------------------------
    def _advance(self) -> float:
        real = time.monotonic()
        elapsed = real - self._real
        self._real = real
        frozen = any(self._in_flight.values()) or not (self._host or self._pulled)
        limit = min(self._holds.values(), default=math.inf)
        if frozen or self._sim >= limit:
            self.held_real_s += elapsed
            return self._sim
        target = self._sim + elapsed * self.speed
        if target > limit:
            # The share of this interval spent waiting at the hold counts as held.
            self.held_real_s += (target - limit) / self.speed
            target = limit
        self._sim = target
        return self._sim
