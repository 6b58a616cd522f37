"""The local spool of write batches the database could not take (yet).

When the database is unreachable (PostgreSQL down, disk full, SQLite file locked) the writer
appends each batch to this journal and fsyncs it, so the session record survives a crash of
the console during the outage; when the database is back the batches are replayed in order and
the file is emptied.  Replay is idempotent (each batch carries a unique id that is stored with
its rows, :class:`console.storage.schema.WriteBatchRow`), so a crash during replay, or a batch
whose COMMIT outcome was unknown, never duplicates a row.

Format: JSON lines, one batch per line ``{"v": 1, "uid": ..., "db": ..., "ops": [...]}``,
readable with any text tool in an emergency.  A torn last line (power cut mid-write) is cut
off at open, with a warning: it can only be the newest batch, which was never acknowledged.

One journal file belongs to one process and one database: files are named after a hash of the
database URL and locked while open (``flock``; on Windows ``msvcrt.locking``), so two consoles
on one PC never share one; a file left by a crashed console is adopted (its batches are moved
into ours) at the next start.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from console.storage.private import FILE_MODE, fsync_dir, private_dir

log = logging.getLogger("storage")

JOURNAL_VERSION = 1
#: Journal files tried per database before giving up (one per concurrently running console).
MAX_FILES = 32

Op = tuple[str, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Batch:
    """One writer transaction: a unique id and its operations, in order."""

    uid: str
    ops: tuple[Op, ...]

    @property
    def n_rows(self) -> int:
        """Number of operations (each writes one row or updates one)."""
        return len(self.ops)


def _encode(obj: object) -> object:
    if isinstance(obj, datetime):
        return {"$t": obj.isoformat()}
    if isinstance(obj, date):
        return {"$d": obj.isoformat()}
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(obj)).decode("ascii")}
    raise TypeError(f"cannot journal {type(obj).__name__}")


def _decode(obj: dict[str, Any]) -> object:
    if len(obj) == 1:
        if "$t" in obj:
            return datetime.fromisoformat(obj["$t"])
        if "$d" in obj:
            return date.fromisoformat(obj["$d"])
        if "$b" in obj:
            return base64.b64decode(obj["$b"])
    return obj


def encode_batch(batch: Batch, db_label: str) -> bytes:
    """One journal line (with its newline) for ``batch``."""
    record = {
        "v": JOURNAL_VERSION,
        "uid": batch.uid,
        "db": db_label,
        "ops": [[name, payload] for name, payload in batch.ops],
    }
    return json.dumps(record, default=_encode, separators=(",", ":")).encode() + b"\n"


def decode_batch(line: bytes) -> Batch:
    """The batch of one journal line.

    Raises:
        ValueError: not a complete journal line of a known version.
    """
    record = json.loads(line, object_hook=_decode)
    if not isinstance(record, dict) or record.get("v") != JOURNAL_VERSION:
        raise ValueError("not a journal record of version 1")
    ops = tuple((str(name), dict(payload)) for name, payload in record["ops"])
    return Batch(uid=str(record["uid"]), ops=ops)


def journal_key(db_label: str) -> str:
    """Short stable id of a database URL (password removed) for file names."""
    return hashlib.sha256(db_label.encode()).hexdigest()[:16]


class Journal:
    """An fsync'd append-only file of batches with a replay cursor.

    Not thread-safe: only the writer thread uses it.
    """

    def __init__(self, path: Path, fd: int, db_label: str) -> None:
        self.path = path
        self.db_label = db_label
        self._fd = fd
        self._head = 0  # byte offset of the first batch not yet replayed
        self._size = os.fstat(fd).st_size
        self.pending_batches = 0
        self._trim_torn_tail()

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path, db_label: str, *, prefix: str = "journal") -> Journal:
        """Open (and lock) this process's journal for ``db_label`` in ``directory``.

        Batches left in other unlocked journals of the same database (a console that crashed)
        are moved into the returned journal, in their order, so they are replayed too.
        ``prefix`` names the kind of spool (``held`` for :mod:`console.storage.held`).

        Raises:
            OSError: the directory cannot be created or no journal file can be locked.
        """
        private_dir(directory)
        key = journal_key(db_label)
        mine: Journal | None = None
        orphans: list[tuple[Path, int]] = []
        for n in range(MAX_FILES):
            path = directory / f"{prefix}-{key}-{n}.jsonl"
            if mine is not None and not path.exists():
                continue
            existed = path.exists()
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, FILE_MODE)
            if not _lock(fd):
                os.close(fd)
                continue
            if mine is None:
                mine = cls(path, fd, db_label)
                if not existed:
                    fsync_dir(directory)
            else:
                orphans.append((path, fd))
        if mine is None:
            raise OSError(f"no free journal file in {directory} (>{MAX_FILES} consoles?)")
        for path, fd in orphans:
            adopted = Journal(path, fd, db_label)
            n = 0
            for line in adopted._lines():
                mine._append_line(line)
                n += 1
            if n:
                log.warning("adopted %d unsent batches from %s", n, path)
            os.close(fd)
            path.unlink()
        mine.pending_batches = sum(1 for _ in mine._lines())
        return mine

    def close(self) -> None:
        """Release the file (its content stays for the next start)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # -- writing ----------------------------------------------------------------------------
    def append(self, batch: Batch) -> None:
        """Append one batch and fsync before returning (durable against crash and power cut)."""
        self._append_line(encode_batch(batch, self.db_label))
        self.pending_batches += 1

    def _append_line(self, line: bytes) -> None:
        view = memoryview(line)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self._size += len(line)

    # -- replaying --------------------------------------------------------------------------
    @property
    def empty(self) -> bool:
        """True when every batch was replayed."""
        return self._head >= self._size

    def peek(self, max_batches: int, max_ops: int | None = None) -> list[tuple[int, Batch]]:
        """Up to ``max_batches`` next batches, each with the offset just after it.

        ``max_ops``: stop once the batches hold this many operations (at least one batch is
        returned), so one replay transaction stays short whatever the batches' sizes.
        """
        out: list[tuple[int, Batch]] = []
        offset = self._head
        ops = 0
        for line in self._lines(start=self._head):
            offset += len(line)
            batch = decode_batch(line)
            out.append((offset, batch))
            ops += len(batch.ops)
            if len(out) >= max_batches or (max_ops is not None and ops >= max_ops):
                break
        return out

    def advance(self, offset: int, n_batches: int) -> None:
        """Mark the batches before ``offset`` as replayed; empty the file once all are."""
        self._head = offset
        self.pending_batches = max(0, self.pending_batches - n_batches)
        if self._head >= self._size:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self._head = self._size = 0
            self.pending_batches = 0

    # -- helpers ----------------------------------------------------------------------------
    def relink_if_gone(self) -> bool:
        """Put the file back at its path if it was deleted or replaced (a wiped data directory:
        appends would go to an unlinked file and die with the process); True when it was.

        The batches not yet replayed are copied, fsync'd, into a new file at the path, which
        is used from then on.

        Raises:
            OSError: it cannot be put back now (the caller tries again later).
        """
        if self._fd < 0:
            return False
        try:
            if os.path.samestat(os.fstat(self._fd), os.stat(self.path)):
                return False
        except OSError:
            pass
        private_dir(self.path.parent)
        tmp = self.path.with_name(f"{self.path.name}.relink")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, FILE_MODE)
        size = 0
        try:
            for line in self._lines(self._head):
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
                size += len(line)
            os.fsync(fd)
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
        except OSError:
            os.close(fd)
            raise
        _lock(fd)
        os.close(self._fd)
        self._fd, self._head, self._size = fd, 0, size
        log.error("journal %s was deleted or replaced; put back (%d bytes)", self.path, size)
        return True

    def _lines(self, start: int = 0) -> Iterator[bytes]:
        # Through our own descriptor, not the path, which may have been deleted under us (the
        # duplicate shares the offset: harmless, since every write appends).
        # After close() (a stopped writer's backlog, read by ``run``) the path is all there is.
        opened = os.fdopen(os.dup(self._fd), "rb") if self._fd >= 0 else open(self.path, "rb")  # noqa: SIM115
        with opened as fh:
            fh.seek(start)
            for line in fh:
                if not line.endswith(b"\n"):
                    return
                yield line

    def _trim_torn_tail(self) -> None:
        good = 0
        for line in self._lines():
            try:
                decode_batch(line)
            except (ValueError, KeyError, TypeError):
                break
            good += len(line)
        if good < self._size:
            log.warning(
                "journal %s: dropping %d bytes of an incomplete last batch",
                self.path,
                self._size - good,
            )
            os.ftruncate(self._fd, good)
            os.fsync(self._fd)
            self._size = good


#: Where the Windows lock sits: one byte far past any journal's end.  Windows byte-range
#: locks are mandatory, so a lock on the data would stop another console reading a file it
#: adopts; the CRT's ``_locking`` takes a 32-bit position, hence below 2 GiB.
WINDOWS_LOCK_OFFSET = 0x7FFF_FFF0


def _lock(fd: int) -> bool:
    """Take the journal file for this process alone (False: another console holds it).

    POSIX: ``flock``; Windows: ``msvcrt.locking`` (:func:`_lock_windows`).  Both are
    imported here so the module loads everywhere, and both end when the file is closed.
    """
    if sys.platform == "win32":
        return _lock_windows(fd)
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _lock_windows(fd: int) -> bool:
    """Lock one byte at :data:`WINDOWS_LOCK_OFFSET`, without waiting.

    Why: without a lock two consoles on one Windows account and database took the same
    journal file, and the second one "adopted" (moved and deleted) the first one's spool.
    """
    if sys.platform != "win32":  # (also tells mypy which platform the rest is for)
        raise OSError("msvcrt file locks exist on Windows only")
    import msvcrt

    here = os.lseek(fd, 0, os.SEEK_CUR)
    os.lseek(fd, WINDOWS_LOCK_OFFSET, os.SEEK_SET)
    try:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # held by another handle (another console)
        return False
    finally:
        os.lseek(fd, here, os.SEEK_SET)  # appends go to the end anyway (O_APPEND)
    return True


class MemoryJournal(Journal):
    """The same interface in memory, for a writer given no journal directory (tests, tools).

    Batches survive a database outage but not a crash of the process.
    """

    def __init__(self, db_label: str = "") -> None:
        self.path = Path("<memory>")
        self.db_label = db_label
        self._fd = -1
        self._batches: list[Batch] = []
        self._head = 0
        self._size = 0
        self.pending_batches = 0

    def close(self) -> None:
        """Nothing to release."""

    def relink_if_gone(self) -> bool:
        """Nothing on disk to lose."""
        return False

    def append(self, batch: Batch) -> None:
        """Keep the batch in memory."""
        self._batches.append(batch)
        self._size = len(self._batches)
        self.pending_batches += 1

    def peek(self, max_batches: int, max_ops: int | None = None) -> list[tuple[int, Batch]]:
        """Up to ``max_batches`` next batches (and about ``max_ops`` operations) with their end
        index."""
        out: list[tuple[int, Batch]] = []
        ops = 0
        for i, batch in enumerate(self._batches[self._head : self._head + max_batches]):
            out.append((self._head + i + 1, batch))
            ops += len(batch.ops)
            if max_ops is not None and ops >= max_ops:
                break
        return out

    def advance(self, offset: int, n_batches: int) -> None:
        """Drop replayed batches once all are."""
        self._head = offset
        self.pending_batches = max(0, self.pending_batches - n_batches)
        if self._head >= self._size:
            self._batches.clear()
            self._head = self._size = 0
            self.pending_batches = 0
