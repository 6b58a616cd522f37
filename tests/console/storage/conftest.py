"""Storage fixtures: empty databases on both backends, including Alembic's version table.

The root ``db_url`` fixture drops the model's tables only; a database migrated by Alembic also
has ``alembic_version`` (and maybe tables of another revision), so here every table the server
has is dropped, which makes "upgrade from empty" really start from empty.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head

PG_URL_ENV = "INFUSION_TEST_PG_URL"
PG_REQUIRED_ENV = "INFUSION_REQUIRE_PG"


def pg_url_or_skip() -> str:
    """The configured PostgreSQL URL; skip (or fail under INFUSION_REQUIRE_PG) without one."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        if os.environ.get(PG_REQUIRED_ENV):
            pytest.fail(f"{PG_REQUIRED_ENV} is set but {PG_URL_ENV} is not")
        pytest.skip(f"PostgreSQL not configured ({PG_URL_ENV} unset); .ci/run sets it")
    return url


def wipe(engine: Engine) -> None:
    """Drop every table of the database (reflected, so any revision's tables go)."""
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database (no tables at all) on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
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
    """The ``engine`` fixture's database, upgraded to the newest revision."""
    upgrade_to_head(engine)
    return engine


@pytest.fixture
def journal_dir(tmp_path: Path) -> Iterator[Path]:
    """A private journal directory."""
    path = tmp_path / "journal"
    yield path
    shutil.rmtree(path, ignore_errors=True)
