"""The SQLite file deleted or replaced under a running writer (issue 12, item 1).

SQLite keeps writing to a deleted file: the whole session used to be lost, silently.  Now the
writer notices within 5 s (a technical alarm through ``on_status``), and puts the database
back at its path from the file it still has open; nothing written before or after is lost.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository
from console.storage.writer import ReadingsItem, StorageWriter
from devices.model import METRIC_UNITS, Metric, Reading
from tests.expected_logs import DATABASE_FILE_GONE, expect_logs

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


class _Feed:
    """Readings at 50 Hz into the writer, numbered, until stopped."""

    def __init__(self, writer: StorageWriter, sid: int) -> None:
        self.writer, self.sid, self.sent = writer, sid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-feed")

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            at = T0 + timedelta(seconds=self.sent)
            r = Reading(Metric.HR, float(self.sent), METRIC_UNITS[Metric.HR], at)
            self.writer.submit(ReadingsItem(self.sid, (r,)))
            self.sent += 1

    def __enter__(self) -> _Feed:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _wipe_dir(d: Path, suffix: str = ".wiped") -> None:
    """``rm -rf d`` as one step for the writer: renamed away first, then removed.

    A plain ``shutil.rmtree`` races the writer, which may put the file back into the half-
    removed directory (``Directory not empty`` under load, seen in CI).
    """
    away = d.with_name(d.name + suffix)
    os.rename(d, away)
    shutil.rmtree(away)


def _dir_to_file(d: Path) -> None:
    """Replace directory ``d`` by a plain file, whatever the writer does meanwhile.

    The writer re-creates the directory to put its file back; a replacement that loses that
    race is simply done again.
    """
    for attempt in range(100):
        if d.is_dir():
            _wipe_dir(d, f".wiped{attempt}")
        try:
            with open(d, "x") as f:
                f.write("not a directory")
            return
        except (FileExistsError, IsADirectoryError):
            continue
    raise AssertionError(f"{d} could not be replaced by a file")


def _setup(tmp_path: Path) -> tuple[Path, str, int]:
    db = tmp_path / "data" / "record.sqlite3"
    db.parent.mkdir()
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    sid = SessionRepository(engine).create_session(
        chair="c", started_at=T0, simulated=True, device_kind="x"
    )
    engine.dispose()
    return db, url, sid


def _values(url: str, sid: int) -> list[float]:
    engine = make_engine(url, create=False)
    try:
        return [r.value or 0.0 for r in SessionRepository(engine).readings(sid)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("fault", ["deleted", "replaced"])
@expect_logs(DATABASE_FILE_GONE)
def test_a_database_file_gone_under_the_writer_is_noticed_and_restored(
    fault: str, tmp_path: Path
) -> None:
    db, url, sid = _setup(tmp_path)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE someone_elses (x)")
    conn.close()
    alarms: list[tuple[float, str]] = []
    engine = make_engine(url)
    writer = StorageWriter(
        engine,
        journal_dir=tmp_path / "journal",
        on_status=lambda ok, d: None if ok else alarms.append((time.monotonic(), d)),
    )
    writer.start()
    try:
        with _Feed(writer, sid) as feed:
            time.sleep(1.5)
            done_at = time.monotonic()
            if fault == "deleted":
                db.unlink()
            else:
                os.rename(other, db)
            time.sleep(3.0)
        assert writer.flush(10.0)
    finally:
        writer.stop()
        engine.dispose()
    (at, detail) = alarms[0]
    assert at - done_at < 5.0, "noticed too late"
    assert f"was {fault}" in detail
    # Every reading, from before and after, is in the file at the path; none twice.
    assert _values(url, sid) == [float(i) for i in range(feed.sent)]
    assert feed.sent > 200
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    aside = list(db.parent.glob("record.sqlite3.replaced-*"))
    if fault == "replaced":  # the other file is kept, untouched, beside it
        (kept,) = aside
        with sqlite3.connect(kept) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
        conn.close()
        assert names == ["someone_elses"]
    else:
        assert aside == []
    assert not list(db.parent.glob("*.restoring-*"))


@expect_logs(DATABASE_FILE_GONE)
@pytest.mark.expected_log(
    "storage", r"^cannot restore database file \S+ yet: \[Errno 17\] File exists"
)
def test_data_wait_in_the_journal_while_the_file_cannot_be_restored(tmp_path: Path) -> None:
    """The directory is gone and a file blocks its re-creation: the alarm stands, batches go
    to the journal, and they reach the record once the way is clear."""
    db, url, sid = _setup(tmp_path)
    alarms: list[str] = []
    engine = make_engine(url)
    writer = StorageWriter(
        engine,
        journal_dir=tmp_path / "journal",
        on_status=lambda ok, d: None if ok else alarms.append(d),
    )
    writer.start()
    try:
        with _Feed(writer, sid) as feed:
            time.sleep(1.0)
            for f in db.parent.iterdir():
                f.unlink()
            db.parent.rmdir()
            db.parent.write_text("not a directory")  # the restore cannot make the directory
            time.sleep(2.5)
            assert alarms
            assert "was deleted" in alarms[0]
            assert not writer.flush(0.5)  # not in the record yet...
            assert writer.journal_path is not None
            assert writer.journal_path.stat().st_size > 0  # ...but in the fsync'd journal
            db.parent.unlink()
            time.sleep(1.5)
        assert writer.flush(10.0)
    finally:
        writer.stop()
        engine.dispose()
    assert _values(url, sid) == [float(i) for i in range(feed.sent)]


@expect_logs(DATABASE_FILE_GONE)
@pytest.mark.expected_log(
    "storage", r"^journal \S+ was deleted or replaced; put back \(\d+ bytes\)$"
)
@pytest.mark.expected_log(
    "storage", r"^storage: database unavailable: OperationalError: unable to open database file"
)
def test_a_wiped_data_directory_is_put_back_with_journal_and_record(tmp_path: Path) -> None:
    """``rm -rf`` of the directory that holds the database and the journal."""
    db, url, sid = _setup(tmp_path)
    journal_dir = db.parent / "journal"
    alarms: list[str] = []
    engine = make_engine(url)
    writer = StorageWriter(
        engine, journal_dir=journal_dir, on_status=lambda ok, d: None if ok else alarms.append(d)
    )
    writer.start()
    try:
        with _Feed(writer, sid) as feed:
            time.sleep(1.0)
            _wipe_dir(db.parent)
            time.sleep(3.0)
        assert writer.flush(10.0)
        assert writer.journal_path is not None
        assert writer.journal_path.exists()
    finally:
        writer.stop()
        engine.dispose()
    assert "was deleted" in alarms[0]
    assert _values(url, sid) == [float(i) for i in range(feed.sent)]
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_stopping_before_the_file_can_be_put_back_saves_a_copy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db, url, sid = _setup(tmp_path)
    journal_dir = tmp_path / "journal"
    engine = make_engine(url)
    writer = StorageWriter(engine, journal_dir=journal_dir)
    writer.start()
    try:
        with _Feed(writer, sid) as feed:
            time.sleep(1.0)
            assert writer.flush()
            written = feed.sent
            _dir_to_file(db.parent)
            time.sleep(1.5)
    finally:
        writer.stop()
        engine.dispose()
    (copy,) = journal_dir.glob("rescued-record.sqlite3-*")
    assert "its content is saved as" in caplog.text
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    # Put back by hand as the log says: the journal is replayed into it at the next start.
    db.parent.unlink()
    db.parent.mkdir()
    shutil.copy(copy, db)
    engine = make_engine(url)
    writer = StorageWriter(engine, journal_dir=journal_dir)
    writer.start()
    try:
        assert writer.flush(10.0)
    finally:
        writer.stop()
        engine.dispose()
    values = _values(url, sid)
    assert len(values) >= written
    assert values == [float(i) for i in range(feed.sent)]
