"""Keeping the MLLP listener open for real gateways (issue 12 item 10).

The listener had a hard cap of 16 connections and no time-outs: 16 clients that connect and
say nothing (a gateway that rebooted without a FIN, a port scanner) or that trickle one byte a
second locked every real gateway out (0 of 20 messages acknowledged).  Three rules fix that:

* **mid-message time-out**: once a message has started (bytes after the MLLP start block),
  it must be complete within ``message_s``; a gateway sends a 1.5 KB message in milliseconds;
* **idle time-out**: a connection that completed no message for ``idle_s`` is closed; it must
  be longer than the gateway's push interval, since a well-behaved gateway keeps its
  connection open between pushes;
* **eviction at the cap**: when all slots are taken, a newcomer replaces the connection that
  has shown the least progress, unless every connection delivered a valid message recently
  (then the newcomer is refused).  A working gateway is therefore never displaced by a
  silent or slow client, and a new one always gets its chance.

Refusals and evictions are logged through a :class:`LogThrottle`: one line per interval with
the count, instead of one WARNING per connection (2,014 lines in the campaign).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class ConnectionTimeouts:
    """Real-time limits for one gateway connection (seconds).

    Attributes:
        idle_s: close a connection that completed no message for this long.
        message_s: close a connection whose started message is not complete this long after
            its first byte.
    """

    idle_s: float = 300.0
    message_s: float = 10.0

    def __post_init__(self) -> None:
        if not (self.idle_s > 0 and self.message_s > 0):
            raise ValueError(f"time-outs must be positive, got {self}")


class Progress(Protocol):
    """What the guard needs to know about a connection."""

    @property
    def last_good_at(self) -> float | None:
        """Real monotonic time of the last message acknowledged AA, None if none yet."""

    @property
    def last_progress_at(self) -> float:
        """Real monotonic time of the connection's start or its last complete message."""


def expired(
    timeouts: ConnectionTimeouts, now: float, last_progress_at: float, partial_since: float | None
) -> str | None:
    """Why a connection must be closed now, or None.

    Args:
        timeouts: the limits.
        now: real monotonic time.
        last_progress_at: start of the connection or its last complete message.
        partial_since: arrival of the first byte of the message being received, if any.
    """
    if partial_since is not None and now - partial_since > timeouts.message_s:
        return f"message not complete within {timeouts.message_s:g} s"
    if now - last_progress_at > timeouts.idle_s:
        return f"no complete message for {timeouts.idle_s:g} s"
    return None


C = TypeVar("C", bound=Progress)


def eviction_victim(connections: Sequence[C], now: float, timeouts: ConnectionTimeouts) -> C | None:
    """The connection a newcomer replaces when the cap is reached, or None to refuse it.

    Connections that delivered a valid message within ``timeouts.idle_s`` are kept; of the
    others, the one whose last progress is oldest goes.
    """
    candidates = [
        c for c in connections if c.last_good_at is None or now - c.last_good_at > timeouts.idle_s
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda c: c.last_progress_at)


class LogThrottle:
    """Logs at most one record per ``interval_s``; suppressed ones are counted in the next."""

    def __init__(
        self,
        logger: logging.Logger,
        level: int,
        interval_s: float = 60.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._level = level
        self._interval_s = interval_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: float | None = None
        self._suppressed = 0

    def log(self, message: str, *args: object) -> None:
        """Log ``message % args`` unless one was logged within the interval."""
        now = self._monotonic()
        with self._lock:
            if self._last is not None and now - self._last < self._interval_s:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._last = self._suppressed, 0, now
        if suppressed:
            message += " (%d more like this in the last %.0f s)"
            args = (*args, suppressed, self._interval_s)
        self._logger.log(self._level, message, *args)
