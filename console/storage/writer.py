"""The one thread that writes session records, in batches, off the UI thread.

Readings, alarm transitions and technical events are queued by the runner threads and written
every :data:`BATCH_INTERVAL_S` or :data:`BATCH_MAX_ITEMS` items, whichever comes first, in one
transaction, so a reading is durable well within a second of arrival.  When the database is
unreachable the writer keeps what it has, reports the condition and retries; it never drops a
row and never blocks a caller.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from console.domain.alarms import AlarmEvent, AlarmEventKind
from console.storage.schema import AlarmLogRow, AlarmRow, ReadingRow, TechnicalEventRow
from devices.model import Reading, TechnicalEvent

log = logging.getLogger("storage")

BATCH_INTERVAL_S = 0.25
BATCH_MAX_ITEMS = 200
RETRY_AFTER_S = 1.0


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


Item = ReadingsItem | AlarmItem | TechnicalItem


class _Flush:
    def __init__(self) -> None:
        self.done = threading.Event()


class _Stop:
    pass


StatusCallback = Callable[[bool, str], None]


class StorageWriter(threading.Thread):
    """Batches queued items into transactions on its own thread."""

    def __init__(self, engine: Engine, *, on_status: StatusCallback | None = None) -> None:
        super().__init__(name="storage-writer", daemon=False)
        self.engine = engine
        self._queue: queue.SimpleQueue[Item | _Flush | _Stop] = queue.SimpleQueue()
        self._on_status = on_status
        self._healthy = True
        self.rows_written = 0

    # -- producer side (any thread) -------------------------------------------------------
    def submit(self, item: Item) -> None:
        """Queue an item; never blocks."""
        self._queue.put(item)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued before this call is written; False on time-out."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is pending, then end the thread."""
        self._queue.put(_Stop())
        if self.is_alive():
            self.join(timeout_s)

    # -- consumer side ---------------------------------------------------------------------
    def run(self) -> None:
        pending: list[Item] = []
        waiting: list[_Flush] = []
        deadline = time.monotonic() + BATCH_INTERVAL_S
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
                if self._write(pending):
                    pending = []
                elif not stopping:
                    deadline = time.monotonic() + RETRY_AFTER_S
                    continue
            if not pending:
                for marker in waiting:
                    marker.done.set()
                waiting = []
            if stopping:
                if pending:
                    log.error("storage unavailable at shutdown: %d items not written", len(pending))
                return
            deadline = time.monotonic() + BATCH_INTERVAL_S

    def _write(self, items: list[Item]) -> bool:
        try:
            with self.engine.begin() as conn:
                self.rows_written += _write_items(conn, items)
        except (OperationalError, DBAPIError) as err:
            self._status(False, f"database unavailable: {err.orig or err}")
            return False
        self._status(True, "")
        return True

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


def _write_items(conn: Connection, items: list[Item]) -> int:
    readings: list[dict[str, Any]] = []
    technical: list[dict[str, Any]] = []
    rows = 0
    for item in items:
        if isinstance(item, ReadingsItem):
            readings.extend(
                {
                    "session_id": item.session_id,
                    "parameter": r.metric.value,
                    "value": r.value,
                    "unit": r.unit,
                    "valid": r.valid,
                    "flags": ",".join(f.value for f in r.flags),
                    "device_time": r.device_time,
                    "received_at": r.received_at,
                }
                for r in item.readings
            )
        elif isinstance(item, TechnicalItem):
            technical.append(
                {
                    "session_id": item.session_id,
                    "kind": item.event.kind.value,
                    "detail": item.event.detail[:512],
                    "at": item.event.at,
                }
            )
        else:
            # Alarm transitions are applied in order: an END must find its ONSET's row.
            if readings:
                conn.execute(insert(ReadingRow), readings)
                rows += len(readings)
                readings = []
            _write_alarm(conn, item)
            rows += 1
    if readings:
        conn.execute(insert(ReadingRow), readings)
        rows += len(readings)
    if technical:
        conn.execute(insert(TechnicalEventRow), technical)
        rows += len(technical)
    return rows


def _write_alarm(conn: Connection, item: AlarmItem) -> None:
    ev = item.event
    conn.execute(
        insert(AlarmLogRow).values(
            session_id=item.session_id,
            condition=ev.key,
            kind=ev.kind.value,
            priority=ev.priority.label,
            value=ev.value,
            message=ev.message,
            at=ev.at,
        )
    )
    open_row = and_(
        AlarmRow.session_id == item.session_id,
        AlarmRow.condition == ev.key,
        AlarmRow.ended_at.is_(None),
    )
    if ev.kind is AlarmEventKind.ONSET:
        conn.execute(
            insert(AlarmRow).values(
                session_id=item.session_id,
                condition=ev.key,
                parameter=ev.metric.value,
                priority=ev.priority.label,
                limit_value=ev.limit,
                value=ev.value,
                message=ev.message,
                onset_at=ev.at,
            )
        )
    elif ev.kind is AlarmEventKind.ESCALATED:
        conn.execute(
            update(AlarmRow)
            .where(open_row)
            .values(
                priority=ev.priority.label, value=ev.value, message=ev.message, limit_value=ev.limit
            )
        )
    elif ev.kind is AlarmEventKind.END:
        conn.execute(update(AlarmRow).where(open_row).values(ended_at=ev.at))
