"""Alembic migrations: from empty, from the baseline with data, pre-migration DBs, too-new DBs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from console.storage.engine import StorageConfigError
from console.storage.migrate import (
    BASELINE_REVISION,
    DatabaseTooNewError,
    current_revision,
    head_revision,
    known_revisions,
    upgrade_to_head,
)
from console.storage.repository import SessionRepository
from console.storage.schema import Base

BASELINE_TABLES = {"sessions", "readings", "alarms", "alarm_log", "technical_events"}


def _drift(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, Base.metadata))


def test_at_least_two_revisions_ship() -> None:
    assert {BASELINE_REVISION, "0003_session_review"} <= known_revisions()
    assert head_revision() == "0008_audit_trail"


def test_upgrade_from_empty_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) is None
    assert upgrade_to_head(engine) == head_revision()
    assert _drift(engine) == []  # the models and the migrations describe the same schema
    assert upgrade_to_head(engine) == head_revision()  # idempotent


def _fill_baseline(engine: Engine) -> None:
    """Rows as the walking skeleton wrote them (raw SQL: the models are already newer)."""
    t0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    if engine.dialect.name == "sqlite":
        ts = [t0.replace(tzinfo=None, minute=m).isoformat(sep=" ") for m in range(3)]
        true = "1"
    else:
        ts = [t0.replace(minute=m).isoformat() for m in range(3)]
        true = "true"
    with engine.begin() as conn:
        for chair, ended in (("Chair 1", ts[2]), ("Chair 2", None), ("Chair 1", None)):
            conn.execute(
                text(
                    "INSERT INTO sessions (chair, started_at, ended_at, simulated, device_kind,"
                    " device_url, note) VALUES (:c, :s, :e, "
                    + true
                    + ", 'ge-datex', '/dev/pts/3', '')"
                ),
                {"c": chair, "s": ts[0], "e": ended},
            )
        for i in range(3):
            conn.execute(
                text(
                    "INSERT INTO readings (session_id, parameter, value, unit, valid, flags,"
                    " received_at) VALUES (1, 'HR', :v, '/min', " + true + ", '', :t)"
                ),
                {"v": 70 + i, "t": ts[i]},
            )
        conn.execute(
            text(
                "INSERT INTO alarms (session_id, condition, parameter, priority, message, onset_at)"
                " VALUES (1, 'HR:high', 'HR', 'medium', 'HR 121 >= 120', :t)"
            ),
            {"t": ts[1]},
        )
        conn.execute(
            text(
                "INSERT INTO alarm_log (session_id, condition, kind, priority, message, at)"
                " VALUES (1, 'HR:high', 'onset', 'medium', 'HR 121 >= 120', :t)"
            ),
            {"t": ts[1]},
        )


def test_upgrade_from_baseline_keeps_and_links_the_data(engine: Engine) -> None:
    assert upgrade_to_head(engine, target=BASELINE_REVISION) == BASELINE_REVISION
    assert set(inspect(engine).get_table_names()) == BASELINE_TABLES | {"alembic_version"}
    _fill_baseline(engine)

    assert upgrade_to_head(engine) == head_revision()
    assert _drift(engine) == []
    repo = SessionRepository(engine)
    sessions = {s.id: s for s in repo.list_sessions()}
    assert set(sessions) == {1, 2, 3}
    assert sessions[1].readings == 3
    assert sessions[1].alarms == 1
    assert sessions[1].phase == "closed"  # it had ended
    assert sessions[2].phase == "baseline"
    assert [r.value for r in repo.readings(1)] == [70, 71, 72]  # not cascade-deleted by batch mode
    log = repo.alarm_log(1)
    assert [(x.kind, x.actor) for x in log] == [("onset", None)]
    with engine.connect() as conn:
        chairs: dict[str, int] = dict(conn.execute(text("SELECT name, id FROM chairs")).all())
        links = conn.execute(text("SELECT id, chair_id, device_id FROM sessions ORDER BY id")).all()
    assert set(chairs) == {"Chair 1", "Chair 2"}
    assert [(i, c) for i, c, _d in links] == [
        (1, chairs["Chair 1"]),
        (2, chairs["Chair 2"]),
        (3, chairs["Chair 1"]),
    ]
    assert len({d for *_x, d in links}) == 1
    # the old unfinished sessions of Chair 1 are found for resuming
    assert [s.id for s in repo.unfinished_sessions("Chair 1")] == [3]


def test_database_from_before_migrations_is_stamped_not_recreated(engine: Engine) -> None:
    """The skeleton created its tables with create_all and no alembic_version."""
    upgrade_to_head(engine, target=BASELINE_REVISION)
    _fill_baseline(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    assert current_revision(engine) is None
    assert upgrade_to_head(engine) == head_revision()
    assert SessionRepository(engine).list_sessions()[-1].readings == 3


def test_database_newer_than_the_console_is_refused(engine: Engine) -> None:
    upgrade_to_head(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_from_the_future'"))
    with pytest.raises(DatabaseTooNewError, match="newer than this console") as info:
        upgrade_to_head(engine)
    assert isinstance(info.value, StorageConfigError)  # reported as one line by the CLI
    assert "0099_from_the_future" in str(info.value)


def test_downgrade_to_baseline_and_up_again(engine: Engine) -> None:
    from alembic import command

    from console.storage.migrate import alembic_config

    upgrade_to_head(engine)
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, BASELINE_REVISION)
    assert set(inspect(engine).get_table_names()) == BASELINE_TABLES | {"alembic_version"}
    assert upgrade_to_head(engine) == head_revision()
    assert _drift(engine) == []
