"""Schema migrations, run programmatically at start-up (no alembic.ini, no CLI step).

The console upgrades its database to the newest revision it ships before it writes anything,
so a clinic never runs a migration by hand.  A database that is *newer* than this console (a
colleague's console was updated first on a shared PostgreSQL server) is refused with a clear
message instead of being written with the wrong assumptions.
"""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from console.storage.engine import StorageConfigError

log = logging.getLogger("storage")

#: Alembic's "package:directory" form: the migrations are found as package resources of the
#: installed console (importlib.resources), wherever it runs from.
MIGRATIONS = "console.storage:migrations"
#: The revision whose tables the pre-migration ``create_all`` built.
BASELINE_REVISION = "0001_baseline"


class SchemaError(StorageConfigError):
    """The database schema cannot be used by this version of the console.

    A :class:`StorageConfigError`, so every entry point that already reports a bad database
    URL as a one-line message reports this one the same way.
    """


class DatabaseTooNewError(SchemaError):
    """The database was migrated by a newer console than this one."""


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no ini file)."""
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    return cfg


def head_revision() -> str:
    """The newest revision this console ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision this console ships."""
    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty or pre-migration database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine, *, target: str = "head") -> str:
    """Bring the database to ``target`` (default: newest) and return the revision reached.

    A database built before migrations existed (the skeleton's tables, no ``alembic_version``)
    is stamped at the baseline first, so its records are kept and only extended.

    Raises:
        DatabaseTooNewError: the database is at a revision this console does not know.
        sqlalchemy.exc.OperationalError: the database is unreachable.
    """
    current = current_revision(engine)
    if current is not None and current not in known_revisions():
        raise DatabaseTooNewError(
            f"the database is at schema revision {current!r}, newer than this console "
            f"(newest known: {head_revision()!r}); update the console before using this database"
        )
    cfg = alembic_config()
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds tables with DROP TABLE; with foreign keys on that would
            # cascade-delete their children.  The pragma is ignored inside a transaction.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            if sqlite:
                # pysqlite runs DDL outside any transaction unless one is opened explicitly;
                # open it so a failing migration leaves the database as it was.
                conn.exec_driver_sql("BEGIN")
            elif conn.dialect.name == "postgresql":
                # A migration may rebuild an index over years of readings: not a hung query.
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            cfg.attributes["connection"] = conn
            if current is None and _has_baseline_tables(conn):
                log.info("database predates migrations; stamping it at %s", BASELINE_REVISION)
                command.stamp(cfg, BASELINE_REVISION)
            command.upgrade(cfg, target)
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise SchemaError(f"migration left broken foreign keys: {broken[:5]}")
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    reached = current_revision(engine)
    assert reached is not None
    if reached != current:
        log.info("database schema upgraded from %s to %s", current, reached)
    return reached


def _has_baseline_tables(conn: Connection) -> bool:
    return {"sessions", "readings"} <= set(inspect(conn).get_table_names())
