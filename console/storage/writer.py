"""The one thread that writes session records, in batches, off the UI thread.

Readings, alarm transitions, technical events, waveform seconds and lifecycle events are queued
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
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from console.domain.alarms import AlarmEvent
from console.domain.session import EventKind, SessionEvent
from console.storage.engine import describe_url
from console.storage.journal import Batch, Journal, MemoryJournal, Op
from console.storage.schema import (
    AlarmLogRow,
    AlarmRow,
    DischargeCheckRow,
    EventRow,
    ProfileChangeRow,
    ReadingRow,
    SessionRow,
    TechnicalEventRow,
    WaveformRow,
    WriteBatchRow,
)
from devices.model import Reading, TechnicalEvent, TechnicalEventKind

log = logging.getLogger("storage")

BATCH_INTERVAL_S = 0.25
BATCH_MAX_ITEMS = 200
RETRY_AFTER_S = 1.0
#: Journal batches replayed per transaction when catching up.
REPLAY_CHUNK = 64
#: Markers deleted per transaction (bounded so a long catch-up never makes one huge DELETE).
MARKER_DELETE_CHUNK = 500


# -- items (what producers submit) ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReadingsItem:
    """Readings of one session."""

    session_id: int
    readings: tuple[Reading, ...]


@dataclass(frozen=True, slots=True)
class AlarmItem:
    """One alarm transition of one session."""

    session_id: int
    event: AlarmEvent


@dataclass(frozen=True, slots=True)
class TechnicalItem:
    """One technical event of one session."""

    session_id: int
    event: TechnicalEvent


#: Which frame errors go into the record: the runner counts every one, the record keeps a
#: sample (the 1st, 10th, 100th, 1000th), so a noisy line cannot flood the database.
FRAME_ERROR_SAMPLES = frozenset({1, 10, 100, 1000})


def worth_recording(event: TechnicalEvent) -> bool:
    """True for technical events the session record keeps (all but unsampled frame errors)."""
    return event.kind is not TechnicalEventKind.FRAME_ERROR or event.count in FRAME_ERROR_SAMPLES


@dataclass(frozen=True, slots=True)
class WaveformItem:
    """One chunk (normally one second) of one waveform channel.

    ``samples`` are little-endian float32 bytes (``numpy.asarray(x, "<f4").tobytes()``).
    """

    session_id: int
    channel: str
    start_at: datetime
    sample_rate_hz: float
    samples: bytes


@dataclass(frozen=True, slots=True)
class SessionEventItem:
    """A lifecycle transition or annotation (console.domain.session) of one session."""

    session_id: int
    event: SessionEvent


@dataclass(frozen=True, slots=True)
class SessionEndItem:
    """Monitoring of a session ended (the chair was stopped)."""

    session_id: int
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileChangeItem:
    """A change of alarm limits: who, when, why, old and new (JSON text)."""

    at: datetime
    actor: str
    reason: str
    old_json: str
    new_json: str
    session_id: int | None = None
    profile_id: int | None = None


Item = (
    ReadingsItem
    | AlarmItem
    | TechnicalItem
    | WaveformItem
    | SessionEventItem
    | SessionEndItem
    | ProfileChangeItem
)


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class _Stop:
    pass


StatusCallback = Callable[[bool, str], None]


def _is_unavailable(err: SQLAlchemyError) -> bool:
    """True for 'the database is not there' (retry later), False for a bug in what we sent."""
    if isinstance(err, OperationalError | InterfaceError):
        return True
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


class StorageWriter(threading.Thread):
    """Batches queued items into transactions on its own thread; spools when the DB is away.

    Args:
        engine: the database.
        on_status: called (from the writer thread) with ``(healthy, detail)`` whenever the
            database becomes unavailable or available again.
        journal_dir: where the fsync'd spool lives (the per-user data dir in the app); None
            keeps the spool in memory, which survives an outage but not a crash.
        batch_interval_s: longest time an item waits before its transaction.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        on_status: StatusCallback | None = None,
        journal_dir: Path | None = None,
        batch_interval_s: float = BATCH_INTERVAL_S,
    ) -> None:
        super().__init__(name="storage-writer", daemon=False)
        self.engine = engine
        self.journal_dir = journal_dir
        self.batch_interval_s = batch_interval_s
        self._queue: queue.SimpleQueue[Item | _Flush | _Stop] = queue.SimpleQueue()
        self._on_status = on_status
        self._healthy = True
        self._db_label = describe_url(engine.url)
        self._journal: Journal | None = None
        # Batches the journal file could not take (its disk is full too): kept in memory,
        # behind the journal, so the order still holds.
        self._overflow = MemoryJournal(self._db_label)
        self._deletable_markers: list[str] = []
        self._replayed_markers: list[str] = []
        self._retry_at = 0.0
        self.rows_written = 0
        self.batches_spooled = 0
        self.batches_rejected = 0

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
        spools: list[Journal] = [self._overflow]
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
    def submit(self, item: Item) -> None:
        """Queue an item; never blocks."""
        self._queue.put(item)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued before this call is in the database; False on time-out.

        While the database is unreachable this returns False after ``timeout_s`` (the items are
        safe in the journal, but not yet in the record).
        """
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write (or spool) what is pending, then end the thread."""
        self._queue.put(_Stop())
        if self.is_alive():
            self.join(timeout_s)

    # -- consumer side ---------------------------------------------------------------------
    def run(self) -> None:
        """The writer loop: collect, batch, write or spool, catch up."""
        self._journal = self._open_journal()
        try:
            self._loop()
        finally:
            self._journal.close()

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
        pending: list[Item] = []
        waiting: list[_Flush] = []
        deadline = time.monotonic() + self.batch_interval_s
        stopping = False
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                got = self._queue.get(timeout=timeout)
            except queue.Empty:
                got = None
            if isinstance(got, _Stop):
                stopping = True
            elif isinstance(got, _Flush):
                waiting.append(got)
            elif got is not None:
                pending.append(got)
            due = (
                stopping
                or waiting
                or len(pending) >= BATCH_MAX_ITEMS
                or time.monotonic() >= deadline
            )
            if not due:
                continue
            if pending:
                self._commit_or_spool(make_batch(pending))
                pending = []
            if not self._backlog_empty() and time.monotonic() >= self._retry_at:
                self._catch_up()
            if self._backlog_empty():
                for marker in waiting:
                    marker.done.set()
                waiting = []
            if stopping:
                if not self._journal.empty and self.journal_path is None:
                    log.error(
                        "database unavailable at shutdown: %d batches held in memory only "
                        "(no journal file) are lost",
                        self._journal.pending_batches,
                    )
                elif not self._journal.empty:
                    log.warning(
                        "database unavailable at shutdown: %d batches kept in %s for next start",
                        self._journal.pending_batches,
                        self._journal.path,
                    )
                if not self._overflow.empty:
                    log.error(
                        "database and journal unavailable at shutdown: %d batches lost",
                        self._overflow.pending_batches,
                    )
                return
            deadline = time.monotonic() + self.batch_interval_s

    def _backlog_empty(self) -> bool:
        assert self._journal is not None
        return self._journal.empty and self._overflow.empty

    def _commit_or_spool(self, batch: Batch) -> None:
        assert self._journal is not None
        if self._backlog_empty():
            try:
                with self.engine.begin() as conn:
                    self.rows_written += apply_batches(conn, [batch])
                    self._delete_markers(conn)
                self._deletable_markers.append(batch.uid)
                self._status(True, "")
                return
            except SQLAlchemyError as err:
                if not _is_unavailable(err):
                    self._reject(batch, err)
                    return
                self._unavailable(err)
        # Behind a non-empty journal, or the database just failed: keep the order, spool.
        self.batches_spooled += 1
        if self._overflow.empty:
            try:
                self._journal.append(batch)
                return
            except OSError as err:
                log.error("journal %s unwritable (%s); spooling in memory", self._journal.path, err)
                if self._on_status is not None:
                    self._on_status(False, f"database and local journal unavailable: {err}")
        self._overflow.append(batch)

    def _catch_up(self) -> None:
        """Replay spooled batches, oldest first, until none is left or the database fails."""
        assert self._journal is not None
        for spool in (self._journal, self._overflow):
            if not self._replay(spool):
                return
        # The journal file is empty and fsync'd: no batch can be replayed again.
        self._deletable_markers.extend(self._replayed_markers)
        self._replayed_markers = []
        self._status(True, "")
        log.info("journal replayed; storage caught up")

    def _replay(self, spool: Journal) -> bool:
        """Replay one spool; False when the database failed (retry later)."""
        while not spool.empty:
            chunk = spool.peek(REPLAY_CHUNK)
            try:
                with self.engine.begin() as conn:
                    done = set(
                        conn.scalars(
                            select(WriteBatchRow.uid).where(
                                WriteBatchRow.uid.in_([b.uid for _o, b in chunk])
                            )
                        )
                    )
                    todo = [b for _o, b in chunk if b.uid not in done]
                    self.rows_written += apply_batches(conn, todo)
            except SQLAlchemyError as err:
                if _is_unavailable(err):
                    self._unavailable(err)
                    self._retry_at = time.monotonic() + RETRY_AFTER_S
                    return False
                # A batch the database refuses would block the journal forever: go through
                # the chunk one batch at a time so only the offending one is set aside.
                if not self._replay_one_by_one(spool, chunk):
                    return False
                continue
            self._replayed_markers.extend(b.uid for _o, b in chunk)
            spool.advance(chunk[-1][0], len(chunk))
        return True

    def _replay_one_by_one(self, spool: Journal, chunk: list[tuple[int, Batch]]) -> bool:
        for offset, batch in chunk:
            try:
                with self.engine.begin() as conn:
                    known = conn.scalar(
                        select(WriteBatchRow.uid).where(WriteBatchRow.uid == batch.uid)
                    )
                    if known is None:
                        self.rows_written += apply_batches(conn, [batch])
            except SQLAlchemyError as err:
                if _is_unavailable(err):
                    self._unavailable(err)
                    self._retry_at = time.monotonic() + RETRY_AFTER_S
                    return False
                self._reject(batch, err)
            self._replayed_markers.append(batch.uid)
            spool.advance(offset, 1)
        return True

    def _delete_markers(self, conn: Connection) -> None:
        if self._deletable_markers:
            now, self._deletable_markers = (
                self._deletable_markers[:MARKER_DELETE_CHUNK],
                self._deletable_markers[MARKER_DELETE_CHUNK:],
            )
            conn.execute(delete(WriteBatchRow).where(WriteBatchRow.uid.in_(now)))

    def _reject(self, batch: Batch, err: SQLAlchemyError) -> None:
        """A batch the database refuses (a bug, not an outage): keep it on disk, say so loudly."""
        self.batches_rejected += 1
        log.error("storage: the database refused batch %s: %s", batch.uid, err)
        if self.journal_dir is not None:
            from console.storage.journal import encode_batch, journal_key

            path = self.journal_dir / f"rejected-{journal_key(self._db_label)}.jsonl"
            with open(path, "ab") as fh:
                fh.write(encode_batch(batch, self._db_label))
        if self._on_status is not None:
            self._on_status(False, f"the database refused a batch (kept aside): {err}")
            self._healthy = False

    def _unavailable(self, err: SQLAlchemyError) -> None:
        orig = getattr(err, "orig", None)
        detail = f"database unavailable: {orig or err}".strip()
        where = (
            f"spooling to the local journal {self.journal_path}"
            if self.journal_path is not None
            else "holding in memory only: lost if this process ends first"
        )
        self._status(False, f"{detail.splitlines()[0]} ({where})")

    def _status(self, healthy: bool, detail: str) -> None:
        if healthy == self._healthy:
            return
        self._healthy = healthy
        if healthy:
            log.info("storage available again")
        else:
            log.error("storage: %s", detail)
        if self._on_status is not None:
            self._on_status(healthy, detail)


# -- items -> operations -> rows --------------------------------------------------------------
def make_batch(items: Iterable[Item]) -> Batch:
    """Turn queued items into one batch of plain operations (journal-able, replayable)."""
    ops: list[Op] = []
    for item in items:
        ops.extend(item_ops(item))
    return Batch(uid=uuid.uuid4().hex, ops=tuple(ops))


def _label(value: Any) -> Any:
    """An enum's stored text; anything else unchanged (new event shapes stay storable)."""
    for attr in ("label", "value"):
        if hasattr(value, attr) and not isinstance(value, str | int | float):
            return getattr(value, attr)
    return value


def item_ops(item: Item) -> list[Op]:
    """The operations of one item."""
    if isinstance(item, ReadingsItem):
        return [
            (
                "reading",
                {
                    "session_id": item.session_id,
                    "parameter": r.metric.value,
                    "value": r.value,
                    "unit": r.unit,
                    "valid": r.valid,
                    "flags": ",".join(f.value for f in r.flags),
                    "device_time": r.device_time,
                    "received_at": r.received_at,
                },
            )
            for r in item.readings
        ]
    if isinstance(item, AlarmItem):
        ev = item.event
        kind = _label(ev.kind)
        # Events not about one condition's urgency (audio pause, profile change) carry no
        # priority: stored as "".
        priority = "" if ev.priority is None else getattr(ev.priority, "label", str(ev.priority))
        # Technical alarms have no metric: store their kind (comm_lost, sensor_off, ...).
        technical = getattr(ev, "technical_kind", None)
        metric = getattr(ev, "metric", None)
        actor = getattr(ev, "actor", None)
        return [
            (
                "alarm",
                {
                    "session_id": item.session_id,
                    "condition": str(ev.key),
                    "kind": str(kind)[:32],
                    "parameter": str(_label(metric if metric is not None else technical) or ""),
                    "priority": str(priority),
                    "value": getattr(ev, "value", None),
                    "limit": getattr(ev, "limit", None),
                    "message": str(getattr(ev, "message", ""))[:256],
                    "at": ev.at,
                    "actor": None if actor is None else str(actor)[:64],
                },
            )
        ]
    if isinstance(item, TechnicalItem):
        return [
            (
                "technical",
                {
                    "session_id": item.session_id,
                    "kind": item.event.kind.value,
                    "detail": item.event.detail[:512],
                    "at": item.event.at,
                },
            )
        ]
    if isinstance(item, WaveformItem):
        return [
            (
                "waveform",
                {
                    "session_id": item.session_id,
                    "channel": item.channel,
                    "start_at": item.start_at,
                    "sample_rate_hz": item.sample_rate_hz,
                    "data": item.samples,
                },
            )
        ]
    if isinstance(item, SessionEventItem):
        return [("event", {"session_id": item.session_id, **event_values(item.event)})]
    if isinstance(item, SessionEndItem):
        return [("session_end", {"session_id": item.session_id, "ended_at": item.ended_at})]
    return [
        (
            "profile_change",
            {
                "session_id": item.session_id,
                "profile_id": item.profile_id,
                "at": item.at,
                "actor": item.actor,
                "reason": item.reason,
                "old_json": item.old_json,
                "new_json": item.new_json,
            },
        )
    ]


def event_values(ev: SessionEvent) -> dict[str, Any]:
    """Column values of an ``events`` row for a lifecycle event (without session_id)."""
    return {
        "kind": ev.kind,
        "at": ev.at,
        "author": ev.author,
        "reason": ev.reason,
        "phase": None if ev.phase is None else ev.phase.value,
        "rate_ml_per_h": ev.rate_ml_per_h,
        "dose_mg": ev.dose_mg,
        "score": ev.score,
        "text": ev.text,
        "data": ev.data_json(),
    }


def apply_batches(conn: Connection, batches: Iterable[Batch]) -> int:
    """Apply batches in order inside the caller's transaction, with their markers.

    Returns:
        Rows written (markers not counted).
    """
    rows = 0
    markers: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for batch in batches:
        rows += apply_ops(conn, batch.ops)
        markers.append({"uid": batch.uid, "applied_at": now})
    if markers:
        conn.execute(insert(WriteBatchRow), markers)
    return rows


def apply_ops(conn: Connection, ops: Iterable[Op]) -> int:
    """Apply operations in order inside the caller's transaction; returns rows written.

    Consecutive readings (and waveforms, technical events) are inserted with one executemany;
    anything stateful (alarms, session updates) is applied in its place in the order.
    """
    rows = 0
    run_name = ""
    run: list[dict[str, Any]] = []
    for name, payload in ops:
        if name != run_name and run:
            rows += _insert_run(conn, run_name, run)
            run = []
        run_name = name
        if name in _BULK:
            run.append(payload)
            continue
        run_name = ""
        _apply_single(conn, name, payload)
        rows += 1
    if run:
        rows += _insert_run(conn, run_name, run)
    return rows


_BULK = {
    "reading": ReadingRow,
    "technical": TechnicalEventRow,
    "waveform": WaveformRow,
}


def _insert_run(conn: Connection, name: str, run: list[dict[str, Any]]) -> int:
    conn.execute(insert(_BULK[name]), run)
    return len(run)


def _apply_single(conn: Connection, name: str, p: dict[str, Any]) -> None:
    if name == "alarm":
        _write_alarm(conn, p)
    elif name == "event":
        _write_event(conn, p)
    elif name == "session_end":
        conn.execute(
            update(SessionRow)
            .where(SessionRow.id == p["session_id"])
            .values(ended_at=p["ended_at"])
        )
    elif name == "profile_change":
        conn.execute(insert(ProfileChangeRow).values(**p))
    else:  # a journal written by a newer console: keep it loud, never guess
        raise ValueError(f"unknown journal operation {name!r}")


def _write_alarm(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(
        insert(AlarmLogRow).values(
            session_id=p["session_id"],
            condition=p["condition"],
            kind=p["kind"],
            priority=p["priority"],
            value=p["value"],
            message=p["message"],
            at=p["at"],
            actor=p["actor"],
        )
    )
    open_row = and_(
        AlarmRow.session_id == p["session_id"],
        AlarmRow.condition == p["condition"],
        AlarmRow.ended_at.is_(None),
    )
    kind = p["kind"]
    if kind == "onset":
        conn.execute(
            insert(AlarmRow).values(
                session_id=p["session_id"],
                condition=p["condition"],
                parameter=p["parameter"][:16],
                priority=p["priority"],
                limit_value=p["limit"],
                value=p["value"],
                message=p["message"],
                onset_at=p["at"],
            )
        )
    elif kind == "escalated":
        conn.execute(
            update(AlarmRow)
            .where(open_row)
            .values(
                priority=p["priority"],
                value=p["value"],
                message=p["message"],
                limit_value=p["limit"],
            )
        )
    elif kind == "end":
        conn.execute(update(AlarmRow).where(open_row).values(ended_at=p["at"]))
    # Any other kind (de-escalated, acknowledged, paused, or one this version does not know)
    # is kept in alarm_log only: the condition row records onset, highest priority and end.


def _write_event(conn: Connection, p: dict[str, Any]) -> None:
    conn.execute(insert(EventRow).values(**p))
    sid = p["session_id"]
    values: dict[str, Any] = {}
    if p["phase"] is not None:
        values["phase"] = p["phase"]
    kind = p["kind"]
    data: dict[str, Any] = json.loads(p["data"]) if p["data"] else {}
    if kind == EventKind.INFUSION_PLANNED:
        values.update(
            weight_kg=data.get("weight_kg"),
            dose_mg_per_kg=data.get("dose_mg_per_kg"),
            dose_mg=p["dose_mg"],
            rate_ml_per_h=p["rate_ml_per_h"],
            route=data.get("route"),
        )
    elif kind == EventKind.RATE_CHANGE:
        values["rate_ml_per_h"] = p["rate_ml_per_h"]
    elif kind == EventKind.RESUMED:
        values["resumed"] = True
    elif kind == EventKind.DISCHARGE_CHECK:
        conn.execute(
            insert(DischargeCheckRow).values(
                session_id=sid,
                item=str(data.get("item", "")),
                passed=bool(data.get("passed")),
                at=p["at"],
                author=p["author"],
                note=p["text"],
            )
        )
    if values:
        conn.execute(update(SessionRow).where(SessionRow.id == sid).values(**values))
