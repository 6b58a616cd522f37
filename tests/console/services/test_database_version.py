"""The About box's database version, on both backends, without a query of its own."""

from __future__ import annotations

import re
import sqlite3

from sqlalchemy import Engine, text

from console.services.record_access import database_version
from console.storage.repository import SessionRepository


def test_the_version_is_read_from_the_engine_on_each_backend(engine: Engine) -> None:
    repo = SessionRepository(engine)
    if engine.dialect.name == "sqlite":
        assert database_version(repo) == f"SQLite {sqlite3.sqlite_version}"
        return
    assert engine.dialect.name == "postgresql"
    assert database_version(repo) == "PostgreSQL (version not known: not connected yet)"
    with engine.connect() as conn:  # the first connection, as the writer makes it at start
        server: str = conn.execute(text("SHOW server_version")).scalar_one()
    shown = database_version(repo)
    assert re.fullmatch(r"PostgreSQL \d+(\.\d+)+", shown), shown
    assert str(server).startswith(shown.removeprefix("PostgreSQL ").split(".")[0])
