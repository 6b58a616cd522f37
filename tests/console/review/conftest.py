"""Review fixtures: a migrated database on each backend (every table dropped first)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from tests.console.storage.conftest import pg_url_or_skip, wipe


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database (no tables at all) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'review.sqlite3'}"
    url = pg_url_or_skip()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
        wipe(engine)
    except Exception as err:  # a configured but unreachable server is a failure, not a skip
        pytest.fail(f"PostgreSQL at {url} unusable: {err}")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    """The ``engine`` fixture's database at the newest revision."""
    upgrade_to_head(engine)
    return engine


@pytest.fixture
def sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """A migrated SQLite database (for the Qt tests, which need one backend only)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'ui.sqlite3'}")
    upgrade_to_head(engine)
    yield engine  # type: ignore[misc]
    engine.dispose()
