"""Browser queries, sign-off and record loading on both backends (console.storage.review)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from console.domain.review import summarize
from console.storage.migrate import current_revision, head_revision, known_revisions
from console.storage.repository import SessionRepository, UnknownSessionError
from console.storage.review import (
    ADDENDUM,
    PAGE_SIZE,
    SIGN_OFF,
    ReachedPhase,
    ReviewRepository,
    SessionFilter,
    SortKey,
)
from console.storage.schema import SessionRow
from tests.console.review.builders import T0, build_series, build_session


def test_migration_adds_the_review_table_and_indexes(migrated: Engine) -> None:
    # The review revision ships, and the database is at the head (whichever revision that is).
    assert "0003_session_review" in known_revisions()
    assert current_revision(migrated) == head_revision()
    insp = inspect(migrated)
    assert "session_reviews" in insp.get_table_names()
    assert "ix_sessions_started" in {i["name"] for i in insp.get_indexes("sessions")}
    assert "ix_alarms_session_priority" in {i["name"] for i in insp.get_indexes("alarms")}


def test_filters_sort_and_sign_off(migrated: Engine) -> None:
    pid, series = build_series(migrated, n=3)
    other = build_session(
        migrated, start=T0 + timedelta(days=20), chair="Chair 2", surge_mmhg=10.0, ended=False
    )
    review = ReviewRepository(migrated)
    assert review.count(SessionFilter()) == 4
    newest_first = [r.id for r in review.search(SessionFilter())]
    assert newest_first == [other.session_id, *reversed(series)]
    oldest_first = review.search(SessionFilter(descending=False))
    assert [r.id for r in oldest_first] == [*series, other.session_id]
    assert {r.id for r in review.search(SessionFilter(patient_text="doe"))} == set(series)
    assert {r.id for r in review.search(SessionFilter(patient_text="4711"))} == set(series)
    assert [r.id for r in review.search(SessionFilter(patient_id=pid))] == list(reversed(series))
    assert [r.id for r in review.search(SessionFilter(chair="Chair 2"))] == [other.session_id]
    window = SessionFilter(
        started_from=T0 + timedelta(days=2), started_before=T0 + timedelta(days=4)
    )
    assert [r.id for r in review.search(window)] == [series[1]]
    high = {r.id for r in review.search(SessionFilter(high_alarms=True))}
    assert high == set(series)  # the small surge of ``other`` raised no alarm
    assert review.count(SessionFilter(reached=ReachedPhase.CLOSED)) == 3
    assert review.count(SessionFilter(reached=ReachedPhase.OBSERVATION)) == 4
    assert review.count(SessionFilter(reached=ReachedPhase.DISCHARGE)) == 3
    assert review.count(SessionFilter(reached=ReachedPhase.BASELINE_ONLY)) == 0
    by_alarms = review.search(SessionFilter(sort=SortKey.ALARMS, descending=False))
    assert by_alarms[0].id == other.session_id

    assert review.count(SessionFilter(unreviewed=True)) == 4
    first = review.sign_off(
        series[0], by="Dr Lee", note="BP surge managed", at=T0 + timedelta(days=1)
    )
    later = review.sign_off(series[0], by="Dr Ng", note="addendum", at=T0 + timedelta(days=2))
    assert (first.kind, later.kind) == (SIGN_OFF, ADDENDUM)
    assert review.count(SessionFilter(unreviewed=True)) == 3
    row = next(r for r in review.search(SessionFilter()) if r.id == series[0])
    assert (row.reviewed_by, row.reviewed_at) == ("Dr Lee", T0 + timedelta(days=1))
    assert [s.reviewed_by for s in review.sign_offs(series[0])] == ["Dr Lee", "Dr Ng"]
    with pytest.raises(ValueError, match="name"):
        review.sign_off(series[1], by="  ")
    with pytest.raises(UnknownSessionError):
        review.sign_off(9999, by="Dr Lee")


def test_load_an_unfinished_session_and_its_summary(migrated: Engine) -> None:
    built = build_session(migrated, ended=False)
    stored = ReviewRepository(migrated).load(built.session_id)
    assert stored.record.ended_at is None
    assert stored.signed_off is None
    s = summarize(stored.inputs())
    assert s.in_progress
    assert s.alarms[0].end is None
    assert s.alarms[0].first_ack is not None
    assert s.alarms[0].first_ack.actor == "dr.lee"
    assert s.infusion.stop is not None
    with pytest.raises(UnknownSessionError):
        ReviewRepository(migrated).load(4242)


def test_reads_are_read_only_transactions_on_postgresql(migrated: Engine) -> None:
    if migrated.dialect.name != "postgresql":
        pytest.skip("READ ONLY transactions are a PostgreSQL feature")
    review = ReviewRepository(migrated)
    with review._read() as conn, pytest.raises(DBAPIError, match="read-only"):
        conn.execute(text("DELETE FROM sessions"))


def test_review_does_not_block_a_writer(migrated: Engine) -> None:
    """A writer commits while the browser has just read: no lock is left behind."""
    built = build_session(migrated, ended=False)
    review = ReviewRepository(migrated)
    review.search(SessionFilter())
    review.load(built.session_id)
    start = time.monotonic()
    SessionRepository(migrated).end_session(built.session_id, T0 + timedelta(hours=2))
    assert time.monotonic() - start < 2.0
    assert review.load(built.session_id).record.ended_at == T0 + timedelta(hours=2)


@pytest.mark.slow
def test_browser_pages_are_fast_with_thousands_of_sessions(migrated: Engine) -> None:
    n = 5000
    rows = [
        {
            "chair": f"Chair {i % 6 + 1}",
            "started_at": datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=3 * i),
            "ended_at": datetime(2025, 1, 1, 1, tzinfo=UTC) + timedelta(hours=3 * i),
            "simulated": False,
            "device_kind": "ge-datex",
            "device_url": "",
            "note": "",
            "phase": "closed",
            "resumed": False,
        }
        for i in range(n)
    ]
    with migrated.begin() as conn:
        conn.execute(insert(SessionRow), rows)
    review = ReviewRepository(migrated)
    start = time.monotonic()
    assert review.count(SessionFilter(unreviewed=True)) == n
    page = review.search(SessionFilter(unreviewed=True), offset=2 * PAGE_SIZE)
    later = review.search(SessionFilter(chair="Chair 3", sort=SortKey.PATIENT))
    elapsed = time.monotonic() - start
    assert len(page) == PAGE_SIZE
    assert len(later) == PAGE_SIZE
    assert elapsed < 2.0, f"three browser queries took {elapsed:.2f} s on {n} sessions"
