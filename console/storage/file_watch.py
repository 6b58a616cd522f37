"""The SQLite file the writer writes must be the file at the database's path.

SQLite keeps writing to a database file that was deleted (or renamed over) while it is open:
every later transaction "succeeds" into an inode no one can reach, and the whole session is
lost at exit, silently.  :class:`DatabaseFile` notices within a second, from the writer thread,
by comparing the path's ``st_dev``/``st_ino`` with the file the console opened, and puts the
console's database back:

1. From then on no new connection may open the path (a gate on the engine's connects), so no
   empty database is created in its place; the writer spools to its fsync'd journal.
2. Every pooled connection is closed, then the database is copied, with SQLite's online backup,
   from the *anchor*: a connection this class keeps open on the file, so the deleted inode and
   everything written to it until now stay readable.
3. A file found at the path (a replacement) is renamed to ``<name>.replaced-<UTC time>``, never
   deleted; the old ``-wal``/``-shm`` files (the backup holds their content) are removed, and
   the copy is linked into place (mode 0600).  The journal is then replayed into it.

Nothing written before the deletion is lost, and nothing after it: it waits in the journal.  If
the copy cannot be put back (the directory is gone and cannot be made, the disk is full), the
writer keeps spooling and retries every second, with the technical alarm standing.  Another
process that still has the deleted file open writes into it unseen; this class cannot help it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import event
from sqlalchemy.engine import Engine

from console.storage.private import FILE_MODE, fsync_dir, private_dir

log = logging.getLogger("storage")

#: How long to wait for other threads to hand back connections before copying (s).
CHECKIN_WAIT_S = 2.0


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


class DatabaseFile:
    """Watches one SQLite database file for deletion or replacement, and restores it.

    Used by the writer thread only (:meth:`check` and :meth:`restore`); the connect gate runs on
    whichever thread connects.

    Args:
        engine: the engine on that file; a connect gate is installed on it.
        path: the database file.
    """

    def __init__(self, engine: Engine, path: Path) -> None:
        self.engine = engine
        self.path = path
        self._anchor: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._closed_gate = False
        event.listen(engine, "do_connect", self._gate)

    # -- the gate ---------------------------------------------------------------------------
    def _gate(self, _dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
        """Refuse to connect to anything but the file we opened (or while restoring it)."""
        if self._closed_gate:
            raise sqlite3.OperationalError(f"database file {self.path} is being restored")
        if self._identity is None:
            return
        try:
            same = _identity(os.stat(self.path)) == self._identity
        except OSError:
            same = False
        if not same:
            raise sqlite3.OperationalError(f"database file {self.path} is gone or replaced")

    # -- watching ---------------------------------------------------------------------------
    def check(self) -> str | None:
        """None while the path is our file; else ``"deleted"`` or ``"replaced"``.

        Before the file exists (or before it was ever opened) there is nothing to watch: the
        anchor is opened as soon as the file is there.
        """
        if self._anchor is None:
            self._open_anchor()
            return None
        try:
            now = _identity(os.stat(self.path))
        except FileNotFoundError:
            return "deleted"
        except OSError:  # e.g. its directory was replaced by a file
            return "deleted"
        return None if now == self._identity else "replaced"

    def _open_anchor(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            return
        uri = f"file:{quote(str(self.path))}?mode=rw"
        try:
            anchor = sqlite3.connect(uri, uri=True, check_same_thread=False)
            anchor.execute("SELECT count(*) FROM sqlite_master").fetchall()  # opens -wal/-shm
        except sqlite3.Error as err:
            log.debug("cannot open the anchor on %s yet: %s", self.path, err)
            return
        if _identity(os.stat(self.path)) != _identity(st):  # replaced while opening: retry
            anchor.close()
            return
        self._anchor, self._identity = anchor, _identity(st)

    # -- restoring --------------------------------------------------------------------------
    def restore(self) -> str:
        """Put our database back at its path; returns what was done, for the log.

        Raises:
            OSError: the copy cannot be written or linked into place (try again later).
            sqlite3.Error: the copy failed.
        """
        assert self._anchor is not None
        self._closed_gate = True
        try:
            self._close_pool()
            private_dir(self.path.parent)
            tmp = self.path.with_name(f"{self.path.name}.restoring-{os.getpid()}")
            tmp.unlink(missing_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            os.close(fd)
            copy = sqlite3.connect(tmp)
            try:
                self._anchor.backup(copy)
            finally:
                copy.close()
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            aside: Path | None = None
            if os.path.lexists(self.path):
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                aside = self.path.with_name(f"{self.path.name}.replaced-{stamp}")
                os.rename(self.path, aside)
            for suffix in ("-wal", "-shm"):  # the old file's; its content is in the copy
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            os.link(tmp, self.path)  # never over a file that appeared meanwhile
            tmp.unlink()
            fsync_dir(self.path.parent)
            self._anchor.close()
            self._anchor = None
            self._identity = None
            self._open_anchor()
        finally:
            self._closed_gate = False
        done = f"database file {self.path} restored from the copy the console still had open"
        if aside is not None:
            done += f"; the file found in its place was moved to {aside}"
        return done

    def save_copy(self, directory: Path) -> Path | None:
        """Copy the file we still have open to ``directory`` (the last resort at shutdown when
        it could not be put back at its path); returns the copy, or None without a file open.

        Raises:
            OSError: the copy cannot be written.
            sqlite3.Error: the copy failed.
        """
        if self._anchor is None:
            return None
        private_dir(directory)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = directory / f"rescued-{self.path.name}-{stamp}"
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        copy = sqlite3.connect(target)
        try:
            self._anchor.backup(copy)
        finally:
            copy.close()
        return target

    def _close_pool(self) -> None:
        """Close every pooled connection (all on the old file), waiting for borrowed ones."""
        old = self.engine.pool
        self.engine.dispose()
        deadline = time.monotonic() + CHECKIN_WAIT_S
        while old.checkedout() > 0 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.02)
        old.dispose()

    def close(self) -> None:
        """Close the anchor and remove the gate."""
        event.remove(self.engine, "do_connect", self._gate)
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None
