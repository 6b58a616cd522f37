"""simulated_clock_start: an accelerated simulated record ahead of real time moves the
simulated clock forward to where it ends; nothing else does."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from console.config import DeviceConfig, Settings, load
from console.domain.session import EventKind, SessionEvent
from console.services.resume_clock import simulated_clock_start
from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[SessionRepository]:
    engine = make_engine(f"sqlite:///{tmp_path / 'resume.sqlite3'}")
    upgrade_to_head(engine)
    yield SessionRepository(engine)
    engine.dispose()


def _chair(name: str, *, simulated: bool = True) -> Settings:
    base = load(overrides={"storage.db_url": "sqlite://"}, environ={})
    device = DeviceConfig() if simulated else DeviceConfig(kind="ge-datex", url="/dev/ttyS0")
    assert device.simulated is simulated
    return replace(base, chair_name=name, device=device)


def _session(repo: SessionRepository, chair: str, last: datetime, *, ended: bool = False) -> int:
    sid = repo.create_session(
        chair=chair, started_at=last - timedelta(minutes=30), simulated=True, device_kind="sim"
    )
    repo.record_event(sid, SessionEvent(kind=EventKind.NAUSEA.value, at=last, author="rn"))
    if ended:
        repo.end_session(sid, last + timedelta(minutes=1))
    return sid


def test_nothing_stored_leaves_the_clock_alone(repo: SessionRepository) -> None:
    assert simulated_clock_start(repo, [_chair("Chair 1")], NOW) is None


def test_an_unfinished_record_ahead_of_now_starts_the_clock_where_it_ends(
    repo: SessionRepository,
) -> None:
    ahead = NOW + timedelta(hours=3)
    _session(repo, "Chair 1", ahead)
    assert simulated_clock_start(repo, [_chair("Chair 1")], NOW) == ahead


def test_the_newest_of_several_chairs_wins(repo: SessionRepository) -> None:
    _session(repo, "Chair 1", NOW + timedelta(hours=1))
    _session(repo, "Chair 2", NOW + timedelta(hours=5))
    _session(repo, "Chair 3", NOW + timedelta(hours=2))
    chairs = [_chair("Chair 1"), _chair("Chair 2"), _chair("Chair 3")]
    assert simulated_clock_start(repo, chairs, NOW) == NOW + timedelta(hours=5)


def test_a_record_behind_now_or_at_now_does_not_move_the_clock(
    repo: SessionRepository,
) -> None:
    _session(repo, "Chair 1", NOW - timedelta(minutes=5))
    _session(repo, "Chair 2", NOW)
    assert simulated_clock_start(repo, [_chair("Chair 1"), _chair("Chair 2")], NOW) is None


def test_finished_records_and_other_chairs_do_not_count(repo: SessionRepository) -> None:
    _session(repo, "Chair 1", NOW + timedelta(hours=4), ended=True)
    _session(repo, "Chair 9", NOW + timedelta(hours=6))  # not one of this console's chairs
    assert simulated_clock_start(repo, [_chair("Chair 1")], NOW) is None


def test_a_real_monitor_never_moves_the_clock(repo: SessionRepository) -> None:
    _session(repo, "Chair 1", NOW + timedelta(hours=4))
    assert simulated_clock_start(repo, [_chair("Chair 1", simulated=False)], NOW) is None


def test_an_unreadable_database_means_no_move(tmp_path: Path) -> None:
    """Not migrated: "no such table" is an OperationalError; the chairs ask again later."""
    engine: Engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        assert simulated_clock_start(SessionRepository(engine), [_chair("Chair 1")], NOW) is None
    finally:
        engine.dispose()


def test_the_move_is_logged_at_info_only(
    repo: SessionRepository, caplog: pytest.LogCaptureFixture
) -> None:
    """Moving the clock is normal operation, not a warning (caplog: this test owns its log)."""
    _session(repo, "Chair 1", NOW + timedelta(hours=1))
    with caplog.at_level(logging.INFO, logger="console"):
        simulated_clock_start(repo, [_chair("Chair 1")], NOW)
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert "where the unfinished record ends" in caplog.records[0].getMessage()
