"""The threshold profile a session started with is stored with it and shown in the review.

Older sessions (recorded before storage revision 0004) have none: the review then shows the
console's current profile and says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine

from console.app import ConsoleApp, build_app
from console.config import load
from console.domain.alarm_profiles import (
    ThresholdProfile,
    profile_from_json,
    profile_to_json,
)
from console.domain.alarm_rules import Direction, LimitError, Priority
from console.domain.review import summarize
from console.reports.html import NOT_STORED_NOTE, STORED_PROFILE_TITLE, report_html
from console.services.session_values import SessionPlan
from console.storage.repository import SessionRepository, UnknownSessionError
from console.storage.review import ReviewRepository
from console.storage.schema import SessionProfileRow
from devices.model import Metric
from tests.console.review.builders import T0, build_session

CLINIC = load(overrides={"storage.db_url": "sqlite://"}, environ={}).alarm_profile


def _html(engine: Engine, sid: int, configured: ThresholdProfile) -> str:
    stored = ReviewRepository(engine).load(sid)
    return report_html(stored, summarize(stored.inputs()), configured)


def test_profile_json_round_trips_every_setting() -> None:
    profile = (
        CLINIC.with_limit(Metric.HR, Direction.HIGH, Priority.MEDIUM, 105.0, delay_s=20.0)
        .with_timings(audio_pause_s=300.0, latch_high=False)
        .with_overrides((), name="clinic default + patient overrides")
    )
    assert profile_from_json(profile_to_json(profile)) == profile
    with pytest.raises(LimitError, match="unknown layout"):
        profile_from_json('{"name": "x"}')
    with pytest.raises(LimitError, match="unreadable"):
        profile_from_json("not json")


def test_created_session_stores_its_profile_once(migrated: Engine) -> None:
    repo = SessionRepository(migrated)
    sid = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=True, device_kind="ge-datex", profile=CLINIC
    )
    assert repo.session_profile(sid) == CLINIC
    # A resumed session keeps the profile it started with.
    repo.store_session_profile(sid, ThresholdProfile(name="other"), at=T0 + timedelta(hours=1))
    assert repo.session_profile(sid) == CLINIC
    bare = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=True, device_kind="ge-datex"
    )
    assert repo.session_profile(bare) is None
    repo.store_session_profile(bare, CLINIC)  # the helper ``main.py run`` calls
    assert repo.session_profile(bare) == CLINIC
    with pytest.raises(UnknownSessionError):
        repo.store_session_profile(bare + 100, CLINIC)


def test_review_shows_the_stored_limits_not_the_changed_settings(migrated: Engine) -> None:
    built = build_session(migrated)
    SessionRepository(migrated).store_session_profile(built.session_id, CLINIC, at=T0)
    # After the session the clinic tightens HR high (medium) from 110 to 99 in the settings.
    changed = CLINIC.with_limit(Metric.HR, Direction.HIGH, Priority.MEDIUM, 99.0)
    stored = ReviewRepository(migrated).load(built.session_id)
    assert stored.profile == CLINIC
    assert stored.thresholds(changed) == (CLINIC, True)
    html = _html(migrated, built.session_id, changed)
    assert STORED_PROFILE_TITLE in html
    assert "&gt; 110 for 30 s, medium" in html
    assert "&gt; 99 for 30 s, medium" not in html
    assert NOT_STORED_NOTE.replace("'", "&#x27;") not in html
    assert "(stored with the session)" in html  # the summary header line
    # Changes during the session stay listed with who, when and why.
    assert "first session: tighter SBP limit" in html


def test_old_session_without_a_stored_profile_says_so(migrated: Engine) -> None:
    built = build_session(migrated)
    changed = CLINIC.with_limit(Metric.HR, Direction.HIGH, Priority.MEDIUM, 99.0)
    stored = ReviewRepository(migrated).load(built.session_id)
    assert stored.profile is None
    assert stored.thresholds(changed) == (changed, False)
    html = _html(migrated, built.session_id, changed)
    assert NOT_STORED_NOTE.replace("'", "&#x27;") in html
    assert STORED_PROFILE_TITLE not in html
    assert "&gt; 99 for 30 s, medium" in html
    assert "not stored with this session" in html
    assert "first session: tighter SBP limit" in html


def test_unreadable_stored_profile_falls_back_with_the_reason(migrated: Engine) -> None:
    built = build_session(migrated)
    repo = SessionRepository(migrated)
    repo.store_session_profile(built.session_id, CLINIC, at=T0)
    with migrated.begin() as conn:
        conn.execute(
            delete(SessionProfileRow).where(SessionProfileRow.session_id == built.session_id)
        )
        conn.execute(
            insert(SessionProfileRow).values(
                session_id=built.session_id, name="broken", profile_json="{}", stored_at=T0
            )
        )
    stored = ReviewRepository(migrated).load(built.session_id)
    assert stored.profile is None
    assert "unknown layout" in stored.profile_note
    assert "could not be read" in _html(migrated, built.session_id, CLINIC)


# -- through the chair service ------------------------------------------------------------------
@pytest.fixture
def console(qtbot: QtBot, tmp_path: Path) -> Iterator[ConsoleApp]:
    settings = load(
        overrides={
            "storage.db_url": f"sqlite:///{tmp_path / 'console.sqlite3'}",
            "simulator.speed": 300.0,
        },
        environ={},
    )
    app = build_app(settings, journal_dir=tmp_path / "journal", sound=False)
    qtbot.addWidget(app.window)
    # The records open on each chair's database worker, after the window is up.
    qtbot.waitUntil(lambda: not any(c.record_opening for c in app.chairs), timeout=15_000)
    yield app
    app.shutdown()


@pytest.mark.gui
def test_chair_service_stores_the_profile_of_each_session(console: ConsoleApp) -> None:
    chair, repo = console.chair, console.repository
    clinic = console.settings.alarm_profile
    demo = chair.session_id
    assert demo is not None
    assert repo.session_profile(demo) == clinic  # the demo session opened at start-up
    chair.alarms.override_limit(
        Metric.HR, Direction.HIGH, Priority.MEDIUM, 120.0, user="Dr Lee", reason="known tachy"
    )
    plan = SessionPlan(
        mrn="MRN-9001",
        display_name="J.D.",
        weight_kg=80.0,
        weight_measured_on=date.today(),
        dose_mg_per_kg=0.5,
    )
    sid = chair.workflow.new_session(plan, user="Nurse Kim")
    assert sid != demo
    # The new session starts under the clinic default (the override was reset), the demo
    # session keeps the profile it started with; its override is a logged change.
    assert repo.session_profile(sid) == clinic
    assert repo.session_profile(demo) == clinic
    assert console.writer.flush()
    changes = repo.profile_changes(demo)
    assert any(c["reason"] == "known tachy" for c in changes)
    later = clinic.with_limit(Metric.HR, Direction.HIGH, Priority.MEDIUM, 99.0)
    html = _html(console.engine, demo, later)
    assert STORED_PROFILE_TITLE in html
    assert "&gt; 110 for 30 s, medium" in html
    assert "known tachy" in html
    assert "audio pause s" in html  # the timings are listed too
