"""What producers queue for the session record, and how it becomes rows.

Items (readings, alarm transitions, technical and lifecycle events, profile changes) are
turned into plain *operations* (``(name, column values)``), which a batch carries, the journal
stores as JSON, and :func:`apply_batches` writes inside one transaction.  Split out of
:mod:`console.storage.writer` (which re-exports these names) to keep each module small.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, text, update
from sqlalchemy.engine import Connection

from console.domain.alarms import AlarmEvent
from console.domain.session import EventKind, SessionEvent
from console.storage.audit import (
    TrailEntry,
    append_entries,
    batch_entries,
    lock_trail,
    row_entry,
    session_entry,
)
from console.storage.journal import Batch, Op
from console.storage.schema import (
    AlarmLogRow,
    AlarmRow,
    DischargeCheckRow,
    EventRow,
    ProfileChangeRow,
    ReadingRow,
    SessionRow,
    TechnicalEventRow,
    WriteBatchRow,
)
from devices.model import Reading, TechnicalEvent, TechnicalEventKind

log = logging.getLogger("storage")


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
    ReadingsItem | AlarmItem | TechnicalItem | SessionEventItem | SessionEndItem | ProfileChangeItem
)


# -- items -> operations -> rows --------------------------------------------------------------
def make_batch(items: Iterable[Item]) -> Batch:
    """Turn queued items into one batch of plain operations (journal-able, replayable)."""
    ops: list[Op] = []
    for item in items:
        try:
            ops.extend(item_ops(item))
        except Exception as err:  # one malformed item must not cost the batch (or the writer)
            log.error(
                "storage: a %s cannot be recorded and is left out (%s)",
                type(item).__name__,
                type(err).__name__,
            )
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
                    "flags": ",".join([f.value for f in r.flags]) if r.flags else "",
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
    now = datetime.now(UTC)
    batches = list(batches)
    rows = apply_ops(conn, [op for batch in batches for op in batch.ops])
    markers = [{"uid": batch.uid, "applied_at": now} for batch in batches]
    if markers:
        conn.execute(insert(WriteBatchRow), markers)
    return rows


def apply_ops(conn: Connection, ops: Iterable[Op]) -> int:
    """Apply operations inside the caller's transaction, with their audit-trail entries;
    returns rows written.

    Anything stateful (alarms, session updates) is applied in the order given.  The rows of the
    plain tables (readings, technical events) are inserted with one executemany per table, in
    their order: no operation reads or changes them, and they refer only to sessions, which no
    operation creates, so where they go among the stateful ones changes nothing stored.  One
    statement per table, rather than one per run between two alarm transitions, is what keeps
    the writer near a plain executemany (issue 14).

    The trail is locked first (:func:`~console.storage.audit.lock_trail`: the same lock order
    as every other writer of ``sessions``), and the entries are appended last: one per
    stateful operation, one per session and table for the plain rows (their ids and digests).
    """
    ops = list(ops)
    if not ops:
        return 0
    head = lock_trail(conn)
    rows = 0
    trail: list[TrailEntry] = []
    bulk: dict[str, list[dict[str, Any]]] = {}
    for name, payload in ops:
        if name in _BULK:
            bulk.setdefault(name, []).append(payload)
            continue
        trail.extend(_apply_single(conn, name, payload))
        rows += 1
    for name, run in bulk.items():
        table = _BULK[name].__tablename__
        ids = _insert_run(conn, name, run)
        trail.extend(batch_entries(table, ids, run))
        rows += len(run)
    append_entries(conn, trail, head=head)
    return rows


_BULK = {
    "reading": ReadingRow,
    "technical": TechnicalEventRow,
}


def _insert_run(conn: Connection, name: str, run: list[dict[str, Any]]) -> list[int]:
    """Insert ``run`` with one executemany; returns the new rows' ids, in ``run``'s order.

    The ids are known without RETURNING, which cost a third of the insert's speed on SQLite
    and made it two to three times slower on PostgreSQL (the storage benchmark's workload):

    - SQLite gives a new row the largest id plus one, and this transaction holds the write lock
      (the trail's), so the ids are the ``len(run)`` after the largest before.
    - PostgreSQL's sequence promises no such run among several consoles, so the ids are taken
      from it first (one query) and inserted with the rows.
    """
    row: Any = _BULK[name]  # ReadingRow or TechnicalEventRow: both have ``id``
    if conn.dialect.name == "sqlite":
        before = int(conn.scalar(select(func.max(row.id))) or 0)
        if before + len(run) < _SQLITE_MAX_ROWID:  # past it SQLite picks ids at random
            conn.execute(insert(row), run)
            return list(range(before + 1, before + len(run) + 1))
    elif conn.dialect.name == "postgresql":
        ids = [
            int(i)
            for i in conn.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"table": row.__tablename__, "n": len(run)},
            )
        ]
        conn.execute(insert(row), [{**p, "id": i} for p, i in zip(run, ids, strict=True)])
        return ids
    stmt = insert(row).returning(row.id, sort_by_parameter_order=True)
    result: Any = conn.execute(stmt, run)
    return [int(i) for i in result.scalars()]


#: SQLite's largest rowid; below it a new row's id is the largest so far plus one.
_SQLITE_MAX_ROWID = 2**63 - 1


def _apply_single(conn: Connection, name: str, p: dict[str, Any]) -> list[TrailEntry]:
    if name == "alarm":
        return [_write_alarm(conn, p)]
    if name == "event":
        return _write_event(conn, p)
    if name == "session_end":
        sid = p["session_id"]
        before = conn.scalar(select(SessionRow.ended_at).where(SessionRow.id == sid))
        conn.execute(update(SessionRow).where(SessionRow.id == sid).values(ended_at=p["ended_at"]))
        return [
            session_entry(
                sid, "session_end", before={"ended_at": before}, after={"ended_at": p["ended_at"]}
            )
        ]
    if name == "profile_change":
        pid = conn.execute(insert(ProfileChangeRow).values(**p).returning(ProfileChangeRow.id))
        return [
            row_entry(
                "profile_changes", int(pid.scalar_one()), p, actor=p["actor"], action="limit_change"
            )
        ]
    # a journal written by a newer console: keep it loud, never guess
    raise ValueError(f"unknown journal operation {name!r}")


def _write_alarm(conn: Connection, p: dict[str, Any]) -> TrailEntry:
    log_id = conn.execute(
        insert(AlarmLogRow)
        .values(
            session_id=p["session_id"],
            condition=p["condition"],
            kind=p["kind"],
            priority=p["priority"],
            value=p["value"],
            message=p["message"],
            at=p["at"],
            actor=p["actor"],
        )
        .returning(AlarmLogRow.id)
    ).scalar_one()
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
    return row_entry(
        "alarm_log",
        int(log_id),
        p,
        actor=p["actor"],
        action=f"alarm_{kind}",
        extra={"condition": p["condition"], "at": p["at"]},
    )


def _write_event(conn: Connection, p: dict[str, Any]) -> list[TrailEntry]:
    event_id = int(conn.execute(insert(EventRow).values(**p).returning(EventRow.id)).scalar_one())
    sid = p["session_id"]
    values: dict[str, Any] = {}
    if p["phase"] is not None:
        values["phase"] = p["phase"]
    kind = p["kind"]
    data: dict[str, Any] = json.loads(p["data"]) if p["data"] else {}
    entries: list[TrailEntry] = []
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
        check = {
            "session_id": sid,
            "item": str(data.get("item", "")),
            "passed": bool(data.get("passed")),
            "at": p["at"],
            "author": p["author"],
            "note": p["text"],
        }
        check_id = conn.execute(
            insert(DischargeCheckRow).values(**check).returning(DischargeCheckRow.id)
        ).scalar_one()
        entries.append(
            row_entry(
                "discharge_checks",
                int(check_id),
                check,
                actor=p["author"],
                action="discharge_check",
                extra={"item": check["item"], "passed": check["passed"]},
            )
        )
    before: dict[str, Any] | None = None
    if values:
        columns = [getattr(SessionRow, c) for c in values]
        found = conn.execute(select(*columns).where(SessionRow.id == sid)).one_or_none()
        before = None if found is None else dict(found._mapping)
        conn.execute(update(SessionRow).where(SessionRow.id == sid).values(**values))
    extra: dict[str, Any] = {"kind": kind, "at": p["at"]}
    if values:
        extra["session"] = values
    entries.insert(
        0,
        row_entry(
            "events",
            event_id,
            p,
            actor=p["author"],
            action=f"event_{kind}",
            before=None if before is None else {"session": before},
            extra=extra,
        ),
    )
    return entries
