"""Queries on the session record, in short-lived connections (safe from any thread)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine

from console.storage.schema import (
    AlarmRow,
    ReadingRow,
    SessionRow,
    TechnicalEventRow,
    create_schema,
)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One line of the session list."""

    id: int
    chair: str
    started_at: datetime
    ended_at: datetime | None
    simulated: bool
    device_kind: str
    readings: int
    alarms: int


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading as stored."""

    parameter: str
    value: float | None
    unit: str
    valid: bool
    flags: str
    device_time: datetime | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredAlarm:
    """An alarm condition as stored."""

    condition: str
    parameter: str
    priority: str
    limit_value: float | None
    value: float | None
    message: str
    onset_at: datetime
    ended_at: datetime | None


class SessionRepository:
    """Creates, closes and reads sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> None:
        """Create missing tables."""
        create_schema(self.engine)

    def create_session(
        self,
        *,
        chair: str,
        started_at: datetime,
        simulated: bool,
        device_kind: str,
        device_url: str = "",
    ) -> int:
        """Open a session record and return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(SessionRow)
                .values(
                    chair=chair,
                    started_at=started_at,
                    simulated=simulated,
                    device_kind=device_kind,
                    device_url=device_url,
                    note="",
                )
                .returning(SessionRow.id)
            )
            return int(result.scalar_one())

    def end_session(self, session_id: int, ended_at: datetime) -> None:
        """Close a session record."""
        with self.engine.begin() as conn:
            conn.execute(
                update(SessionRow).where(SessionRow.id == session_id).values(ended_at=ended_at)
            )

    def list_sessions(self) -> list[SessionSummary]:
        """Every session, newest first, with counts."""
        n_readings = (
            select(func.count(ReadingRow.id))
            .where(ReadingRow.session_id == SessionRow.id)
            .scalar_subquery()
        )
        n_alarms = (
            select(func.count(AlarmRow.id))
            .where(AlarmRow.session_id == SessionRow.id)
            .scalar_subquery()
        )
        stmt = select(
            SessionRow.id,
            SessionRow.chair,
            SessionRow.started_at,
            SessionRow.ended_at,
            SessionRow.simulated,
            SessionRow.device_kind,
            n_readings.label("readings"),
            n_alarms.label("alarms"),
        ).order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
        with self.engine.connect() as conn:
            return [SessionSummary(**row._mapping) for row in conn.execute(stmt)]

    def readings(self, session_id: int, parameter: str | None = None) -> list[StoredReading]:
        """Readings of a session in arrival order."""
        stmt = select(
            ReadingRow.parameter,
            ReadingRow.value,
            ReadingRow.unit,
            ReadingRow.valid,
            ReadingRow.flags,
            ReadingRow.device_time,
            ReadingRow.received_at,
        ).where(ReadingRow.session_id == session_id)
        if parameter is not None:
            stmt = stmt.where(ReadingRow.parameter == parameter)
        stmt = stmt.order_by(ReadingRow.received_at, ReadingRow.id)
        with self.engine.connect() as conn:
            return [StoredReading(**row._mapping) for row in conn.execute(stmt)]

    def alarms(self, session_id: int) -> list[StoredAlarm]:
        """Alarm conditions of a session by onset."""
        stmt = (
            select(
                AlarmRow.condition,
                AlarmRow.parameter,
                AlarmRow.priority,
                AlarmRow.limit_value,
                AlarmRow.value,
                AlarmRow.message,
                AlarmRow.onset_at,
                AlarmRow.ended_at,
            )
            .where(AlarmRow.session_id == session_id)
            .order_by(AlarmRow.onset_at, AlarmRow.id)
        )
        with self.engine.connect() as conn:
            return [StoredAlarm(**row._mapping) for row in conn.execute(stmt)]

    def technical_events(self, session_id: int) -> list[tuple[str, str, datetime]]:
        """(kind, detail, at) of a session's technical events."""
        stmt = (
            select(TechnicalEventRow.kind, TechnicalEventRow.detail, TechnicalEventRow.at)
            .where(TechnicalEventRow.session_id == session_id)
            .order_by(TechnicalEventRow.at, TechnicalEventRow.id)
        )
        with self.engine.connect() as conn:
            return [(k, d, a) for k, d, a in conn.execute(stmt)]
