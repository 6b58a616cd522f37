"""Engines for SQLite (embedded, WAL) and PostgreSQL (shared clinic server)."""

from __future__ import annotations

import re
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
#: A statement a live server has not finished in this time (a lock wait, a stuck query) is
#: cancelled by the server: the writer spools to its journal instead of waiting forever.
PG_STATEMENT_TIMEOUT_MS = 30_000
#: Sent data the server has not acknowledged in this time (a dropped route) breaks the
#: connection (TCP_USER_TIMEOUT); idle connections are probed by keepalives as well.
PG_TCP_USER_TIMEOUT_MS = 15_000
PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5}


class StorageConfigError(ValueError):
    """The database URL cannot be used (malformed, or its driver is not installed)."""


class DatabaseMissingError(StorageConfigError):
    """A SQLite database file that must already exist does not (read-only commands)."""


#: ``user:password@`` at the start of what follows ``scheme://``: the password is everything
#: up to the last ``@`` (a malformed URL may hold a raw ``/`` or ``@`` in it).
_USERINFO_PASSWORD = re.compile(r"^([^:/@]*):(.*)@")


def mask_password(url: str) -> str:
    """``url`` with any ``user:password@`` password replaced by ``***``, even when the URL
    is malformed (a message about a bad URL must not print its password either)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    return scheme + sep + _USERINFO_PASSWORD.sub(r"\1:***@", rest)


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


def pg_connect_args() -> dict[str, Any]:
    """libpq settings that turn a hung or unreachable PostgreSQL into an error in seconds.

    A server that accepts TCP but never answers blocked each call until the OS gave up
    (issue 12 item 9).  Calls run off the GUI thread in any case; these bound how long a
    worker waits before the chair says "not recorded" and the writer spools to its journal.
    """
    return {
        "connect_timeout": PG_CONNECT_TIMEOUT_S,
        "options": f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS}",
        "tcp_user_timeout": PG_TCP_USER_TIMEOUT_MS,
        "keepalives_count": 3,
        **PG_KEEPALIVES,
    }


def parse_url(url: str) -> URL:
    """The parsed database URL (its port checked now, not at the first connect).

    Raises:
        StorageConfigError: malformed (the message masks its password).
    """
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a non-numeric port raises here, not at the first connect
    except ArgumentError:
        raise StorageConfigError(
            f"not a database URL: {mask_password(url)!r} "
            "(expected dialect+driver://user:password@host:port/database)"
        ) from None
    except ValueError as err:  # e.g. a port that is not a number
        raise StorageConfigError(f"not a database URL: {mask_password(url)!r} ({err})") from None
    return parsed


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
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5.0}
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() == "psycopg":
            kwargs["connect_args"] = pg_connect_args()
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
