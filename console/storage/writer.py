"""The one thread that writes session records, in batches, off the UI thread.

Readings, alarm transitions, technical events and lifecycle events are queued
by any thread and written every :data:`BATCH_INTERVAL_S` or :data:`BATCH_MAX_ITEMS` items,
whichever comes first, in one transaction, so a reading is durable well within a second of
arrival.

When the database is unreachable (PostgreSQL down, disk full, SQLite locked) monitoring goes
on untouched: :meth:`StorageWriter.submit` never blocks, the writer reports the condition through
``on_status``, and spools every batch to an fsync'd local :class:`~console.storage.journal.Journal`.
While the journal holds anything, new batches go behind it, so the database always receives the
batches in the order they were made (an alarm's END never precedes its ONSET).  When the database
answers again the journal is replayed, oldest first, and emptied.  Each batch carries a unique
id written in the same transaction as its rows (``write_batches``), so replaying a batch that
did reach the database (COMMIT lost in flight, crash during replay) is a no-op: nothing is lost
and nothing is duplicated.  A journal left by a crash is replayed at the next start.

What else keeps the record (issue 12):

- *One bad value never costs a batch*: rows are screened before the insert
  (:mod:`console.storage.validate`); a batch the database still refuses is split, row by row,
  and only the rows it refuses are set aside (with a ``record_error`` technical event).
- *The writer does not die unseen*: its loop runs on a worker thread that this thread
  supervises.  If the loop stops (an unexpected error), ``on_status`` reports it at once and the
  loop is restarted; the batch it held is spooled, so it is not lost.  A loop silent for
  :data:`STALL_ALARM_S` is reported too.
- *A SQLite file deleted or replaced under it* is noticed within :data:`WATCH_INTERVAL_S` and put
  back (:mod:`console.storage.file_watch`); meanwhile batches wait in the journal.
- *Data of a chair with no record yet* are journalled per chair (:mod:`console.storage.held`).

Bounded memory (issue 14: at x60 the queue grew by 330 items/s without bound, and closing the
window then took 45-65 s):

- *Spill*: past ``spill_at`` waiting items the writer appends its batches to the fsync'd
  journal (far faster than the database) and new batches go behind it, so the order holds; the
  journal is replayed in slices of at most :data:`CATCH_UP_SLICE_S` between visits to the queue,
  in transactions of about :data:`TXN_TARGET_S` at the database's recent speed (at most
  :data:`REPLAY_MAX_OPS` rows).  Spilling absorbs a burst; it is no fault (logged at INFO).
- *RECORDING FALLING BEHIND* (a status detail starting with
  :data:`~console.domain.alarm_technical.RECORDING_BEHIND`) is judged on the age of the oldest
  item not yet in the database (:mod:`console.storage.lag`), never on a count: raised at
  ``behind_after_s``, ended below ``caught_up_s``, by the loop and by its supervisor.
- *Back-pressure*, the backstop: a producer that finds ``max_queued`` items waiting waits for
  room, at most :data:`SUBMIT_WAIT_S`, and only once per episode: a writer hung in the
  database driver (reported after :data:`STALL_ALARM_S`) must never stop the runner threads,
  which judge the alarms, so after that wait items are queued beyond the bound (and counted in
  ``over_bound``) rather than dropped.
- *Stop* writes what is queued, then replays the journal file for at most
  :data:`STOP_CATCH_UP_S`; the rest stays in the fsync'd journal and is replayed at the next
  start (a writer without a journal file replays everything: its spool dies with the process).

Messages and logs never carry SQL parameters (patient values) or a database password.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from console.domain.alarm_technical import RECORDING_BEHIND
from console.storage.engine import describe_url, sqlite_path
from console.storage.file_watch import DatabaseFile
from console.storage.held import (
    HELD_SESSION_ID,
    AdoptHeldItem,
    HeldItem,
    HeldSpools,
    for_session,
    start_no_later_than,
)
from console.storage.items import (
    FRAME_ERROR_SAMPLES,
    AlarmItem,
    Item,
    ProfileChangeItem,
    ReadingsItem,
    SessionEndItem,
    SessionEventItem,
    TechnicalItem,
    apply_batches,
    apply_ops,
    event_values,
    item_ops,
    make_batch,
    worth_recording,
)
from console.storage.journal import Batch, Journal, MemoryJournal, Op
from console.storage.lag import BEHIND_AFTER_S, CAUGHT_UP_S, RecordLag
from console.storage.refusals import is_unavailable, keep_aside, rescue_file, safe_error
from console.storage.schema import WriteBatchRow
from console.storage.validate import Isolated, problem, record_error_op, screen

__all__ = [
    "FRAME_ERROR_SAMPLES",
    "HELD_SESSION_ID",
    "AdoptHeldItem",
    "AlarmItem",
    "HeldItem",
    "Item",
    "ProfileChangeItem",
    "ReadingsItem",
    "SessionEndItem",
    "SessionEventItem",
    "StorageWriter",
    "TechnicalItem",
    "apply_batches",
    "apply_ops",
    "event_values",
    "item_ops",
    "make_batch",
    "safe_error",
    "worth_recording",
]

log = logging.getLogger("storage")

BATCH_INTERVAL_S = 0.25
BATCH_MAX_ITEMS = 200
#: Most items in one transaction when more than a batch is already waiting: under load the
#: writer commits less often (a PostgreSQL commit waits for its WAL flush), as long as the
#: transaction stays within :data:`TXN_TARGET_S` at the database's recent speed.
BATCH_TAKE_MAX = 1_000
#: How long one transaction the writer builds (a batch, a replay chunk) should take at the
#: database's recent speed: the writer is away from its queue for that long.
TXN_TARGET_S = 0.1
RETRY_AFTER_S = 1.0
#: Journal batches replayed per transaction when catching up.
REPLAY_CHUNK = 64
#: Markers deleted per transaction (bounded so a long catch-up never makes one huge DELETE).
MARKER_DELETE_CHUNK = 500
#: How often the database file is compared with the file the writer has open (s).
WATCH_INTERVAL_S = 1.0
#: A writer loop that has not come round for this long is reported (it may hang in the driver).
STALL_ALARM_S = 10.0
#: Pause before a stopped writer loop is started again (so a loop that keeps failing cannot spin).
RESTART_PAUSE_S = 0.5
#: Most items waiting in memory (an item is one readings batch, alarm transition or event: a
#: few KB at most, so about 10 MB); a producer then meets back-pressure (module docstring).
MAX_QUEUED = 4_000
#: Items waiting beyond which the writer spills to the journal (default: a quarter of the bound,
#: so the bound leaves room for one slow transaction).
SPILL_FRACTION = 4
#: Longest the writer replays the journal before it looks at its queue again (s).
CATCH_UP_SLICE_S = 0.25
#: Rows of one replay transaction at most.
REPLAY_MAX_OPS = 5_000
#: Longest a producer waits for room in a full queue, once per episode (s).
SUBMIT_WAIT_S = 0.1
#: At stop, longest the writer replays its journal file before it leaves the rest for the next
#: start (s); ``stop()`` waits 10 s by default.
STOP_CATCH_UP_S = 5.0


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class _Stop:
    pass


Queued = Item | HeldItem | AdoptHeldItem | _Flush | _Stop
StatusCallback = Callable[[bool, str], None]


class StorageWriter(threading.Thread):
    """Batches queued items into transactions on its own thread; spools when the DB is away.

    This thread supervises the writer loop, which runs on a worker thread of its own (see the
    module docstring); ``start``/``stop``/``join`` are those of this thread.

    Args:
        engine: the database.
        on_status: called (from the writer threads) with ``(healthy, detail)`` whenever the
            database becomes unavailable or available again, or the writer itself fails.
        journal_dir: where the fsync'd spool lives (the per-user data dir in the app); None
            keeps the spool in memory, which survives an outage but not a crash.
        batch_interval_s: longest time an item waits before its transaction.
        max_queued: items waiting in memory before producers meet back-pressure (default
            :data:`MAX_QUEUED`).
        spill_at: items waiting beyond which batches are spilled to the journal (default: a
            quarter of ``max_queued``).
        behind_after_s: age of the oldest item not yet in the database (real seconds) that
            raises RECORDING FALLING BEHIND (default :data:`~console.storage.lag.BEHIND_AFTER_S`).
        caught_up_s: age below which that condition ends (default
            :data:`~console.storage.lag.CAUGHT_UP_S`).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        on_status: StatusCallback | None = None,
        journal_dir: Path | None = None,
        batch_interval_s: float = BATCH_INTERVAL_S,
        max_queued: int | None = None,
        spill_at: int | None = None,
        behind_after_s: float = BEHIND_AFTER_S,
        caught_up_s: float = CAUGHT_UP_S,
    ) -> None:
        super().__init__(name="storage-writer", daemon=False)
        self.engine = engine
        self.journal_dir = journal_dir
        self.batch_interval_s = batch_interval_s
        self.max_queued = MAX_QUEUED if max_queued is None else max_queued
        self.spill_at = max(1, self.max_queued // SPILL_FRACTION) if spill_at is None else spill_at
        self.behind_after_s = behind_after_s
        self.caught_up_s = min(caught_up_s, behind_after_s)
        self._lag = RecordLag()
        self._lag_lock = threading.Lock()  # the loop and the supervisor both judge the lag
        self._queue: queue.SimpleQueue[Queued] = queue.SimpleQueue()
        self._on_status = on_status
        self._status_lock = threading.Lock()
        self._healthy = True
        self._detail = ""
        self._db_label = describe_url(engine.url)
        self._journal: Journal | None = None
        # Batches the journal file could not take (its disk is full too): kept in memory,
        # behind the journal, so the order still holds.
        self._overflow = MemoryJournal(self._db_label)
        self._held = HeldSpools(journal_dir, self._db_label)
        path = sqlite_path(engine.url)
        self._file = DatabaseFile(engine, path) if path is not None else None
        self._file_problem: str | None = None
        self._deletable_markers: list[str] = []
        self._replayed_markers: list[str] = []
        self._retry_at = 0.0
        # The loop's state lives here, not on its stack, so a restarted loop carries on.
        self._pending: list[Item | HeldItem | AdoptHeldItem] = []
        self._waiting: list[_Flush] = []
        self._in_hand: list[Batch] = []
        self._held_in_hand: list[tuple[str, Batch]] = []
        self._stopping = False
        self._stop_asked = False
        self._finished = False
        self._spilling = False  # too many items waiting: batches go to the journal
        self._behind = False  # RECORDING FALLING BEHIND reported, not yet caught up
        self._room_waited = False  # a producer waited in vain for room this episode
        self._s_per_row = 0.0  # recent seconds per row written (sizes transactions)
        self._ops_per_item = 5.0  # recent rows per item (a readings batch is about five)
        self._beat = time.monotonic()
        self._next_watch = 0.0
        self.rows_written = 0
        self.batches_spooled = 0
        self.batches_rejected = 0
        #: Rows set aside because the database could not take them (the rest of their batch
        #: was stored).
        self.rows_isolated = 0
        #: Times the writer loop stopped unexpectedly and was started again.
        self.restarts = 0
        #: Times the writer began spilling to the journal because too many items waited.
        self.spill_episodes = 0
        #: Most items seen waiting by the writer loop.
        self.max_waiting = 0
        #: Items queued beyond ``max_queued`` (the writer did not make room in time).
        self.over_bound = 0
        #: Oldest age (s) seen of an item not yet in the database.
        self.max_lag_s = 0.0
        #: Times RECORDING FALLING BEHIND was raised.
        self.behind_episodes = 0

    @property
    def journal_path(self) -> Path | None:
        """The journal file in use (None before start or when kept in memory)."""
        if self._journal is None or isinstance(self._journal, MemoryJournal):
            return None
        return self._journal.path

    def backlog(self) -> tuple[list[Batch], list[Batch]]:
        """After :meth:`stop`: what is not in the database, as (in the journal file, in memory).

        Batches in memory only (no journal file, or its disk was full too) are lost at exit.
        """
        if self.is_alive():
            raise RuntimeError("backlog() is for a stopped writer")
        spools: list[Journal | MemoryJournal] = [self._overflow]
        journal = self._journal
        if journal is not None:
            spools.insert(0, journal)
        on_disk: list[Batch] = []
        in_memory: list[Batch] = []
        for spool in spools:
            if not spool.empty:
                kept = on_disk if self.journal_path == spool.path else in_memory
                kept.extend(b for _o, b in spool.peek(1 << 30))
        return on_disk, in_memory

    # -- producer side (any thread) -------------------------------------------------------
    @property
    def waiting(self) -> int:
        """Items queued and not yet taken by the writer loop (approximate, like ``qsize``)."""
        return self._queue.qsize()

    def submit(self, item: Item | HeldItem | AdoptHeldItem) -> None:
        """Queue an item; never drops it.

        Returns at once unless ``max_queued`` items already wait: then it waits for room, at
        most :data:`SUBMIT_WAIT_S` and once per episode (module docstring).
        """
        if self._queue.qsize() >= self.max_queued:
            self._wait_for_room()
        self._lag.submitted()
        self._queue.put(item)

    def _wait_for_room(self) -> None:
        if not self._room_waited:
            give_up = time.monotonic() + SUBMIT_WAIT_S
            while self._queue.qsize() >= self.max_queued:
                if time.monotonic() >= give_up:
                    self._room_waited = True
                    log.error(
                        "storage writer queue over its bound (%d items); queueing anyway",
                        self.max_queued,
                    )
                    break
                time.sleep(0.002)
            else:
                return
        self.over_bound += 1

    def lag_s(self) -> float:
        """Real seconds since the oldest item not yet in the database was submitted (any
        thread; 0 when everything submitted is stored)."""
        return self._lag.age_s()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued before this call is in the database; False on time-out.

        While the database is unreachable this returns False after ``timeout_s`` (the items are
        safe in the journal, but not yet in the record).
        """
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write (or spool) what is pending, then end the thread.

        What the database has not taken after :data:`STOP_CATCH_UP_S` stays in the journal
        file for the next start (module docstring).
        """
        self._stop_asked = True  # no catch-up slices while the queue drains up to the stop
        self._queue.put(_Stop())
        if self.is_alive():
            self.join(timeout_s)

    # -- the supervisor (this thread) ------------------------------------------------------
    def run(self) -> None:
        """Open the journal, run the writer loop on a worker thread, restart it if it stops."""
        self._journal = self._open_journal()
        self._lag.preload(self._journal.pending_batches)
        try:
            self._supervise()
        finally:
            self._journal.close()
            self._held.close()
            if self._file is not None:
                self._file.close()

    def _supervise(self) -> None:
        while True:
            worker = threading.Thread(target=self._work, name=f"{self.name}-loop", daemon=False)
            self._beat = time.monotonic()
            worker.start()
            stalled = False
            while worker.is_alive():
                worker.join(WATCH_INTERVAL_S)
                self._judge_lag()
                silent_s = time.monotonic() - self._beat
                if worker.is_alive() and silent_s >= STALL_ALARM_S and not stalled:
                    stalled = True
                    log.error("storage writer loop silent for %.0f s", silent_s)
                    # Only news while it looked healthy: an outage already says "not recorded".
                    self._status(False, f"storage writer not responding for {silent_s:.0f} s")
                elif silent_s < STALL_ALARM_S:
                    stalled = False
            if self._finished:
                return
            self.restarts += 1
            self._status(False, "storage writer stopped unexpectedly; restarted", news=True)
            time.sleep(RESTART_PAUSE_S)

    def _work(self) -> None:
        try:
            self._resume_in_hand()
            self._loop()
        except Exception as err:
            # Said loudly; the supervisor restarts the loop, which spools what it held.
            if isinstance(err, SQLAlchemyError):
                log.error("storage writer loop stopped: %s", safe_error(err))
            else:
                log.exception("storage writer loop stopped: %s", type(err).__name__)

    def _resume_in_hand(self, *, spool: bool = True) -> None:
        """Write the batches in hand; ``spool`` (a stopped loop's batches, whose outcome is
        unknown): to the journal, whose replay is idempotent (batch ids)."""
        while self._held_in_hand:
            chair, batch = self._held_in_hand[0]
            self._held.append(chair, batch)
            self._held_in_hand.pop(0)
        while self._in_hand:
            if spool:
                self._spool(self._in_hand[0])
            else:
                self._commit_or_spool(self._in_hand[0])
            self._lag.done_in_hand()  # stored, set aside, or spooled (then counted there)
            self._in_hand.pop(0)

    # -- the writer loop (worker thread) ---------------------------------------------------
    def _open_journal(self) -> Journal:
        if self.journal_dir is None:
            return MemoryJournal(self._db_label)
        try:
            journal = Journal.open(self.journal_dir, self._db_label)
        except OSError as err:
            log.error(
                "cannot open the journal in %s (%s); spooling in memory", self.journal_dir, err
            )
            return MemoryJournal(self._db_label)
        if not journal.empty:
            log.warning(
                "journal %s holds %d batches from an earlier run; replaying",
                journal.path,
                journal.pending_batches,
            )
        return journal

    def _loop(self) -> None:
        assert self._journal is not None
        deadline = time.monotonic() + self.batch_interval_s
        while True:
            self._beat = time.monotonic()
            catching_up = self._can_catch_up() and not self._spilling and not self._stop_asked
            timeout = (
                0.0 if catching_up else max(0.0, min(deadline, self._next_watch) - time.monotonic())
            )
            adopt = self._take(timeout)
            if time.monotonic() >= self._next_watch:
                self._watch_file()
                self._next_watch = time.monotonic() + WATCH_INTERVAL_S
            self._note_pressure()
            self._judge_lag()
            due = (
                self._stopping
                or self._waiting
                or adopt
                or catching_up
                or len(self._pending) >= BATCH_MAX_ITEMS
                or time.monotonic() >= deadline
            )
            if not due:
                continue
            if self._pending:
                self._write_pending()
            if self._stopping:
                self._catch_up_at_stop()
            elif catching_up and self._can_catch_up():
                self._catch_up(CATCH_UP_SLICE_S)
            if self._backlog_empty():
                for marker in self._waiting:
                    marker.done.set()
                self._waiting = []
            if self._stopping:
                self._say_what_is_left()
                self._finished = True
                return
            deadline = time.monotonic() + self.batch_interval_s

    def _take(self, timeout: float) -> bool:
        """Move queued items to ``_pending``: wait up to ``timeout`` for the first, then take
        what is there, up to a batch; True when an adoption was taken (it is written at once).
        """
        try:
            got: Queued = (
                self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            )
        except queue.Empty:
            return False
        adopt = False
        # Sized from the database's recent speed, spilling or not: a spilled batch is replayed
        # in one transaction, which must stay short on a slow database.
        limit = self._take_limit()
        while True:
            if isinstance(got, _Stop):
                self._stopping = True
                return adopt
            if isinstance(got, _Flush):
                self._waiting.append(got)
            else:
                self._lag.took()
                self._pending.append(got)
                adopt = adopt or isinstance(got, AdoptHeldItem)
            if len(self._pending) >= limit:
                return adopt
            try:
                got = self._queue.get_nowait()
            except queue.Empty:
                return adopt

    def _note_pressure(self) -> None:
        """Start spilling when too many items wait, stop when few do.

        Memory only: a burst spills and is replayed within seconds, which is no news for the
        nurse (INFO); whether the record is late is :meth:`_judge_lag`'s question.
        """
        waiting = self._queue.qsize() + len(self._pending)
        self.max_waiting = max(self.max_waiting, waiting)
        if waiting < self.max_queued // 2:
            self._room_waited = False
        if not self._spilling and waiting > self.spill_at:
            self._spilling = True
            self.spill_episodes += 1
            log.info("storage: %d items waiting; spilling to the journal", waiting)
        elif self._spilling and waiting <= self.spill_at // 2:
            self._spilling = False

    def _judge_lag(self) -> None:
        """Raise RECORDING FALLING BEHIND when the oldest item not yet in the database is
        ``behind_after_s`` old, end it below ``caught_up_s`` (module docstring).

        Only while the writer looks healthy: an outage or a silent writer already says the
        session is not recorded, which is the graver news.
        """
        age = self._lag.age_s()
        with self._lag_lock:
            self.max_lag_s = max(self.max_lag_s, age)
            if not self._behind:
                if age >= self.behind_after_s and self._healthy:
                    self._behind = True
                    self.behind_episodes += 1
                    self._status(
                        False,
                        f"{RECORDING_BEHIND}: the oldest data not yet in the database are "
                        f"{age:.0f} s old; they wait in order, in the local journal",
                    )
            elif age < self.caught_up_s:
                self._behind = False
                if self._detail.startswith(RECORDING_BEHIND):
                    log.info("storage caught up after falling behind (%.1f s late)", age)
                    self._status(True, "")

    def _can_catch_up(self) -> bool:
        return (
            not self._backlog_empty()
            and self._file_problem is None
            and time.monotonic() >= self._retry_at
        )

    def _catch_up_at_stop(self) -> None:
        """Replay what the journal holds before the thread ends: all of it when it is kept in
        memory (it would be lost), at most :data:`STOP_CATCH_UP_S` of a journal file (the rest
        is replayed at the next start)."""
        in_memory = isinstance(self._journal, MemoryJournal) or not self._overflow.empty
        if self._can_catch_up():
            self._catch_up(None if in_memory else STOP_CATCH_UP_S, yield_to_queue=False)

    def _say_what_is_left(self) -> None:
        assert self._journal is not None
        if self._file is not None and self._file_problem is not None:
            rescue_file(self._file, self._file_problem, self.journal_dir, self.journal_path)
        if not self._journal.empty:
            # Two causes, said apart: the database was gone, or it was slower than the monitors
            # and the stop's catch-up budget ran out (the journal is fsync'd: nothing is lost).
            behind = self._healthy or self._detail.startswith(RECORDING_BEHIND)
            log.warning(
                "%s at shutdown: %d batches kept in %s for next start",
                "record behind (stop's catch-up time spent)" if behind else "database unavailable",
                self._journal.pending_batches,
                self._journal.path,
            )
        if not self._overflow.empty:
            log.error(
                "database and journal unavailable at shutdown: %d batches lost",
                self._overflow.pending_batches,
            )

    def _write_pending(self) -> None:
        """Write the pending items in order: record items as one batch, held items to their
        chair's spool, and each adoption after everything queued before it.

        Items leave ``_pending`` only once their batch is in hand (``_in_hand``,
        ``_held_in_hand``), so a loop that stops anywhere here loses and repeats nothing.
        """
        while self._pending:
            cut = next(
                (i for i, g in enumerate(self._pending) if isinstance(g, AdoptHeldItem)),
                len(self._pending),
            )
            items: list[Item] = []
            held: dict[str, list[Item]] = {}
            for got in self._pending[:cut]:
                if isinstance(got, HeldItem):
                    held.setdefault(got.chair, []).append(got.item)
                elif not isinstance(got, AdoptHeldItem):
                    items.append(got)
            self._held_in_hand = [(chair, make_batch(its)) for chair, its in held.items()]
            self._in_hand = [make_batch(items)] if items else []
            self._lag.batched(cut, record=bool(items))
            if items and self._in_hand[0].ops:
                per_item = len(self._in_hand[0].ops) / len(items)
                self._ops_per_item = 0.7 * self._ops_per_item + 0.3 * per_item
            del self._pending[:cut]
            self._resume_in_hand(spool=False)
            if self._pending:  # an adoption: after everything before it
                adopt = self._pending.pop(0)
                self._lag.batched(1, record=False)
                assert isinstance(adopt, AdoptHeldItem)
                self._adopt(adopt)

    def _adopt(self, adopt: AdoptHeldItem) -> None:
        """Write the chair's held batches into its record, then empty its spool.

        Their markers stay in the database until the spool is empty, so a crash in between
        cannot apply a held batch twice.
        """
        batches = [for_session(b, adopt.session_id) for b in self._held.take(adopt.chair)]
        if not batches:
            return
        self._in_hand = list(batches)
        committed: list[str] = []
        for batch in batches:
            self._beat = time.monotonic()
            if self._commit_or_spool(batch, held=True):
                committed.append(batch.uid)
            self._in_hand.pop(0)
        self._held.clear(adopt.chair)
        self._deletable_markers.extend(committed)
        if len(committed) == len(batches):
            start_no_later_than(self.engine, adopt.session_id, batches)
        log.info(
            "chair %s: %d held batches written to session %s",
            adopt.chair,
            len(batches),
            adopt.session_id,
        )

    # -- watching the database file --------------------------------------------------------
    def _watch_file(self) -> None:
        """Notice deleted journal files and a deleted or replaced SQLite file, and put ours
        back (see file_watch)."""
        assert self._journal is not None
        try:
            self._journal.relink_if_gone()
            self._held.relink_if_gone()
        except OSError as err:
            log.error("cannot put a deleted journal file back yet: %s", err)
        if self._file is None:
            return
        what = self._file.check()
        if what is None:
            return
        if self._file_problem != what:
            log.error("database file %s was %s while in use", self._file.path, what)
            self._status(
                False,
                f"database file {self._file.path} was {what}; data are kept in the local "
                "journal until it is restored",
                news=True,
            )
        self._file_problem = what
        try:
            done = self._file.restore()
        except (OSError, sqlite3.Error) as err:
            log.error("cannot restore database file %s yet: %s", self._file.path, err)
            return
        log.warning("%s", done)
        self._file_problem = None
        self._retry_at = 0.0

    # -- writing ---------------------------------------------------------------------------
    def _backlog_empty(self) -> bool:
        assert self._journal is not None
        return self._journal.empty and self._overflow.empty and self._file_problem is None

    def _commit_or_spool(self, batch: Batch, *, held: bool = False) -> bool:
        """Commit ``batch`` (True), or spool it behind the backlog (False).

        ``held``: a batch from a held spool; it may have been committed before a crash (its
        marker is then in the database and it is skipped), and its marker is kept until the
        caller has emptied the spool.
        """
        if self._backlog_empty() and not self._spilling:
            screened, isolated = screen(batch)
            started = time.monotonic()
            try:
                with self.engine.begin() as conn:
                    if (
                        not held
                        or conn.scalar(
                            select(WriteBatchRow.uid).where(WriteBatchRow.uid == batch.uid)
                        )
                        is None
                    ):
                        self.rows_written += apply_batches(conn, [screened])
                    self._delete_markers(conn)
            except Exception as err:
                if not is_unavailable(err):
                    outcome = self._store_refused(screened, err, isolated, held=held)
                    if outcome is not None:
                        return outcome
                else:
                    self._unavailable(err)
            else:
                self._note_speed(len(screened.ops), started)
                if not held:
                    self._deletable_markers.append(batch.uid)
                self._set_aside(batch, isolated)
                if not isolated:
                    self._recording_again()
                return True
        # Behind a non-empty journal, spilling, or the database just failed: keep the order.
        self._spool(batch)
        return False

    def _spool(self, batch: Batch) -> None:
        assert self._journal is not None
        self.batches_spooled += 1
        self._lag.spool_in_hand()  # journal and overflow replay in this order too
        if self._overflow.empty:
            try:
                self._journal.append(batch)
                return
            except OSError as err:
                log.error("journal %s unwritable (%s); spooling in memory", self._journal.path, err)
                self._status(False, f"database and local journal unavailable: {err}")
        self._overflow.append(batch)

    def _store_refused(
        self, batch: Batch, err: Exception, isolated: list[Isolated], *, held: bool
    ) -> bool | None:
        """Find the rows the database refuses, set them aside with a technical event each,
        and store the rest in one transaction.

        Returns:
            True when the rest was stored, False when the whole batch had to be set aside,
            None when the database went away meanwhile (nothing stored).
        """
        try:
            kept, more = self._split(batch)
            with self.engine.begin() as conn:
                self.rows_written += apply_batches(conn, [kept])
        except Exception as again:
            if is_unavailable(again):
                self._unavailable(again)
                return None
            self._reject(batch, again)
            self._set_aside(batch, isolated)
            return False
        if not held:
            self._deletable_markers.append(batch.uid)
        self._set_aside(batch, isolated + more)
        return True

    def _split(self, batch: Batch) -> tuple[Batch, list[Isolated]]:
        """Try each row alone (rolled back) to find the ones the database refuses.

        Raises:
            Exception: the database went away meanwhile (the caller spools the batch).
        """
        ops: list[Op] = []
        isolated: list[Isolated] = []
        for op in batch.ops:
            why = self._probe(op)
            if why is None:
                ops.append(op)
                continue
            isolated.append(Isolated(op, why))
            note = record_error_op(op, why)
            if note is not None and problem(*note) is None and self._probe(note) is None:
                ops.append(note)
        return Batch(uid=batch.uid, ops=tuple(ops)), isolated

    def _probe(self, op: Op) -> str | None:
        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                apply_ops(conn, [op])
            except Exception as err:
                if is_unavailable(err):
                    raise
                return f"the database refused it ({safe_error(err)})"
            finally:
                trans.rollback()
        return None

    def _set_aside(self, batch: Batch, isolated: list[Isolated]) -> None:
        """Keep isolated rows in the rejected-batch file and say so (without their values)."""
        if not isolated:
            return
        self.rows_isolated += len(isolated)
        self.batches_rejected += 1
        reasons = sorted({i.reason for i in isolated})
        log.error(
            "storage: %d row(s) of batch %s not stored (kept aside): %s",
            len(isolated),
            batch.uid,
            "; ".join(reasons),
        )
        kept = keep_aside(
            self.journal_dir,
            self._db_label,
            Batch(uid=batch.uid, ops=tuple(i.op for i in isolated)),
        )
        self._status(False, f"{len(isolated)} row(s) could not be stored ({kept}): {reasons[0]}")

    def _reject(self, batch: Batch, err: Exception) -> None:
        """A batch the database refuses as a whole (a bug, not an outage): keep it on disk,
        say so loudly (without its values)."""
        self.batches_rejected += 1
        log.error("storage: the database refused batch %s: %s", batch.uid, safe_error(err))
        kept = keep_aside(self.journal_dir, self._db_label, batch)
        self._status(False, f"the database refused a batch ({kept}): {safe_error(err)}")

    def _catch_up(self, budget_s: float | None, *, yield_to_queue: bool = True) -> None:
        """Replay spooled batches, oldest first, until none is left, the database fails, or
        ``budget_s`` has passed (None: no limit); ``yield_to_queue``: also stop when items pile
        up in the queue (not at stop: nothing more is read from it)."""
        assert self._journal is not None
        until = None if budget_s is None else time.monotonic() + budget_s
        for spool in (self._journal, self._overflow):
            if not self._replay(spool, until, yield_to_queue=yield_to_queue):
                return
        # The journal file is empty and fsync'd: no batch can be replayed again.
        self._deletable_markers.extend(self._replayed_markers)
        self._replayed_markers = []
        self._recording_again()
        log.info("journal replayed; storage caught up")

    def _recording_again(self) -> None:
        """Say the record is complete again, unless RECORDING FALLING BEHIND is what is shown
        (:meth:`_judge_lag` ends that one, on the age of the oldest unwritten data)."""
        with self._lag_lock:
            if self._behind and self._detail.startswith(RECORDING_BEHIND):
                return
            # Behind, then an outage took over: judged afresh once the outage has ended.
            self._behind = False
            self._status(True, "")

    def _replay(self, spool: Journal, until: float | None, *, yield_to_queue: bool) -> bool:
        """Replay one spool; False when the database failed (retry later), when ``until`` has
        passed, or when ``yield_to_queue`` and items pile up (after one chunk at least)."""
        first = True
        while not spool.empty:
            piling = yield_to_queue and self._queue.qsize() > self.spill_at // 2
            if not first and ((until is not None and time.monotonic() >= until) or piling):
                return False
            first = False
            self._beat = time.monotonic()  # a long catch-up is not a hung writer
            chunk = spool.peek(REPLAY_CHUNK, self._replay_ops())
            started = time.monotonic()
            try:
                with self.engine.begin() as conn:
                    done = set(
                        conn.scalars(
                            select(WriteBatchRow.uid).where(
                                WriteBatchRow.uid.in_([b.uid for _o, b in chunk])
                            )
                        )
                    )
                    todo = [(b, *screen(b)) for _o, b in chunk if b.uid not in done]
                    self.rows_written += apply_batches(conn, [s for _b, s, _i in todo])
                for original, _screened, isolated in todo:
                    self._set_aside(original, isolated)
            except Exception as err:
                if is_unavailable(err):
                    self._unavailable(err)
                    self._retry_at = time.monotonic() + RETRY_AFTER_S
                    return False
                # A batch the database refuses would block the journal forever: go through
                # the chunk one batch at a time so only the offending rows are set aside.
                if not self._replay_one_by_one(spool, chunk):
                    return False
                continue
            self._note_speed(sum(len(s.ops) for _b, s, _i in todo), started)
            self._replayed_markers.extend(b.uid for _o, b in chunk)
            spool.advance(chunk[-1][0], len(chunk))
            self._lag.replayed(len(chunk))
        return True

    def _note_speed(self, rows: int, started: float) -> None:
        """Remember how fast the database took ``rows`` rows (a moving average)."""
        if rows <= 0:
            return
        s_per_row = (time.monotonic() - started) / rows
        self._s_per_row = (
            s_per_row if self._s_per_row <= 0 else 0.7 * self._s_per_row + 0.3 * s_per_row
        )

    def _take_limit(self) -> int:
        """Items for one transaction: a batch, or more when they wait already and the database
        takes them within :data:`TXN_TARGET_S`."""
        if self._s_per_row <= 0:
            return BATCH_MAX_ITEMS
        fits = int(TXN_TARGET_S / (self._s_per_row * self._ops_per_item))
        return max(BATCH_MAX_ITEMS, min(BATCH_TAKE_MAX, fits))

    def _replay_ops(self) -> int:
        """Rows for one replay transaction: about one catch-up slice at the recent speed."""
        if self._s_per_row <= 0:
            return BATCH_MAX_ITEMS
        return max(1, min(REPLAY_MAX_OPS, int(TXN_TARGET_S / self._s_per_row)))

    def _replay_one_by_one(self, spool: Journal, chunk: list[tuple[int, Batch]]) -> bool:
        for offset, batch in chunk:
            screened, isolated = screen(batch)
            try:
                with self.engine.begin() as conn:
                    known = conn.scalar(
                        select(WriteBatchRow.uid).where(WriteBatchRow.uid == batch.uid)
                    )
                    if known is None:
                        self.rows_written += apply_batches(conn, [screened])
                self._set_aside(batch, isolated)
            except Exception as err:
                if is_unavailable(err):
                    self._unavailable(err)
                    self._retry_at = time.monotonic() + RETRY_AFTER_S
                    return False
                if self._store_refused(screened, err, isolated, held=True) is None:
                    self._retry_at = time.monotonic() + RETRY_AFTER_S
                    return False
            self._replayed_markers.append(batch.uid)
            spool.advance(offset, 1)
            self._lag.replayed(1)
        return True

    def _delete_markers(self, conn: Connection) -> None:
        if self._deletable_markers:
            now, self._deletable_markers = (
                self._deletable_markers[:MARKER_DELETE_CHUNK],
                self._deletable_markers[MARKER_DELETE_CHUNK:],
            )
            conn.execute(delete(WriteBatchRow).where(WriteBatchRow.uid.in_(now)))

    def _unavailable(self, err: BaseException) -> None:
        where = (
            "spooling to the local journal"
            if self.journal_path is not None
            else "held in memory only: lost if this process ends"
        )
        self._status(False, f"database unavailable: {safe_error(err)} ({where})")

    def _status(self, healthy: bool, detail: str, *, news: bool = False) -> None:
        """Report a change of health through ``on_status`` (``news``: also a new reason while
        unhealthy: the writer itself failed, the database file vanished).

        Called from the loop and the supervisor; a failing callback is logged, never raised
        (it must not stop the writer).
        """
        with self._status_lock:
            # Falling behind and then unreachable: a different condition, so news.
            news = news or (
                self._detail.startswith(RECORDING_BEHIND)
                and not detail.startswith(RECORDING_BEHIND)
            )
            if healthy == self._healthy and (healthy or not news or detail == self._detail):
                return
            self._healthy, self._detail = healthy, detail
            if healthy:
                log.info("storage available again")
            else:
                log.error("storage: %s", detail)
            if self._on_status is None:
                return
            try:
                self._on_status(healthy, detail)
            except Exception:
                log.exception("storage status callback failed")
