"""What the screens may use of the session records: the review queries and the record types.

The UI reaches storage only through the services layer (issue 13; an import-linter contract
checks it): the review windows query through :class:`ReviewRepository` on their database
worker, and the chair's dialogs show :class:`PatientRecord` and :class:`SessionSummary`
values.  Naming them here, once, is what the UI may know of storage; everything else of it
(the writer, the schema, the engine) stays out of reach of a widget.
"""

from __future__ import annotations

import sqlite3

from console.storage.repository import PatientRecord, SessionRepository, SessionSummary
from console.storage.review import (
    PAGE_SIZE,
    SIGNATURE_MEANING,
    BrowserRow,
    ReachedPhase,
    ReviewRepository,
    SessionFilter,
    SortKey,
    StoredSession,
)


def database_version(repository: SessionRepository) -> str:
    """``SQLite 3.40.1`` or ``PostgreSQL 15.8``: what the engine learnt at its first
    connection.  No query: the About box asks on the GUI thread, where no database call runs."""
    dialect = repository.engine.dialect
    if dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    name = "PostgreSQL" if dialect.name == "postgresql" else dialect.name
    info = getattr(dialect, "server_version_info", None)
    if not info:
        return f"{name} (version not known: not connected yet)"
    return f"{name} {'.'.join(str(part) for part in info)}"


__all__ = [
    "PAGE_SIZE",
    "SIGNATURE_MEANING",
    "BrowserRow",
    "PatientRecord",
    "ReachedPhase",
    "ReviewRepository",
    "SessionFilter",
    "SessionRepository",
    "SessionSummary",
    "SortKey",
    "StoredSession",
    "database_version",
]
