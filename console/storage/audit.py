"""The tamper-evident audit trail: who changed what in the record, when, before and after.

Every record-changing action appends an entry to ``audit_trail`` in the *same transaction* as
the change it describes (:func:`append_entries`, :func:`append_entry`), so a change without its
entry, or an entry without its change, never commits.  Anything may call them: the writer, the
repository, the review, the export command and user administration.

**Hash chain.**  Each entry's ``hash`` is::

    sha256( prev_hash + "\\n" + canonical_json(content) )

where ``prev_hash`` is the previous entry's hash (:data:`GENESIS_HASH`, 64 zeros, for the first
entry) and ``content`` is the object ``{"seq", "at", "actor", "action", "target_table",
"target_id", "session_id", "before_json", "after_json"}``: ``at`` as UTC ISO 8601 with
microseconds (``2026-03-01T09:00:00.000000+00:00``), ``before_json``/``after_json`` the stored
text itself.  :func:`canonical_json` is JSON with sorted keys, no whitespace (``,`` and ``:``),
non-ASCII kept as UTF-8, no NaN; the hash is of its UTF-8 bytes, as lowercase hex.

**Rows behind the entries.**  Readings and technical events are written in batches by the
storage writer; each batch gets one entry per session and table (``readings_batch``,
``technical_batch``) whose ``after`` holds the rows' ids (as ``[first, last]`` ranges), the first
:data:`SHORT_DIGEST` hex digits of each row's digest (in id order, concatenated: they locate an
edited row) and ``sha256``, the SHA-256 of the rows' full digests concatenated.  An alarm-log
row, an event, a discharge check, a limit change and a sign-off get an entry each, with the
row's full digest as ``row_sha256``.  A row digest is ``sha256(canonical_json([id, column
values in ROW_COLUMNS order]))``, with floats as floats, booleans as booleans, times as above.
:mod:`console.storage.audit_verify` recomputes all of it from the stored rows.

**Serialised appends.**  :func:`lock_trail` locks the chain head (``audit_head``, one row)
before an entry is computed: ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite a write to it,
which takes the database's single write lock.  Both hold until the transaction ends, so two
writers never compute the same next entry (``seq`` is unique as well, so even a bug there
would fail a transaction, never fork the chain).  Code that changes rows the writer also
changes (``sessions``) calls :func:`lock_trail` *first*, so every transaction takes the two
locks in the same order and none can deadlock.

What a hash chain does not do: someone with write access who recomputes every hash after an
edit, and the head, leaves a consistent chain.  On PostgreSQL the console's role cannot
(the trigger of migration 0006 and ``resources/sql/audit_append_only.sql``); anywhere, the
newest hash (``audit show --json``) kept outside the database pins the trail up to it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Boolean, Float, insert, select, update
from sqlalchemy.engine import Connection

from console.storage.schema import AuditEntryRow, AuditHeadRow, Base, UtcDateTime

#: ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64
#: Actor of what the console does by itself (readings, alarm onsets, technical events).
SYSTEM_ACTOR = "console"
#: Hex digits of each row's digest kept in a batch entry (locate an edited row; the batch's
#: full ``sha256`` is what proves the batch).
SHORT_DIGEST = 8
#: The one row of ``audit_head``.
HEAD_ID = 1

#: Tables whose rows are covered by digests.
COVERED_TABLES = (
    "readings",
    "technical_events",
    "alarm_log",
    "events",
    "discharge_checks",
    "profile_changes",
    "session_reviews",
)
#: The columns a row's digest covers, in order: every column but the id, read from the schema,
#: so that a column a migration adds (the signature's printed name, meaning and "verified"
#: flag) is covered without a second list to keep in step.
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(c.name for c in Base.metadata.tables[table].columns if c.name != "id")
    for table in COVERED_TABLES
}
#: Tables written in batches (one entry per batch and session); the others get one per row.
BATCH_ACTIONS = {"readings": "readings_batch", "technical_events": "technical_batch"}


def utc_iso(t: datetime) -> str:
    """A time as the trail writes it: UTC, ISO 8601, always with microseconds."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def _make_encoder() -> Callable[[object], str]:
    """The canonical encoder, made once.

    ``json.dumps`` with options builds a new encoder per call, and ``JSONEncoder.encode``
    builds its C scanner per call: half the cost of a reading's digest, which the writer pays
    for every reading.  The C encoder is made once here (the pure-Python one where the C
    accelerator is missing); either gives exactly ``json.dumps(value, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False, allow_nan=False)`` (tested).
    """
    encoder = json.JSONEncoder(
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )
    make_c = getattr(json.encoder, "c_make_encoder", None)
    if make_c is None:
        return encoder.encode
    chunks = make_c(
        None, _json_default, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )

    def encode(value: object) -> str:
        return "".join(chunks(value, 0))

    return encode


_CANONICAL = _make_encoder()


def canonical_json(value: object) -> str:
    """The one serialization the trail hashes: sorted keys, no whitespace, UTF-8, no NaN."""
    return _CANONICAL(value)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_digest(text: str) -> str:
    """SHA-256 (hex) of a stored text (a profile's JSON): the entry pins it without a copy."""
    return _sha256(text)


# -- row digests --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _utc_iso_cached(value: datetime) -> str:
    """:func:`utc_iso`, remembered: a monitor's record stamps its five or so readings with
    one time, and formatting times was the largest part of a reading's digest.  Equal
    instants in other zones hash alike and give the same UTC text, so the cache is exact."""
    return utc_iso(value)


def _time(value: Any) -> str | None:
    return None if value is None else _utc_iso_cached(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


class _Canon:
    """How one covered table's row becomes its canonical list, from the columns' types: what
    the database gives back (a REAL for an int, a naive SQLite time) hashes like what was
    given.  Built once per table; the per-row work is one C-level itemgetter and a
    conversion of only the columns that need one (the writer digests every reading)."""

    def __init__(self, table: str) -> None:
        columns = Base.metadata.tables[table].columns
        self.get = operator.itemgetter(*ROW_COLUMNS[table])
        self.convert: list[tuple[int, Callable[[Any], Any]]] = []
        for n, name in enumerate(ROW_COLUMNS[table], start=1):
            kind = columns[name].type
            if isinstance(kind, UtcDateTime):
                self.convert.append((n, _time))
            elif isinstance(kind, Float):
                self.convert.append((n, _float))
            elif isinstance(kind, Boolean):
                self.convert.append((n, _bool))

    def digest(self, row_id: int, values: Mapping[Any, Any]) -> str:
        canon = [row_id, *self.get(values)]
        for n, conv in self.convert:
            canon[n] = conv(canon[n])
        return hashlib.sha256(_CANONICAL(canon).encode("utf-8")).hexdigest()


_CANON = {table: _Canon(table) for table in ROW_COLUMNS}


def row_digest(table: str, row_id: int, values: Mapping[Any, Any]) -> str:
    """SHA-256 (hex) of one row of a covered table: its id and :data:`ROW_COLUMNS` values."""
    return _CANON[table].digest(row_id, values)


def batch_digest(row_digests: Iterable[str]) -> str:
    """SHA-256 of a batch: of its rows' full digests concatenated, in id order."""
    return _sha256("".join(row_digests))


def id_ranges(ids: Sequence[int]) -> list[list[int]]:
    """Ascending ids as ``[first, last]`` runs (a writer batch is mostly one run)."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def expand_ranges(ranges: Iterable[Sequence[int]]) -> list[int]:
    """The ids of :func:`id_ranges` runs."""
    return [i for first, last in ranges for i in range(int(first), int(last) + 1)]


# -- entries --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One entry to append: who, what, on which row, the state before and after (JSON-able).

    ``at`` defaults to the time of the append (when the change was written).
    """

    actor: str
    action: str
    target_table: str
    target_id: int | None = None
    session_id: int | None = None
    before: Any = None
    after: Any = None
    at: datetime | None = field(default=None)


def entry_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    """The chain hash of an entry (module docstring)."""
    return _sha256(prev_hash + "\n" + canonical_json(dict(content)))


#: The stored columns an entry's hash covers (with ``at`` as :func:`utc_iso`).
CONTENT_KEYS = (
    "seq",
    "at",
    "actor",
    "action",
    "target_table",
    "target_id",
    "session_id",
    "before_json",
    "after_json",
)


def entry_content(values: Mapping[str, Any]) -> dict[str, Any]:
    """The hashed content of an entry, from its stored column values."""
    content = {key: values[key] for key in CONTENT_KEYS}
    content["at"] = utc_iso(values["at"])
    return content


def lock_trail(conn: Connection) -> tuple[int, str]:
    """Lock the chain head for the rest of the caller's transaction; returns (seq, hash).

    Called again in the same transaction it returns what that transaction appended so far.
    """
    if conn.dialect.name == "sqlite":
        # A write takes SQLite's one write lock now (a SELECT would not), for the transaction.
        conn.execute(
            update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).values(seq=AuditHeadRow.seq)
        )
        stmt = select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == HEAD_ID)
    else:
        stmt = (
            select(AuditHeadRow.seq, AuditHeadRow.hash)
            .where(AuditHeadRow.id == HEAD_ID)
            .with_for_update()
        )
    row = conn.execute(stmt).one()
    return int(row.seq), str(row.hash)


def append_entries(
    conn: Connection, entries: Sequence[TrailEntry], *, head: tuple[int, str] | None = None
) -> list[str]:
    """Append ``entries`` to the trail inside the caller's transaction; returns their hashes.

    Locks the chain head (:func:`lock_trail`), unless ``head`` is what :func:`lock_trail`
    returned earlier in this transaction with nothing appended since (saves two statements
    per writer transaction).
    """
    if not entries:
        return []
    seq, prev = lock_trail(conn) if head is None else head
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    hashes: list[str] = []
    for e in entries:
        seq += 1
        at = e.at or now
        values = {
            "seq": seq,
            "at": at,
            "actor": str(e.actor or SYSTEM_ACTOR)[:64],
            "action": e.action[:32],
            "target_table": e.target_table[:32],
            "target_id": e.target_id,
            "session_id": e.session_id,
            "before_json": canonical_json(e.before),
            "after_json": canonical_json(e.after),
        }
        digest = entry_hash(prev, entry_content(values))
        rows.append({**values, "prev_hash": prev, "hash": digest})
        hashes.append(digest)
        prev = digest
    conn.execute(insert(AuditEntryRow), rows)
    conn.execute(update(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).values(seq=seq, hash=prev))
    return hashes


def append_entry(
    conn: Connection,
    *,
    actor: str,
    action: str,
    target_table: str,
    target_id: int | None = None,
    session_id: int | None = None,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> str:
    """Append one entry (who, what, before/after as JSON-able values) in the caller's
    transaction; returns its hash.  The hook for anything that changes the record, e.g. user
    administration: ``append_entry(conn, actor=admin, action="user_created",
    target_table="users", target_id=uid, after={...})``.
    """
    entry = TrailEntry(actor, action, target_table, target_id, session_id, before, after, at)
    return append_entries(conn, [entry])[0]


def session_entry(
    session_id: int, action: str, *, before: Any = None, after: Any = None, actor: str = ""
) -> TrailEntry:
    """An entry for a change of a ``sessions`` row (its columns before and after)."""
    return TrailEntry(
        actor=actor or SYSTEM_ACTOR,
        action=action,
        target_table="sessions",
        target_id=session_id,
        session_id=session_id,
        before=before,
        after=after,
    )


def row_entry(
    table: str,
    row_id: int,
    values: Mapping[str, Any],
    *,
    actor: str | None,
    action: str,
    before: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> TrailEntry:
    """An entry for one inserted row of a covered table, its digest in ``after``."""
    after: dict[str, Any] = {"row_sha256": row_digest(table, row_id, values)}
    if extra:
        after.update(extra)
    return TrailEntry(
        actor=actor or SYSTEM_ACTOR,
        action=action,
        target_table=table,
        target_id=row_id,
        session_id=values.get("session_id"),
        before=before,
        after=after,
    )


def batch_entries(
    table: str, ids: Sequence[int], rows: Sequence[Mapping[str, Any]]
) -> list[TrailEntry]:
    """One entry per session for a batch of inserted rows of ``table`` (readings, technical
    events): ids as ranges, each row's short digest, and the batch digest."""
    by_session: dict[int, list[tuple[int, Mapping[str, Any]]]] = {}
    for row_id, values in zip(ids, rows, strict=True):
        by_session.setdefault(int(values["session_id"]), []).append((row_id, values))
    out = []
    for sid, members in by_session.items():
        members.sort(key=lambda m: m[0])
        digests = [row_digest(table, i, v) for i, v in members]
        out.append(
            TrailEntry(
                actor=SYSTEM_ACTOR,
                action=BATCH_ACTIONS[table],
                target_table=table,
                session_id=sid,
                after={
                    "rows": len(members),
                    "ids": id_ranges([i for i, _v in members]),
                    "row_digests": "".join(d[:SHORT_DIGEST] for d in digests),
                    "sha256": batch_digest(digests),
                },
            )
        )
    return out
