"""Shared fixtures: offscreen Qt, databases (SQLite always, PostgreSQL when configured), guards."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import platformdirs
import pytest
from hypothesis import settings
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Engine

from console.config import APP_NAME
from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head

# Hypothesis: no per-example deadline.  The 200 ms default measures the machine, not the code:
# two properties failed on it under CI load (issue 13) while every example was correct.
# print_blob=True prints the failing example's reproduce blob, so a CI failure can be replayed
# locally with @reproduce_failure.  Only these two settings change: each test's max_examples
# (its own @settings, or Hypothesis' default of 100) stays as it was.  Another registered profile
# can be chosen with HYPOTHESIS_PROFILE.
settings.register_profile("ci", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: PostgreSQL URL for the storage tests, e.g. postgresql+psycopg://app:app@127.0.0.1:5432/infusion
PG_URL_ENV = "INFUSION_TEST_PG_URL"
#: Set by .ci/run: a missing PostgreSQL is then a failure, not a skip.
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
    """Drop every table of the database, reflected: Alembic's version table and any revision's
    tables go too, so "upgrade from empty" really starts from empty."""
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
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on :func:`db_url`, disposed after the test."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    """The ``engine`` fixture's database, upgraded to the newest revision."""
    upgrade_to_head(engine)
    return engine


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> Iterator[None]:
    """Every runner, simulator and writer thread a test starts must be stopped by it."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
    for t in leaked:
        t.join(timeout=2.0)
    still = [t for t in leaked if t.is_alive()]
    # Stop what a failing test left behind (runners, simulators, writers are never daemons, so
    # one leaked thread would keep the test process alive after the last test: CI would hang).
    for t in still:
        stop = getattr(t, "stop", None)
        if callable(stop):
            stop()
    assert not still, f"threads left running: {[t.name for t in still]}"


@pytest.fixture(autouse=True, scope="session")
def _stop_stragglers_at_exit() -> Iterator[None]:
    """Last line of defence: stop any non-daemon thread that outlived its test."""
    yield
    for t in threading.enumerate():
        if t is not threading.main_thread() and t.is_alive() and not t.daemon:
            stop = getattr(t, "stop", None)
            if callable(stop):
                stop()


# =============================================================================================
# Test hygiene (issue 13, "tests that catch more"): the unexpected-log guard and private user
# directories.  Kept together here so other conftest changes merge around it.
# =============================================================================================

#: The WARNING/ERROR log guard (``@pytest.mark.expected_log``, tests/log_guard.py), and pytester
#: for its self-test (tests/test_log_guard.py).
pytest_plugins = ["tests.log_guard", "pytester"]

#: The XDG base directories platformdirs (and Qt) read on Linux.
XDG_VARS = ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")


@pytest.fixture(autouse=True, scope="session")
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point every XDG user directory at a temporary one for the whole session.

    Why: the console's defaults (the database, the journal spool, the config file) live in the
    user's data and config directories.  A test that forgets ``journal_dir=`` or ``--db`` must
    write into a throw-away directory, never into the real ones of whoever runs the tests (a
    stray journal there would be replayed into their next real session).  Subprocesses inherit
    the environment, so the CLI tests are covered too.
    """
    root = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        for var in XDG_VARS:
            path = root / var.removeprefix("XDG_").removesuffix("_HOME").lower()
            path.mkdir()
            mp.setenv(var, str(path))
        yield root
        # Nothing in the session re-pointed platformdirs elsewhere (a test that changes
        # XDG_DATA_HOME must restore it, e.g. with monkeypatch).
        reported = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        assert reported.is_relative_to(root / "data"), (
            f"platformdirs reports {reported}, outside the session's private {root / 'data'}"
        )
