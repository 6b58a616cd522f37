"""Rows are checked before they are written, so one bad value never costs a whole batch.

A batch is one transaction of up to 250 ms of every chair's readings and alarm transitions; a
single value the database cannot take (an HL7 time stamp of ``99991231235959-1200`` overflows
the conversion to UTC; a text longer than its column fails on PostgreSQL) used to refuse all of
it.  :func:`screen` runs before the insert:

- a reading whose *device* time cannot be stored keeps its value and host time: it is stored
  without the device time, and a ``record_error`` technical event says so;
- any other row with a value that cannot be stored is taken out of the batch (isolated), and a
  ``record_error`` technical event in its session says what was not stored and why.

The messages name the table and the column, never the value (no patient data in events or
logs).  What still fails at the insert is isolated by the writer (``StorageWriter``), row by
row, with the same technical event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Table

from console.storage.journal import Batch, Op
from console.storage.schema import (
    AlarmLogRow,
    EventRow,
    ProfileChangeRow,
    ReadingRow,
    SessionRow,
    TechnicalEventRow,
    UtcDateTime,
)

#: The technical event kind of a row the record could not keep as it was.
RECORD_ERROR = "record_error"

_TABLES: dict[str, Table] = {
    "reading": ReadingRow.__table__,  # type: ignore[dict-item]
    "technical": TechnicalEventRow.__table__,  # type: ignore[dict-item]
    "event": EventRow.__table__,  # type: ignore[dict-item]
    "profile_change": ProfileChangeRow.__table__,  # type: ignore[dict-item]
    "alarm": AlarmLogRow.__table__,  # type: ignore[dict-item]
    "session_end": SessionRow.__table__,  # type: ignore[dict-item]
}


@dataclass(frozen=True, slots=True)
class Isolated:
    """One operation left out of its batch, and why (no values in ``reason``)."""

    op: Op
    reason: str


def storable_time(value: datetime) -> bool:
    """True when a column of :class:`~console.storage.schema.UtcDateTime` can take ``value``."""
    if value.tzinfo is None or value.utcoffset() is None:
        return False
    if 1 < value.year < 9999:  # an offset is under a day: no overflow possible
        return True
    try:
        value.astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return True


#: Per operation: its table's name, and the columns to check in table order: a time column
#: (limit None) or a text column with its length limit.  Looking only at these columns, rather
#: than at every value of every row, keeps the screen cheap next to the insert (issue 14).
_CHECKS: dict[str, tuple[str, tuple[tuple[str, int | None], ...]]] = {
    name: (
        table.name,
        tuple(
            (c.name, None if isinstance(c.type, UtcDateTime) else c.type.length)
            for c in table.columns
            if isinstance(c.type, UtcDateTime)
            or (isinstance(c.type, String) and c.type.length is not None)
        ),
    )
    for name, table in _TABLES.items()
}


def problem(name: str, payload: dict[str, Any]) -> str | None:
    """Why the row of operation ``name`` cannot be stored, or None (no values named)."""
    known = _CHECKS.get(name)
    if known is None:
        return f"unknown operation {name!r}"
    table, checks = known
    for key, length in checks:
        value = payload.get(key)
        if value is None:
            continue
        if length is None:
            if isinstance(value, datetime) and not storable_time(value):
                return f"{table}.{key} is outside the storable time range"
        elif isinstance(value, str) and len(value) > length:
            return f"{table}.{key} is longer than {length} characters"
    return None


def record_error_op(op: Op, reason: str) -> Op | None:
    """The technical-event operation that tells the record about an isolated ``op``.

    None when ``op`` belongs to no session (a profile-level change): the log says it then.
    """
    name, payload = op
    session_id = payload.get("session_id")
    if not isinstance(session_id, int):
        return None
    times = [payload.get(k) for k in ("received_at", "at", "ended_at")]
    at = next((t for t in times if isinstance(t, datetime) and storable_time(t)), datetime.now(UTC))
    what = f"{payload.get('parameter')} reading" if name == "reading" else f"{name} row"
    return (
        "technical",
        {
            "session_id": session_id,
            "kind": RECORD_ERROR,
            "detail": f"{what} not stored: {reason}"[:512],
            "at": at,
        },
    )


def screen(batch: Batch) -> tuple[Batch, list[Isolated]]:
    """The batch as it can be stored (same uid), and the operations left out of it.

    Every isolated or repaired operation is followed, in place, by a ``record_error``
    technical event of its session.
    """
    ops: list[Op] = []
    isolated: list[Isolated] = []
    for op in batch.ops:
        name, payload = op
        why = problem(name, payload)
        if why is None:
            ops.append(op)
            continue
        device_time = payload.get("device_time")
        if name == "reading" and isinstance(device_time, datetime):
            repaired = {**payload, "device_time": None}
            if problem(name, repaired) is None:
                ops.append((name, repaired))
                note = record_error_op(op, "")
                if note is not None:
                    detail = (
                        f"{payload.get('parameter')} reading stored without its device time: {why}"
                    )
                    ops.append((note[0], {**note[1], "detail": detail[:512]}))
                continue
        isolated.append(Isolated(op, why))
        note = record_error_op(op, why)
        if note is not None and problem(*note) is None:
            ops.append(note)
    if not isolated and len(ops) == len(batch.ops):
        return batch, []
    return Batch(uid=batch.uid, ops=tuple(ops)), isolated
