"""The local journal: fsync'd spool, torn tails, orphans, replay after restart, exactly once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from console.storage.engine import make_engine
from console.storage.journal import Batch, Journal, decode_batch, encode_batch
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository
from console.storage.schema import ReadingRow
from console.storage.writer import (
    Item,
    ReadingsItem,
    SessionEndItem,
    StorageWriter,
    TechnicalItem,
    apply_batches,
    make_batch,
)
from devices.model import METRIC_UNITS, Metric, Reading, TechnicalEvent, TechnicalEventKind
from tests.expected_logs import BATCH_REFUSED, expect_logs

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _items(sid: int, start: int, n: int) -> ReadingsItem:
    return ReadingsItem(
        sid,
        tuple(
            Reading(Metric.HR, float(i), METRIC_UNITS[Metric.HR], T0 + timedelta(seconds=i))
            for i in range(start, start + n)
        ),
    )


def _batch(i: int) -> Batch:
    return make_batch([_items(1, i * 10, 10)])


def test_batches_round_trip_through_json() -> None:
    items: list[Item] = [
        _items(1, 0, 2),
        TechnicalItem(1, TechnicalEvent(TechnicalEventKind.QUIET, T0, "no data for 10 s")),
        SessionEndItem(1, T0),
    ]
    batch = make_batch(items)
    line = encode_batch(batch, "sqlite:///x")
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert decode_batch(line) == batch


def test_journal_survives_reopen_and_empties_after_replay(tmp_path: Path) -> None:
    batches = [_batch(i) for i in range(3)]
    j = Journal.open(tmp_path, "db-a")
    for b in batches:
        j.append(b)
    j.close()
    j = Journal.open(tmp_path, "db-a")
    assert j.pending_batches == 3
    got = j.peek(2)
    assert [b for _o, b in got] == batches[:2]
    j.advance(got[-1][0], 2)
    assert not j.empty
    (last,) = j.peek(10)
    j.advance(last[0], 1)
    assert j.empty
    assert j.path.stat().st_size == 0  # emptied on disk, not only in memory
    j.close()
    other = Journal.open(tmp_path, "db-b")  # another database: another file
    assert other.path != j.path
    assert other.empty
    other.close()


def test_torn_last_line_is_cut_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kept = [_batch(0), _batch(1)]
    j = Journal.open(tmp_path, "db")
    j.append(kept[0])
    j.append(kept[1])
    path = j.path
    j.close()
    with path.open("ab") as fh:
        fh.write(encode_batch(_batch(2), "db")[:40])  # power cut mid-write
    with caplog.at_level(logging.WARNING, logger="storage"):
        j = Journal.open(tmp_path, "db")
    assert j.pending_batches == 2
    assert "incomplete last batch" in caplog.text
    assert [b for _o, b in j.peek(10)] == kept
    j.close()


@pytest.mark.expected_log("storage", r"^adopted 2 unsent batches from \S+$")
def test_a_locked_journal_is_not_shared_and_orphans_are_adopted(tmp_path: Path) -> None:
    a = Journal.open(tmp_path, "db")
    b = Journal.open(tmp_path, "db")  # a second console on the same PC and database
    assert a.path != b.path
    a.append(_batch(0))
    b.append(_batch(1))
    b.append(_batch(2))
    a.close()
    b.close()  # both "crashed"
    c = Journal.open(tmp_path, "db")
    assert c.pending_batches == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [c.path.name]
    c.close()


@pytest.mark.expected_log(
    "storage",
    r"^storage: database unavailable: OperationalError: unable to open database file "
    r"\(spooling to the local journal\)$",
)
@pytest.mark.expected_log(
    "storage", r"^database unavailable at shutdown: 1 batches kept in \S+ for next start"
)
@pytest.mark.expected_log(
    "storage", r"^journal \S+ holds 1 batches from an earlier run; replaying$"
)
def test_spooled_batches_are_replayed_after_a_restart(tmp_path: Path) -> None:
    """The database is unreachable for a whole run; the next run delivers everything once."""
    url = f"sqlite:///{tmp_path / 'not-yet' / 'record.sqlite3'}"  # directory missing: unopenable
    journal_dir = tmp_path / "journal"
    statuses: list[tuple[bool, str]] = []
    engine = make_engine(url)
    writer = StorageWriter(
        engine, journal_dir=journal_dir, on_status=lambda ok, d: statuses.append((ok, d))
    )
    writer.start()
    try:
        for k in range(5):
            writer.submit(_items(1, k * 10, 10))
        writer.submit(SessionEndItem(1, T0 + timedelta(minutes=5)))
        assert not writer.flush(timeout_s=1.0)
        assert writer.journal_path is not None
    finally:
        writer.stop()
        engine.dispose()
    assert statuses[0][0] is False
    assert "spooling to the local journal" in statuses[0][1]
    journal_files = list(journal_dir.glob("journal-*.jsonl"))
    assert len(journal_files) == 1
    assert journal_files[0].stat().st_size > 0

    (tmp_path / "not-yet").mkdir()
    engine = make_engine(url)
    upgrade_to_head(engine)
    repo = SessionRepository(engine)
    assert repo.create_session(chair="c", started_at=T0, simulated=True, device_kind="x") == 1
    writer = StorageWriter(engine, journal_dir=journal_dir)
    writer.start()
    try:
        writer.submit(_items(1, 50, 10))  # new data goes behind the replayed backlog
        assert writer.flush(timeout_s=10.0)
    finally:
        writer.stop()
    values = [r.value for r in repo.readings(1)]
    assert values == [float(i) for i in range(60)]
    assert repo.session(1).ended_at == T0 + timedelta(minutes=5)
    assert journal_files[0].stat().st_size == 0
    engine.dispose()


@pytest.mark.expected_log(
    "storage", r"^journal \S+ holds 2 batches from an earlier run; replaying$"
)
def test_a_batch_that_did_commit_is_not_applied_twice(tmp_path: Path) -> None:
    """COMMIT reached the database but the answer was lost: the journal copy is skipped."""
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    sid = SessionRepository(engine).create_session(
        chair="c", started_at=T0, simulated=True, device_kind="x"
    )
    committed = make_batch([_items(sid, 0, 10)])
    with engine.begin() as conn:
        apply_batches(conn, [committed])
    journal = Journal.open(tmp_path / "journal", "sqlite:///" + str(tmp_path / "record.sqlite3"))
    journal.append(committed)  # the writer spooled it, not knowing it had committed
    journal.append(make_batch([_items(sid, 10, 5)]))
    journal.close()
    writer = StorageWriter(engine, journal_dir=tmp_path / "journal")
    writer.start()
    try:
        assert writer.flush(timeout_s=10.0)
    finally:
        writer.stop()
    with engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(ReadingRow))
    assert n == 15
    engine.dispose()


@expect_logs(BATCH_REFUSED)
def test_a_refused_batch_is_set_aside_and_the_rest_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    engine = make_engine(url)
    upgrade_to_head(engine)
    sid = SessionRepository(engine).create_session(
        chair="c", started_at=T0, simulated=True, device_kind="x"
    )
    statuses: list[bool] = []
    writer = StorageWriter(
        engine, journal_dir=tmp_path / "journal", on_status=lambda ok, _d: statuses.append(ok)
    )
    writer.start()
    try:
        writer.submit(_items(999, 0, 3))  # no such session: a foreign-key violation (our bug)
        assert writer.flush()
        writer.submit(_items(sid, 0, 3))
        assert writer.flush()
    finally:
        writer.stop()
    assert writer.batches_rejected == 1
    assert statuses == [False, True]
    rejected = list((tmp_path / "journal").glob("rejected-*.jsonl"))
    assert len(rejected) == 1
    assert len(SessionRepository(engine).readings(sid)) == 3
    engine.dispose()


@pytest.mark.expected_log(
    "storage", r"^journal \S+ was deleted or replaced; put back \(\d+ bytes\)$"
)
def test_a_deleted_journal_file_is_put_back_with_what_it_held(tmp_path: Path) -> None:
    j = Journal.open(tmp_path / "journal", "db")
    batches = [_batch(i) for i in range(3)]
    j.append(batches[0])
    j.append(batches[1])
    j.advance(j.peek(1)[0][0], 1)  # the first was replayed
    j.path.unlink()  # the data directory was cleaned up under the console
    assert j.relink_if_gone()
    assert not j.relink_if_gone()
    j.append(batches[2])
    assert [b for _o, b in j.peek(10)] == batches[1:]
    assert (j.path.stat().st_mode & 0o777) == 0o600
    j.close()
    again = Journal.open(tmp_path / "journal", "db")  # and it is on disk, for the next start
    assert [b for _o, b in again.peek(10)] == batches[1:]
    again.close()
