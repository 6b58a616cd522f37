"""Data measured while a chair has no session record yet, journalled from the first second.

A chair monitors before it knows which record its data belong to: at start, while the nurse
has not answered "resume the unfinished session?", or while the database cannot be reached to
open a record.  Those readings, alarm transitions and events used to wait in memory (20,000
items, oldest dropped), and a crash at that moment lost them.

Now they go to the storage writer as :class:`HeldItem` s and are written, every batch, to an
fsync'd *held spool* of that chair (a :class:`~console.storage.journal.Journal` file named
``held-<key>-<n>.jsonl`` in the journal directory, the key being a hash of the database and
the chair).  The session id in them is the placeholder :data:`HELD_SESSION_ID`.  When the chair
opens its record (resumed or new) it sends :class:`AdoptHeldItem`; the writer then writes every
held batch into that record (replacing the placeholder), keeps their batch ids as markers until
the spool is emptied, and empties it.  A crash in between repeats nothing: a batch whose marker
is in the database is skipped.

A console that crashed while holding leaves the spool on disk; the chair adopts it into the
first record it opens at the next start (the one the nurse resumes, or the new one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from console.storage.audit import append_entries, lock_trail, session_entry
from console.storage.items import Item
from console.storage.journal import Batch, Journal, MemoryJournal
from console.storage.refusals import safe_error
from console.storage.schema import SessionRow
from console.storage.validate import storable_time

log = logging.getLogger("storage")

#: The session id held operations carry until their record is known (ids start at 1).
HELD_SESSION_ID = 0


def for_session(batch: Batch, session_id: int) -> Batch:
    """``batch`` with the placeholder session id replaced (same uid)."""
    ops = tuple(
        (name, {**p, "session_id": session_id} if p.get("session_id") == HELD_SESSION_ID else p)
        for name, p in batch.ops
    )
    return Batch(uid=batch.uid, ops=ops)


class HeldSpools:
    """The held spools of every chair of one database, opened on first use (writer thread).

    Args:
        directory: the journal directory; None keeps them in memory (they then survive
            nothing but the wait itself).
        db_label: the database (password hidden), part of the file key.
    """

    def __init__(self, directory: Path | None, db_label: str) -> None:
        self.directory = directory
        self.db_label = db_label
        self._spools: dict[str, Journal] = {}

    def spool(self, chair: str) -> Journal:
        """The chair's spool (a file when possible; crashed runs' files are adopted into it)."""
        found = self._spools.get(chair)
        if found is not None:
            return found
        label = f"{self.db_label}\nheld:{chair}"
        spool: Journal
        if self.directory is None:
            spool = MemoryJournal(label)
        else:
            try:
                spool = Journal.open(self.directory, label, prefix="held")
            except OSError as err:
                log.error(
                    "chair %s: cannot open its held spool in %s (%s); holding in memory",
                    chair,
                    self.directory,
                    err,
                )
                spool = MemoryJournal(label)
        if not spool.empty:
            log.warning(
                "chair %s: %d held batches from an earlier run go into its next record",
                chair,
                spool.pending_batches,
            )
        self._spools[chair] = spool
        return spool

    def append(self, chair: str, batch: Batch) -> None:
        """Hold one batch for ``chair`` (fsync'd before returning when on disk).

        A spool file that cannot be written (disk full) is given up for memory, with what it
        held, loudly: the data then survive the wait but not a crash.
        """
        spool = self.spool(chair)
        try:
            spool.append(batch)
            return
        except OSError as err:
            log.error(
                "chair %s: held spool %s unwritable (%s); holding in memory", chair, spool.path, err
            )
        memory = MemoryJournal(spool.db_label)
        for _o, old in spool.peek(1_000_000_000):
            memory.append(old)
        memory.append(batch)
        spool.close()
        self._spools[chair] = memory

    def take(self, chair: str) -> list[Batch]:
        """Every batch held for ``chair``, oldest first (they stay until :meth:`clear`)."""
        spool = self.spool(chair)
        return [b for _o, b in spool.peek(1_000_000_000)]

    def clear(self, chair: str) -> None:
        """Empty the chair's spool (its batches are in the record or in the main journal)."""
        spool = self.spool(chair)
        got = spool.peek(1_000_000_000)
        if got:
            spool.advance(got[-1][0], len(got))

    def relink_if_gone(self) -> None:
        """Put back spool files deleted under us (see :meth:`Journal.relink_if_gone`).

        Raises:
            OSError: one cannot be put back now.
        """
        for spool in self._spools.values():
            spool.relink_if_gone()

    def close(self) -> None:
        """Release the files; say what stays held for the next start, or is lost."""
        for chair, spool in self._spools.items():
            if not spool.empty:
                if isinstance(spool, MemoryJournal):
                    log.error(
                        "chair %s: %d held batches were never given a record and are lost "
                        "(held in memory only)",
                        chair,
                        spool.pending_batches,
                    )
                else:
                    log.warning(
                        "chair %s: %d held batches kept in %s for its next record",
                        chair,
                        spool.pending_batches,
                        spool.path,
                    )
            spool.close()
        self._spools.clear()


@dataclass(frozen=True, slots=True)
class HeldItem:
    """An item of a chair whose record is not known yet (its session id is
    :data:`HELD_SESSION_ID`), queued to the writer, which journals it in the chair's spool."""

    chair: str
    item: Item


@dataclass(frozen=True, slots=True)
class AdoptHeldItem:
    """Everything held for ``chair`` goes into session ``session_id``, before what follows."""

    chair: str
    session_id: int


def start_no_later_than(engine: Engine, session_id: int, batches: list[Batch]) -> None:
    """A new record given data held before it was opened (a crashed run's, say) starts
    with them, so its timeline has no data before its start (a resumed record, which
    started long before, is unchanged)."""
    times = [
        t
        for b in batches
        for _name, p in b.ops
        for t in (p.get("received_at"), p.get("at"))
        if isinstance(t, datetime) and storable_time(t)
    ]
    if not times:
        return
    earliest = min(times)
    try:
        with engine.begin() as conn:
            lock_trail(conn)
            before = conn.scalar(select(SessionRow.started_at).where(SessionRow.id == session_id))
            if before is None or before <= earliest:
                return
            conn.execute(
                update(SessionRow).where(SessionRow.id == session_id).values(started_at=earliest)
            )
            moved = {"started_at": earliest, "why": "data held before the record was opened"}
            append_entries(
                conn,
                [
                    session_entry(
                        session_id,
                        "session_start_moved",
                        before={"started_at": before},
                        after=moved,
                    )
                ],
            )
    except Exception as err:  # the data are stored; only the start time stays as it was
        log.error("session %s: start not moved earlier: %s", session_id, safe_error(err))
