"""``sessions`` rows against their audit trail: verify replays what the entries say a session
row became, and compares it with the row as stored.

A session row changes legitimately (its phase, plan, end), so it has no digest; instead every
change is an entry with the columns after it (``session_start``, ``session_start_moved``,
``session_end``, and lifecycle events' ``session`` values).  Replaying them in chain order gives
what each column must hold now: a row edited behind the console's back differs, and the message
names the column and the entry that last set it (never the value: it may be patient data).
Sessions created before the trail (no ``session_start`` entry) are not checked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, select
from sqlalchemy.engine import Connection

from console.storage.audit import utc_iso
from console.storage.schema import SessionRow, UtcDateTime

#: The columns whose every change is in the trail, and what a new session starts with.
START_STATE: dict[str, Any] = {
    "chair": None,
    "started_at": None,
    "ended_at": None,
    "simulated": None,
    "device_kind": None,
    "device_url": None,
    "patient_id": None,
    "series_number": None,
    "phase": "baseline",
    "resumed": False,
    "weight_kg": None,
    "dose_mg_per_kg": None,
    "dose_mg": None,
    "rate_ml_per_h": None,
    "route": None,
}


def _canonical(column: str, value: Any) -> Any:
    """A column's value as the trail writes it (times as UTC ISO text, floats as floats)."""
    if value is None:
        return None
    kind = SessionRow.__table__.columns[column].type
    if isinstance(kind, UtcDateTime):
        return utc_iso(value) if isinstance(value, datetime) else str(value)
    if isinstance(kind, Float):
        return float(value)
    if isinstance(kind, Boolean):
        return bool(value)
    return value


class SessionReplay:
    """What the trail says each session row holds; :meth:`check` compares the rows."""

    def __init__(self) -> None:
        self.expected: dict[int, dict[str, Any]] = {}
        self.set_by: dict[int, dict[str, str]] = {}

    def note(self, action: str, table: str, session_id: int | None, after: Any, name: str) -> None:
        """Take in one (verified) entry."""
        if session_id is None or not isinstance(after, dict):
            return
        if action == "session_start" and table == "sessions":
            self.expected[session_id] = dict(START_STATE)
            self.set_by[session_id] = dict.fromkeys(START_STATE, name)
            changes = after
        elif session_id not in self.expected:
            return
        elif table == "sessions":
            changes = after
        elif table == "events" and isinstance(after.get("session"), dict):
            changes = after["session"]
        else:
            return
        for column, value in changes.items():
            if column in START_STATE:
                self.expected[session_id][column] = _canonical(column, value)
                self.set_by[session_id][column] = name

    def check(self, conn: Connection) -> str | None:
        """The first session row that differs from its trail, as a message; None if none."""
        if not self.expected:
            return None
        columns = [SessionRow.id, *(SessionRow.__table__.columns[c] for c in START_STATE)]
        stmt = select(*columns).where(SessionRow.id.in_(list(self.expected)))
        rows = {row.id: row._mapping for row in conn.execute(stmt)}
        for sid in sorted(self.expected):
            row = rows.get(sid)
            if row is None:
                first = self.set_by[sid]["chair"]
                return f"audit trail broken at {first}: sessions row {sid} deleted"
            for column, want in self.expected[sid].items():
                if _canonical(column, row[column]) != want:
                    return (
                        f"audit trail broken: sessions row {sid} edited ({column} is not what "
                        f"{self.set_by[sid][column]} set)"
                    )
        return None
