"""What the writer tells apart and keeps when the database says no.

Kept out of :mod:`console.storage.writer` (which stays below 1,000 lines) because these are
pure decisions and file writes, with no writer state: whether an error means "the database is
not there" (retry, spool) or "a bug in what we sent" (set the rows aside, say so loudly), how to
say it without patient values, and where a refused batch is kept so nothing vanishes.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from console.storage.file_watch import DatabaseFile
from console.storage.journal import Batch, encode_batch, journal_key
from console.storage.private import open_private_append

log = logging.getLogger("storage")


def is_unavailable(err: BaseException) -> bool:
    """True for 'the database is not there' (retry later), False for a bug in what we sent."""
    if isinstance(err, OperationalError | InterfaceError):
        return True
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


def safe_error(err: BaseException) -> str:
    """One line about ``err`` without its SQL parameters (patient values) or statement."""
    orig = getattr(err, "orig", None) or err
    lines = str(orig).strip().splitlines()
    first = lines[0] if lines else ""
    # SQLAlchemy appends "[SQL: ...]" and "[parameters: ...]"; a driver's DETAIL lines can
    # quote the row.  The first line of the driver's own message has neither.
    first = first.split("[SQL:")[0].split("[parameters:")[0].strip()
    return f"{type(orig).__name__}: {first}" if first else type(orig).__name__


def keep_aside(journal_dir: Path | None, db_label: str, batch: Batch) -> str:
    """Append ``batch`` to ``rejected-<key>.jsonl`` (0600); says where it went, never raises."""
    if journal_dir is None:
        log.error("storage: batch %s is not kept (no journal directory)", batch.uid)
        return "not kept: no journal directory"
    path = journal_dir / f"rejected-{journal_key(db_label)}.jsonl"
    try:
        fd = open_private_append(path)
        try:
            os.write(fd, encode_batch(batch, db_label))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as err:
        log.error("storage: cannot keep batch %s aside in %s: %s", batch.uid, path, err)
        return f"lost: cannot write {path.name}"
    return f"kept aside in {path.name}"


def rescue_file(
    file: DatabaseFile, problem: str, journal_dir: Path | None, journal_path: Path | None
) -> None:
    """Stopping while the database file could not be put back: copy what it held next to
    the journal, so it does not die with this process; say where, or that it is lost."""
    copy: Path | None = None
    try:
        if journal_dir is not None:
            copy = file.save_copy(journal_dir)
    except (OSError, sqlite3.Error) as err:
        log.error("cannot copy the database file that was %s: %s", problem, err)
    if copy is None:
        log.error(
            "database file %s was %s and could not be put back: what was written to it "
            "this session is lost with this process",
            file.path,
            problem,
        )
        return
    log.error(
        "database file %s was %s and could not be put back: its content is saved as %s, "
        "and later batches are in the journal %s; put the copy back at that path before "
        "the next start, so the journal is replayed into it",
        file.path,
        problem,
        copy,
        journal_path if journal_path is not None else "(none)",
    )
