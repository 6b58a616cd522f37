"""How late the session record is: the age of the oldest item not yet in the database.

Why an age and not a count (issue 14): the writer's first bound raised RECORDING FALLING
BEHIND as soon as 1,000 items waited.  An accelerated 16-chair console on a loaded 2-core
machine reaches that in a burst the writer clears within seconds, so the alarm was false.  What
a nurse needs to know is whether the record of what happened is falling further and further
behind what happened, so the condition is the age, in real seconds, of the oldest item that is
submitted but not yet durable in the database, and it must stay past a threshold: a burst
written within that time never raises it; a database that keeps up more slowly than the monitors
produce raises it once its oldest unwritten data reach the threshold, whatever their number.

The writer handles items strictly in order (queue -> batch in hand -> journal -> database), so
the oldest item not yet in the database is the first of, in that order: the oldest spooled batch,
the batch in hand, the oldest item taken from the queue, the oldest item still queued.  This
module keeps one submit time for each and reads the first.

Thread use: :meth:`RecordLag.submitted` runs on producer threads, :meth:`RecordLag.age_s` on
any thread (the writer's supervisor judges the condition while its loop is inside a slow
transaction); everything else runs on the writer loop.  ``deque.append``/``popleft`` are atomic
in CPython, and :meth:`RecordLag.age_s` tolerates a deque emptied while it reads it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

#: Oldest unwritten data older than this (real seconds) raise RECORDING FALLING BEHIND.  The
#: writer normally makes data durable within a second (a batch every 0.25 s); a 16-chair
#: console at x60 on the loaded 2-core machine reached 3.4 s in its startup burst (2,153 items
#: waiting, past the old count threshold) and then stayed below 0.4 s, while at x300 the record
#: fell behind by about 1 s every second (README, "Storage writer under load").  30 s is far
#: above any burst seen, and a nurse learns of a record that really lags within half a minute.
BEHIND_AFTER_S = 30.0
#: The condition ends once the oldest unwritten data are younger than this again (hysteresis:
#: a writer hovering at the threshold does not make the alarm come and go).
CAUGHT_UP_S = 5.0


class RecordLag:
    """Submit times of everything not yet in the database, in the writer's order.

    Args:
        clock: monotonic seconds (injected for tests).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._queued: deque[float] = deque()  # submitted, not yet taken by the writer loop
        self._taken: deque[float] = deque()  # taken, not yet in a batch (aligned with pending)
        self._in_hand: float | None = None  # the record batch being written
        self._spooled: deque[float] = deque()  # one per batch in the journal, oldest first

    # -- producer side -------------------------------------------------------------------
    def submitted(self) -> None:
        """An item was queued now (call before putting it in the queue)."""
        self._queued.append(self._clock())

    # -- writer loop -----------------------------------------------------------------------
    def took(self) -> None:
        """The loop took the oldest queued item into its pending list."""
        try:
            at = self._queued.popleft()
        except IndexError:  # queued without submit() (cannot happen; never fail the loop)
            at = self._clock()
        self._taken.append(at)

    def batched(self, n_items: int, *, record: bool) -> None:
        """The first ``n_items`` pending items became the batch in hand (``record``: it goes
        to the database; held items go to their chair's spool and do not count)."""
        first: float | None = None
        for _ in range(min(n_items, len(self._taken))):
            at = self._taken.popleft()
            first = at if first is None else first
        if record:
            self._in_hand = first

    def done_in_hand(self) -> None:
        """The batch in hand is in the database (or set aside as refused): no longer late."""
        self._in_hand = None

    def spool_in_hand(self) -> None:
        """The batch in hand went to the journal, behind the batches already there."""
        at = self._in_hand if self._in_hand is not None else self._clock()
        self._in_hand = None
        self._spooled.append(at)

    def preload(self, n_batches: int) -> None:
        """Batches an earlier run left in the journal: late from now on (their own time is
        not known, and today's data wait behind them)."""
        now = self._clock()
        self._spooled.extend(now for _ in range(n_batches))

    def replayed(self, n_batches: int) -> None:
        """The oldest ``n_batches`` spooled batches are in the database."""
        for _ in range(min(n_batches, len(self._spooled))):
            self._spooled.popleft()

    # -- any thread ------------------------------------------------------------------------
    def age_s(self) -> float:
        """Real seconds since the oldest item not yet in the database was submitted (0: none)."""
        oldest: float | None = None
        for source in (self._spooled, self._in_hand, self._taken, self._queued):
            if isinstance(source, deque):
                try:
                    oldest = source[0]
                except IndexError:
                    continue
            else:
                oldest = source
            if oldest is not None:
                break
        return 0.0 if oldest is None else max(0.0, self._clock() - oldest)
