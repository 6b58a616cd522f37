"""SQLAlchemy 2.0 mapped tables of the session record.

Times are stored timezone-aware (UTC).  Every reading keeps the device's validity flag, its own
time and the host receive time, so the record shows what the monitor said, not what we assumed.
Alembic migrations arrive with the storage issue; until then :func:`create_schema` builds the
tables from this module.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no timezone type)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of all tables."""


class SessionRow(Base):
    """One monitoring session at one chair."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chair: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    device_kind: Mapped[str] = mapped_column(String(64))
    device_url: Mapped[str] = mapped_column(String(512), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class ReadingRow(Base):
    """One numeric as received, valid or not."""

    __tablename__ = "readings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    parameter: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(16))
    valid: Mapped[bool] = mapped_column(Boolean)
    flags: Mapped[str] = mapped_column(String(128), default="")
    device_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_readings_session_param_time", "session_id", "parameter", "received_at"),
    )


class AlarmRow(Base):
    """One alarm condition from onset to end, with its highest priority."""

    __tablename__ = "alarms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    condition: Mapped[str] = mapped_column(String(64))
    parameter: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    limit_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(String(256))
    onset_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (Index("ix_alarms_session", "session_id", "onset_at"),)


class AlarmLogRow(Base):
    """Every transition of every alarm (onset, escalation, end): the alarm log."""

    __tablename__ = "alarm_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    condition: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class TechnicalEventRow(Base):
    """Link events: connected, disconnected, quiet, frame errors."""

    __tablename__ = "technical_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(512), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime())


def create_schema(engine: Engine) -> None:
    """Create any missing table."""
    Base.metadata.create_all(engine)
