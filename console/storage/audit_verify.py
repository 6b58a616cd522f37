"""Checking the audit trail against itself and against the stored rows (``audit verify``).

The trail (:mod:`console.storage.audit`) is walked in ``seq`` order.  Each entry must follow
its predecessor (numbers without gaps, ``prev_hash`` equal to the previous hash), its own hash
must match its content, and the rows it vouches for must still be there with the same digest.
At the end the chain head must name the last entry, and every row of a covered table must be
vouched for by an entry (or predate the trail: ``trail_started`` records the highest id of each
table at the migration).  The first thing wrong is reported, as one line that names the entry,
the table and the row, and what happened to it: edited, deleted or inserted.

Verification reads every covered row once and keeps one digest per row in memory (about 200
bytes a row: a clinic's year of readings fits; it is a maintenance command, not a live path).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from console.storage.audit import (
    BATCH_ACTIONS,
    GENESIS_HASH,
    HEAD_ID,
    ROW_COLUMNS,
    SHORT_DIGEST,
    batch_digest,
    entry_content,
    entry_hash,
    expand_ranges,
    row_digest,
)
from console.storage.audit_sessions import SessionReplay
from console.storage.schema import AuditEntryRow, AuditHeadRow, Base

#: Entries read from the database at a time.
FETCH_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class TrailIntact:
    """What an intact trail holds."""

    entries: int
    reading_batches: int

    def summary(self) -> str:
        """The line ``audit verify`` prints."""
        return (
            f"audit trail intact: {self.entries} entries, "
            f"{self.reading_batches} batches of readings"
        )


class TrailBrokenError(Exception):
    """The trail or a row it vouches for was changed; the message says where and how."""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One trail entry as stored, with ``before``/``after`` parsed."""

    seq: int
    at: Any
    actor: str
    action: str
    target_table: str
    target_id: int | None
    session_id: int | None
    before: Any
    after: Any
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        """The entry with the stable field names of ``audit show --json``."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "target_table": self.target_table,
            "target_id": self.target_id,
            "session_id": self.session_id,
            "before": self.before,
            "after": self.after,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


_ENTRY_COLUMNS = (
    AuditEntryRow.seq,
    AuditEntryRow.at,
    AuditEntryRow.actor,
    AuditEntryRow.action,
    AuditEntryRow.target_table,
    AuditEntryRow.target_id,
    AuditEntryRow.session_id,
    AuditEntryRow.before_json,
    AuditEntryRow.after_json,
    AuditEntryRow.prev_hash,
    AuditEntryRow.hash,
)


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # an edited entry: its hash says so


def session_entries(conn: Connection, session_id: int) -> list[StoredEntry]:
    """The entries about one session, oldest first (``audit show``)."""
    stmt = (
        select(*_ENTRY_COLUMNS)
        .where(AuditEntryRow.session_id == session_id)
        .order_by(AuditEntryRow.seq, AuditEntryRow.id)
    )
    return [_stored(r._mapping) for r in conn.execute(stmt)]


def _stored(m: Any) -> StoredEntry:
    return StoredEntry(
        seq=m["seq"],
        at=m["at"],
        actor=m["actor"],
        action=m["action"],
        target_table=m["target_table"],
        target_id=m["target_id"],
        session_id=m["session_id"],
        before=_parse(m["before_json"]),
        after=_parse(m["after_json"]),
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


def _entries(conn: Connection) -> Iterator[Any]:
    """Every entry in chain order, read in chunks (never the whole trail at once)."""
    last = None
    while True:
        stmt = select(AuditEntryRow.id, *_ENTRY_COLUMNS).order_by(
            AuditEntryRow.seq, AuditEntryRow.id
        )
        if last is not None:
            stmt = stmt.where(
                (AuditEntryRow.seq > last[0])
                | ((AuditEntryRow.seq == last[0]) & (AuditEntryRow.id > last[1]))
            )
        rows = conn.execute(stmt.limit(FETCH_CHUNK)).all()
        if not rows:
            return
        for row in rows:
            yield row._mapping
        last = (rows[-1].seq, rows[-1].id)


def _table_digests(conn: Connection, table: str) -> dict[int, str]:
    """id -> digest of every row of a covered table."""
    t = Base.metadata.tables[table]
    stmt = select(t.c.id, *(t.c[name] for name in ROW_COLUMNS[table]))
    result = conn.execution_options(yield_per=FETCH_CHUNK).execute(stmt)
    return {row.id: row_digest(table, row.id, row._mapping) for row in result}


class _Walk:
    """The state of one verification."""

    def __init__(self, conn: Connection) -> None:
        self.digests = {table: _table_digests(conn, table) for table in ROW_COLUMNS}
        self.covered: dict[str, set[int]] = {table: set() for table in ROW_COLUMNS}
        self.predate: dict[str, int] = {table: 0 for table in ROW_COLUMNS}
        self.prev_hash = GENESIS_HASH
        self.prev_name = ""
        self.expected = 1
        self.batches = 0
        self.sessions = SessionReplay()

    def entry(self, m: Any, head_seq: int) -> None:
        seq = int(m["seq"])
        name = _name(m)
        if seq > head_seq:
            raise TrailBrokenError(
                f"audit trail broken at {name}: inserted (the chain head ends at entry {head_seq})"
            )
        if seq < self.expected:
            raise TrailBrokenError(
                f"audit trail broken at {name}: inserted (entry {seq} exists already)"
            )
        if seq > self.expected:
            gone = (
                f"entry {self.expected} was deleted"
                if seq == self.expected + 1
                else f"entries {self.expected} to {seq - 1} were deleted"
            )
            raise TrailBrokenError(f"audit trail broken at {name}: {gone} before it")
        if entry_hash(m["prev_hash"], entry_content(m)) != m["hash"]:
            raise TrailBrokenError(
                f"audit trail broken at {name}: edited (its hash does not match its content)"
            )
        if m["prev_hash"] != self.prev_hash:
            raise TrailBrokenError(
                f"audit trail broken at {self.prev_name}: edited or replaced "
                f"(entry {seq} does not follow from it)"
            )
        self.rows(m, name)
        self.prev_hash, self.prev_name = m["hash"], name
        self.expected = seq + 1

    def rows(self, m: Any, name: str) -> None:
        """The rows the entry vouches for are there, unchanged."""
        after = _parse(m["after_json"])
        if not isinstance(after, dict):
            return
        table = m["target_table"]
        self.sessions.note(m["action"], table, m["session_id"], after, name)
        if m["action"] == "trail_started":
            self.predate.update({t: int(n) for t, n in after.get("existing_rows", {}).items()})
        elif table in BATCH_ACTIONS and m["action"] == BATCH_ACTIONS[table]:
            self.batch(table, after, name)
        elif table in ROW_COLUMNS and "row_sha256" in after and m["target_id"] is not None:
            row_id = int(m["target_id"])
            self.check(table, row_id, after["row_sha256"], len(after["row_sha256"]), name)

    def batch(self, table: str, after: dict[str, Any], name: str) -> None:
        ids = expand_ranges(after.get("ids", []))
        short = str(after.get("row_digests", ""))
        for n, row_id in enumerate(ids):
            part = short[n * SHORT_DIGEST : (n + 1) * SHORT_DIGEST]
            self.check(table, row_id, part, SHORT_DIGEST, name)
        if batch_digest(self.digests[table][i] for i in ids) != after.get("sha256"):
            raise TrailBrokenError(
                f"audit trail broken at {name}: a {table} row of ids "
                f"{_span(ids)} was edited (the batch digest differs)"
            )
        if table == "readings":
            self.batches += 1

    def check(self, table: str, row_id: int, digest: str, length: int, name: str) -> None:
        stored = self.digests[table].get(row_id)
        if stored is None:
            raise TrailBrokenError(f"audit trail broken at {name}: {table} row {row_id} deleted")
        if stored[:length] != digest:
            raise TrailBrokenError(f"audit trail broken at {name}: {table} row {row_id} edited")
        self.covered[table].add(row_id)

    def uncovered(self) -> None:
        """Every row after the trail started is vouched for by an entry."""
        for table, digests in self.digests.items():
            extra = sorted(
                i for i in digests if i > self.predate[table] and i not in self.covered[table]
            )
            if extra:
                raise TrailBrokenError(
                    f"audit trail broken: {table} row {extra[0]} inserted "
                    "(no trail entry records it)"
                )


def _name(m: Any) -> str:
    where = f", session {m['session_id']}" if m["session_id"] is not None else ""
    return f"entry {m['seq']} ({m['action']}{where})"


def _span(ids: list[int]) -> str:
    return f"{ids[0]}-{ids[-1]}" if ids else "(none)"


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection that sees one moment of the database across all its queries.

    Consoles keep writing while verify reads: without one snapshot, a batch committed between
    reading the rows and reading the entries would look like a deleted (or inserted) row.
    PostgreSQL: a REPEATABLE READ, READ ONLY transaction; SQLite (WAL): one read transaction,
    opened explicitly (the driver opens none for SELECTs).
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            conn.rollback()


def verify(conn: Connection) -> TrailIntact:
    """Check the whole trail and the rows it covers (give it a :func:`snapshot`).

    Raises:
        TrailBrokenError: the first entry or row found changed (one line).
    """
    head = conn.execute(
        select(AuditHeadRow.seq, AuditHeadRow.hash).where(AuditHeadRow.id == HEAD_ID)
    ).one_or_none()
    if head is None:
        raise TrailBrokenError("audit trail broken: its chain head (audit_head) was deleted")
    walk = _Walk(conn)
    n = 0
    for m in _entries(conn):
        walk.entry(m, int(head.seq))
        n += 1
    if int(head.seq) >= walk.expected:
        gone = (
            f"entry {walk.expected} was deleted"
            if int(head.seq) == walk.expected
            else f"entries {walk.expected} to {head.seq} were deleted"
        )
        raise TrailBrokenError(
            f"audit trail broken after {walk.prev_name or 'the start'}: {gone} "
            f"(the chain head says {head.seq})"
        )
    if head.hash != walk.prev_hash:
        raise TrailBrokenError(
            f"audit trail broken at {walk.prev_name}: edited or replaced "
            "(the chain head holds another hash)"
        )
    walk.uncovered()
    edited = walk.sessions.check(conn)
    if edited is not None:
        raise TrailBrokenError(edited)
    return TrailIntact(entries=n, reading_batches=walk.batches)
