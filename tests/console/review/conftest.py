"""Review fixtures (``db_url``/``engine``/``migrated`` are in the root conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head


@pytest.fixture
def sqlite_migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated SQLite database (for the Qt tests, which need one backend only)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'ui.sqlite3'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()
