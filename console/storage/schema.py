"""SQLAlchemy 2.x mapped tables of the session record (the schema at the newest migration).

Times are stored timezone-aware (UTC).  Every reading keeps the device's validity flag, its own
time and the host receive time, so the record shows what the monitor said, not what we assumed.

The tables are created and changed only by the Alembic migrations in
``console/storage/migrations`` (:func:`console.storage.migrate.upgrade_to_head`); this module is
the Python view of the newest revision, and ``tests/console/storage/test_migrations.py`` fails
when the two drift apart.  Constraint names follow PostgreSQL's own defaults so that a database
built by the migrations and these models name everything identically on both backends.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: PostgreSQL's default constraint names, spelled out so SQLite gets the same ones (Alembic batch
#: mode on SQLite needs named constraints to find them again).
NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
}


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

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# -- who and where ----------------------------------------------------------------------------
class PatientRow(Base):
    """The minimal identifiers of a patient; the clinic's EHR holds the rest."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mrn: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    weight_measured_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # revision 0007: the REMS form's patient identity (issue 17)
    sex: Mapped[str | None] = mapped_column(String(16), nullable=True)


class ChairRow(Base):
    """A treatment chair (bay); a session is tied to one."""

    __tablename__ = "chairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    location: Mapped[str] = mapped_column(String(128), default="")


class DeviceRow(Base):
    """A monitor, by driver kind and port URL."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(512), default="")

    __table_args__ = (UniqueConstraint("kind", "url"),)


# -- the session ------------------------------------------------------------------------------
class SessionRow(Base):
    """One monitoring session at one chair.

    ``chair``, ``device_kind`` and ``device_url`` are the baseline revision's free-text columns,
    kept so that old records read as they were written; ``chair_id``/``device_id`` link to the
    tables above.  ``phase`` mirrors the lifecycle's phase after the newest stored event
    (console.domain.session), so the list of sessions needs no replay.
    """

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chair: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    device_kind: Mapped[str] = mapped_column(String(64))
    device_url: Mapped[str] = mapped_column(String(512), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # revision 0002
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), nullable=True)
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("chairs.id"), nullable=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), nullable=True)
    phase: Mapped[str] = mapped_column(String(16), default="baseline", server_default="baseline")
    series_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resumed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    dose_mg_per_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    dose_mg: Mapped[float | None] = mapped_column(Float, nullable=True)
    rate_ml_per_h: Mapped[float | None] = mapped_column(Float, nullable=True)
    route: Mapped[str | None] = mapped_column(String(16), nullable=True)

    __table_args__ = (
        Index("ix_sessions_chair_ended", "chair", "ended_at"),
        Index("ix_sessions_patient", "patient_id", "started_at"),
        # revision 0003: the session browser's order and date filter
        Index("ix_sessions_started", "started_at"),
    )


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


class WaveformRow(Base):
    """One second of one waveform channel as little-endian float32 samples.

    One row per second instead of one per sample: 2.2 MB instead of 21-51 MB per hour of 125 Hz
    pleth, and an hour loads in milliseconds (shared/performance.md, Storage).

    Nothing writes or reads this table any more (issue 13: no monitor link delivers a waveform).
    It stays mapped because databases made by earlier versions have it and migrations create
    it; dropping it would need a destructive migration for no gain.
    """

    __tablename__ = "waveforms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sample_rate_hz: Mapped[float] = mapped_column(Float)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_waveforms_session_channel_time", "session_id", "channel", "start_at"),
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

    __table_args__ = (
        Index("ix_alarms_session", "session_id", "onset_at"),
        # revision 0003: the browser's "had high-priority alarms" filter
        Index("ix_alarms_session_priority", "session_id", "priority"),
    )


class AlarmLogRow(Base):
    """Every transition of every alarm (onset, escalation, acknowledge, pause, end).

    ``kind`` is stored verbatim, including kinds this version does not know, so a newer alarm
    engine's events are never dropped; ``actor`` is who acknowledged or paused (None for
    transitions the evaluator made by itself).
    """

    __tablename__ = "alarm_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    condition: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(String(256))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)


class TechnicalEventRow(Base):
    """Link events: connected, disconnected, quiet, frame errors."""

    __tablename__ = "technical_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(512), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class EventRow(Base):
    """A clinical event or annotation on the session timeline (clinical.md A, E, G).

    Lifecycle transitions (baseline recorded, override, infusion start/pause/rate change/stop,
    discharge) and observations (nausea, dissociation score, intervention, free text) share one
    table so the review screen and the export read one ordered timeline.  Columns that a kind
    does not use stay NULL; ``data`` holds anything else as JSON text.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    author: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    phase: Mapped[str | None] = mapped_column(String(16), nullable=True)
    rate_ml_per_h: Mapped[float | None] = mapped_column(Float, nullable=True)
    dose_mg: Mapped[float | None] = mapped_column(Float, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_events_session_time", "session_id", "at"),)


class ThresholdProfileRow(Base):
    """A named set of alarm limits (JSON text), e.g. a clinic default or 'first 3 sessions'."""

    __tablename__ = "threshold_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    rules_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64), default="")


class ProfileChangeRow(Base):
    """Who changed which limits when and why (clinical.md H 36: logged limit changes)."""

    __tablename__ = "profile_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True
    )
    profile_id: Mapped[int | None] = mapped_column(
        ForeignKey("threshold_profiles.id"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    old_json: Mapped[str] = mapped_column(Text, default="")
    new_json: Mapped[str] = mapped_column(Text, default="")


class SessionProfileRow(Base):
    """The threshold profile a session started with, as JSON (revision 0004).

    Written once when the session record is created (the whole profile: every limit tier with
    priority, delay and confirm, the baseline-relative rules and the timings); later changes are
    :class:`ProfileChangeRow` rows.  Sessions recorded before revision 0004 have none.
    """

    __tablename__ = "session_profiles"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64))
    profile_json: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SessionIntakeRow(Base):
    """What the nurse answered at the start of the session (revision 0007, issue 17): the
    session type, the REMS form's concomitant medications (each Yes/No; NULL: not asked, an
    IV session only) and the healthcare setting.  One row per session, written with the
    record; sessions before 0007 have none (they were IV ketamine infusions).
    """

    __tablename__ = "session_intake"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    session_type: Mapped[str] = mapped_column(String(32))
    benzodiazepines: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    non_benzodiazepine_sedative_hypnotics: Mapped[bool | None] = mapped_column(
        Boolean, nullable=True
    )
    psychostimulants: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    maois: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    opioids: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    setting_name: Mapped[str] = mapped_column(String(128))
    setting_type: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(128), default="")


class DischargeCheckRow(Base):
    """One item of the discharge checklist (clinical.md F 29), as answered."""

    __tablename__ = "discharge_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    author: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class SessionReviewRow(Base):
    """A physician's sign-off of a session record, or a later addendum (revision 0003).

    The first row of a session is its ``sign_off``; anything said later is an ``addendum``, so a
    signed record is only ever added to (clinical.md G 35).  Kept out of ``sessions`` so a
    reviewer never writes the row a running console is updating.
    """

    __tablename__ = "session_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    reviewed_by: Mapped[str] = mapped_column(String(64))
    reviewed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    # revision 0005: the electronic signature.  ``verified`` is True when the signer's password
    # was checked against an account with the physician role; a database without accounts
    # stores the typed name with ``verified`` False (shown as "unverified (no account)").
    printed_name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    meaning: Mapped[str] = mapped_column(
        String(64), default="reviewed and approved", server_default="reviewed and approved"
    )
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("ix_session_reviews_session", "session_id", "reviewed_at"),)


# -- accounts (revision 0005) -------------------------------------------------------------------
class UserRow(Base):
    """A console account: its role and its argon2 password (and optional PIN) hashes.

    Only hashes are stored (argon2id, salted, in the PHC string format); the clear password
    never reaches the database, the log or an export.  ``failed_attempts``/``locked_until`` are
    the lockout state (console.domain.lockout).  An account is disabled, never deleted, so the
    names on old records keep pointing at someone.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    pin_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64), default="")


class LoginEventRow(Base):
    """A failed log-in, a lockout, or a refused log-in of a locked or disabled account.

    Kept in the database as well as the log so that a clinic's shared server holds who tried
    what from every console (the log file is per machine).  Never holds the password tried.
    """

    __tablename__ = "login_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    user_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(256), default="")

    __table_args__ = (Index("ix_login_events_user_time", "user_name", "at"),)


class WriteBatchRow(Base):
    """Marker of a writer batch whose commit must not be applied twice.

    The writer inserts its batch's id in the same transaction as the batch's rows; replaying a
    journalled batch first looks for the marker, so a batch whose COMMIT outcome was unknown (the
    connection died during it) is applied exactly once.  Markers are deleted once no journal can
    hold their batch any more, so the table stays nearly empty.
    """

    __tablename__ = "write_batches"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntryRow(Base):
    """One entry of the tamper-evident audit trail (revision 0006, :mod:`console.storage.audit`).

    Who (``actor``), when (``at``, UTC), what (``action`` on ``target_table``/``target_id``)
    and the state before and after (canonical JSON text).  ``hash`` is the SHA-256 of the
    previous entry's hash and this entry's content, so an edited, deleted or inserted entry
    breaks the chain; ``seq`` numbers the entries without gaps (unique, so two writers can
    never both append entry N).  ``session_id`` is a plain column, not a foreign key: a trail
    entry outlives whatever it describes.  On PostgreSQL a trigger refuses UPDATE, DELETE and
    TRUNCATE of this table.
    """

    __tablename__ = "audit_trail"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target_table: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    before_json: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_trail_session", "session_id", "seq"),)


class AuditHeadRow(Base):
    """The audit trail's chain head: one row (id 1) with the newest ``seq`` and ``hash``.

    Every append locks this row first (PostgreSQL: ``SELECT ... FOR UPDATE``; SQLite: a write,
    which takes the database's write lock), so appends are serialised and the chain never
    forks; verify also compares it with the newest entry, so deleting the last entries shows.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
