"""What the screens may use of the session records: the review queries and the record types.

The UI reaches storage only through the services layer (issue 13; an import-linter contract
checks it): the review windows query through :class:`ReviewRepository` on their database
worker, and the chair's dialogs show :class:`PatientRecord` and :class:`SessionSummary`
values.  Naming them here, once, is what the UI may know of storage; everything else of it
(the writer, the schema, the engine) stays out of reach of a widget.
"""

from __future__ import annotations

from console.storage.repository import PatientRecord, SessionRepository, SessionSummary
from console.storage.review import (
    PAGE_SIZE,
    BrowserRow,
    ReachedPhase,
    ReviewRepository,
    SessionFilter,
    SortKey,
    StoredSession,
)

__all__ = [
    "PAGE_SIZE",
    "BrowserRow",
    "PatientRecord",
    "ReachedPhase",
    "ReviewRepository",
    "SessionFilter",
    "SessionRepository",
    "SessionSummary",
    "SortKey",
    "StoredSession",
]
