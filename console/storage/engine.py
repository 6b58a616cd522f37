"""Engines for SQLite (embedded, WAL) and PostgreSQL (shared clinic server)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from console.storage.private import create_private_file

#: Seconds a PostgreSQL connect may take before the server counts as unreachable; without it a
#: dead network blocks the writer for the OS TCP timeout (minutes) before it starts spooling.
PG_CONNECT_TIMEOUT_S = 5


class StorageConfigError(ValueError):
    """The database URL cannot be used (malformed, or its driver is not installed)."""


class DatabaseMissingError(StorageConfigError):
    """A SQLite database file that must already exist does not (read-only commands)."""


def describe_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages, logs and journal names."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except (ArgumentError, ValueError):
        return "<not a database URL>"
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for another backend, an in-memory or ``file:`` URI one."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).absolute()


def make_engine(url: str, *, create: bool = True) -> Engine:
    """Create an engine; SQLite gets WAL, synchronous=NORMAL and foreign keys.

    WAL + NORMAL survives an application crash; only a power loss can take the last
    transactions (shared/performance.md, Storage).

    A SQLite file this engine creates is made mode 0600 (it holds patient data).  With
    ``create=False`` (the read-only commands) a missing SQLite file is an error, now and on
    every later connect: nothing ever creates an empty database in its place.

    Raises:
        StorageConfigError: malformed URL or missing driver, with the reason (never with
            the URL's password).
        DatabaseMissingError: ``create=False`` and the SQLite file does not exist.
    """
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a non-numeric port raises here, not at the first connect
    except (ArgumentError, ValueError) as err:
        reason = "its port is not a number" if isinstance(err, ValueError) else "cannot parse it"
        # The text is not repeated: a URL that does not parse cannot be masked reliably.
        raise StorageConfigError(f"not a database URL ({reason})") from None
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5.0}
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
    path = sqlite_path(parsed)
    if path is not None and not create and not path.is_file():
        raise DatabaseMissingError(f"no database at {path} (nothing was created)")
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as err:
        raise StorageConfigError(
            f"no database driver for {parsed.drivername!r}: {err}. "
            "For PostgreSQL install the extra: pip install -e '.[postgres]'"
        ) from None
    if engine.dialect.name == "sqlite":
        if path is not None:

            @event.listens_for(engine, "do_connect")
            def _sqlite_file(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
                if path.exists():
                    return
                if not create:
                    raise sqlite3.OperationalError(f"no database file at {path}")
                create_private_file(path)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine
