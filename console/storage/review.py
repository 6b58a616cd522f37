"""Read-side queries of the physician's review: the session browser, sign-off, one record.

The review runs against a database other consoles are writing to (a shared PostgreSQL server),
so every query here is one short read-only transaction: plain SELECTs take no row locks, the
connection is returned as soon as the rows are read, and on PostgreSQL the transaction is
marked READ ONLY so a bug here can never write.  The only write is a sign-off, which inserts
one row into ``session_reviews`` and never touches ``sessions`` (the row a running console keeps
updating).

The browser is served page by page (:meth:`ReviewRepository.search` with offset and limit) with
filters and order evaluated in SQL on indexed columns, so thousands of sessions cost one small
query per visible page, never a full load.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, insert, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.alarm_rules import LimitError
from console.domain.esketamine import EsketamineRecord, SessionIntake, SessionType
from console.domain.esketamine_record import esketamine_record
from console.domain.review import ReviewInputs, SeriesSession, summarize
from console.domain.roles import Action, require
from console.domain.session import EventKind, Phase, SessionEvent
from console.storage.accounts import AccountRepository
from console.storage.audit import append_entries, lock_trail, row_entry
from console.storage.repository import (
    PatientRecord,
    SessionRecord,
    SessionRepository,
    StoredAlarm,
    StoredAlarmLog,
    Trend,
    UnknownSessionError,
)
from console.storage.schema import (
    AlarmRow,
    EventRow,
    PatientRow,
    SessionReviewRow,
    SessionRow,
)
from console.storage.session_rows import session_rows

#: Rows the browser fetches per page.
PAGE_SIZE = 200
SIGN_OFF = "sign_off"
ADDENDUM = "addendum"


class ReachedPhase(enum.StrEnum):
    """The "phase reached" filter: how far a session got, judged from its timeline.

    A session's current phase alone cannot say this (an aborted session is ``closed`` whether
    or not the infusion ever ran), so the lifecycle events are asked instead.
    """

    BASELINE_ONLY = "baseline_only"
    INFUSION = "infusion"
    OBSERVATION = "observation"
    DISCHARGE = "discharge"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """Text of the browser's phase filter."""
        return {
            ReachedPhase.BASELINE_ONLY: "never started the infusion",
            ReachedPhase.INFUSION: "infusion started",
            ReachedPhase.OBSERVATION: "infusion stopped (observation)",
            ReachedPhase.DISCHARGE: "discharge started",
            ReachedPhase.CLOSED: "closed",
        }[self]


class SortKey(enum.StrEnum):
    """Columns the browser can sort by in SQL."""

    STARTED = "started"
    PATIENT = "patient"
    CHAIR = "chair"
    PHASE = "phase"
    SERIES = "series"
    ALARMS = "alarms"
    REVIEWED = "reviewed"


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """What the physician narrowed the session list to (every field optional).

    Attributes:
        patient_id: exactly this patient.
        patient_text: MRN or name contains this (case-insensitive).
        started_from, started_before: UTC bounds on the session start (from inclusive).
        chair: exactly this chair name.
        reached: how far the session got.
        high_alarms: only sessions with at least one high-priority alarm.
        unreviewed: only sessions nobody signed off yet.
        simulated: True/False for only simulated/only real sessions, None for both.
        sort: the order; ``descending`` flips it (newest first by default).
    """

    patient_id: int | None = None
    patient_text: str = ""
    started_from: datetime | None = None
    started_before: datetime | None = None
    chair: str | None = None
    reached: ReachedPhase | None = None
    high_alarms: bool = False
    unreviewed: bool = False
    simulated: bool | None = None
    sort: SortKey = SortKey.STARTED
    descending: bool = True


@dataclass(frozen=True, slots=True)
class BrowserRow:
    """One line of the session browser."""

    id: int
    started_at: datetime
    ended_at: datetime | None
    chair: str
    phase: str
    simulated: bool
    patient_id: int | None
    patient_mrn: str | None
    patient_name: str | None
    series_number: int | None
    alarms: int
    high_alarms: int
    reviewed_by: str | None
    reviewed_at: datetime | None


#: What a signature means (shown with it, stored with it).
SIGNATURE_MEANING = "reviewed and approved"


class SessionInProgressError(ValueError):
    """A session still being recorded cannot be signed: a signed record is immutable."""


@dataclass(frozen=True, slots=True)
class SignOff:
    """A physician's sign-off or addendum: an electronic signature.

    ``verified`` is True when the signer's password was checked against an account with the
    physician role; False for a typed name on a database without accounts (and for every
    sign-off stored before revision 0005).
    """

    kind: str
    reviewed_by: str
    reviewed_at: datetime
    note: str
    printed_name: str = ""
    meaning: str = SIGNATURE_MEANING
    verified: bool = False

    @property
    def signer(self) -> str:
        """The printed name (the typed name for older rows)."""
        return self.printed_name or self.reviewed_by


@dataclass(frozen=True, slots=True)
class StoredSession:
    """Everything stored about one session, read for the review, the report and the exports.

    ``read_at`` is when it was read: a session still running elsewhere is reviewed as of then.
    """

    record: SessionRecord
    patient: PatientRecord | None
    trends: dict[str, Trend]
    alarms: list[StoredAlarm]
    alarm_log: list[StoredAlarmLog]
    events: list[SessionEvent]
    technical: list[tuple[str, str, datetime]]
    discharge_checks: list[tuple[str, bool, datetime, str, str]]
    profile_changes: list[dict[str, Any]]
    sign_offs: list[SignOff] = field(default_factory=list)
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The threshold profile stored with the session when it started (revision 0004); None for
    #: older sessions (or an unreadable stored profile, see ``profile_note``).
    profile: ThresholdProfile | None = None
    #: Why ``profile`` is None although a row exists (the stored JSON could not be read).
    profile_note: str = ""
    #: The start-of-session data (revision 0007, issue 17): session type, concomitant
    #: medications (each Yes/No), healthcare setting, patient's date of birth and sex; None
    #: for sessions recorded before it.
    intake: SessionIntake | None = None

    @property
    def session_type(self) -> SessionType:
        """IV ketamine or intranasal esketamine (an esketamine plan on the timeline decides;
        sessions without intake or plan were IV infusions)."""
        if any(e.kind == EventKind.ESKETAMINE_PLANNED for e in self.events):
            return SessionType.ESKETAMINE
        return self.intake.session_type if self.intake is not None else SessionType.IV_KETAMINE

    @property
    def esketamine(self) -> EsketamineRecord | None:
        """The esketamine session in the REMS form's terms (dose, lot, devices with their
        times, the three BP checkpoints, end checks, ready-to-leave and monitoring time);
        None for an IV session."""
        return esketamine_record(
            self.events,
            _points(self.trends.get("NIBP_SYS")),
            _points(self.trends.get("NIBP_DIA")),
            ended_at=self.record.ended_at,
        )

    def thresholds(self, configured: ThresholdProfile) -> tuple[ThresholdProfile, bool]:
        """The profile to review this session against and whether it is the one stored with
        the session (True) or ``configured``, the console's current profile (False)."""
        if self.profile is not None:
            return self.profile, True
        return configured, False

    def inputs(self, nibp_interval_s: float = 300.0) -> ReviewInputs:
        """The record as the Qt-free review computation takes it."""
        r = self.record
        return ReviewInputs(
            started_at=r.started_at,
            ended_at=r.ended_at,
            trends=self.trends,
            alarms=self.alarms,
            alarm_log=self.alarm_log,
            events=self.events,
            weight_kg=r.weight_kg,
            dose_mg_per_kg=r.dose_mg_per_kg,
            dose_mg=r.dose_mg,
            rate_ml_per_h=r.rate_ml_per_h,
            nibp_interval_s=nibp_interval_s,
            as_of=self.read_at,
        )

    @property
    def signed_off(self) -> SignOff | None:
        """The sign-off, if the session was reviewed."""
        return next((s for s in self.sign_offs if s.kind == SIGN_OFF), None)


class ReviewRepository:
    """Queries of the review screens (read-only except :meth:`sign_off`).

    Args:
        engine: the database, already migrated (the caller owns the engine).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = SessionRepository(engine)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One short read-only transaction (READ ONLY on PostgreSQL), rolled back at the end."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield conn
            finally:
                conn.rollback()

    # -- browser -----------------------------------------------------------------------------
    def _where(self, f: SessionFilter) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if f.patient_id is not None:
            where.append(SessionRow.patient_id == f.patient_id)
        text = f.patient_text.strip().lower()
        if text:
            like = f"%{_escape_like(text)}%"
            where.append(
                SessionRow.patient_id.in_(
                    select(PatientRow.id).where(
                        or_(
                            func.lower(PatientRow.mrn).like(like, escape="\\"),
                            func.lower(PatientRow.display_name).like(like, escape="\\"),
                        )
                    )
                )
            )
        if f.started_from is not None:
            where.append(SessionRow.started_at >= f.started_from)
        if f.started_before is not None:
            where.append(SessionRow.started_at < f.started_before)
        if f.chair:
            where.append(SessionRow.chair == f.chair)
        if f.simulated is not None:
            where.append(SessionRow.simulated.is_(f.simulated))
        if f.reached is not None:
            where.append(_reached(f.reached))
        if f.high_alarms:
            where.append(
                exists().where(AlarmRow.session_id == SessionRow.id, AlarmRow.priority == "high")
            )
        if f.unreviewed:
            # aliased: the page query joins session_reviews itself, which would otherwise
            # swallow this subquery's FROM by auto-correlation
            signed = aliased(SessionReviewRow)
            where.append(~exists().where(signed.session_id == SessionRow.id))
        return where

    def count(self, f: SessionFilter) -> int:
        """How many sessions match (for the browser's "n sessions" line)."""
        with self._read() as conn:
            return int(conn.scalar(select(func.count(SessionRow.id)).where(*self._where(f))) or 0)

    def search(
        self, f: SessionFilter, *, offset: int = 0, limit: int = PAGE_SIZE
    ) -> list[BrowserRow]:
        """One page of matching sessions in the filter's order."""
        n_alarms = (
            select(func.count(AlarmRow.id))
            .where(AlarmRow.session_id == SessionRow.id)
            .scalar_subquery()
        )
        n_high = (
            select(func.count(AlarmRow.id))
            .where(AlarmRow.session_id == SessionRow.id, AlarmRow.priority == "high")
            .scalar_subquery()
        )
        first = aliased(SessionReviewRow)
        first_review = (
            select(first.id)
            .where(first.session_id == SessionRow.id)
            .order_by(first.reviewed_at, first.id)
            .limit(1)
            .correlate(SessionRow)
            .scalar_subquery()
        )
        sort_cols: dict[SortKey, Any] = {
            SortKey.STARTED: SessionRow.started_at,
            SortKey.PATIENT: PatientRow.mrn,
            SortKey.CHAIR: SessionRow.chair,
            SortKey.PHASE: SessionRow.phase,
            SortKey.SERIES: SessionRow.series_number,
            SortKey.ALARMS: n_high,
            SortKey.REVIEWED: SessionReviewRow.reviewed_at,
        }
        col = sort_cols[f.sort]
        order = [col.desc() if f.descending else col.asc()]
        if f.sort is SortKey.ALARMS:
            order.append(n_alarms.desc() if f.descending else n_alarms.asc())
        tie = SessionRow.started_at.desc() if f.descending else SessionRow.started_at.asc()
        order += [tie, SessionRow.id.desc() if f.descending else SessionRow.id.asc()]
        stmt = (
            select(
                SessionRow.id,
                SessionRow.started_at,
                SessionRow.ended_at,
                SessionRow.chair,
                SessionRow.phase,
                SessionRow.simulated,
                SessionRow.patient_id,
                PatientRow.mrn,
                PatientRow.display_name,
                SessionRow.series_number,
                n_alarms.label("alarms"),
                n_high.label("high_alarms"),
                # the signature's printed name (the typed name for unverified sign-offs)
                func.coalesce(
                    func.nullif(SessionReviewRow.printed_name, ""), SessionReviewRow.reviewed_by
                ),
                SessionReviewRow.reviewed_at,
            )
            .outerjoin(PatientRow, PatientRow.id == SessionRow.patient_id)
            .outerjoin(SessionReviewRow, SessionReviewRow.id == first_review)
            .where(*self._where(f))
            .order_by(*order)
            .offset(max(0, offset))
            .limit(max(0, limit))
        )
        with self._read() as conn:
            # Any: the typed Row stops at ten columns
            rows: list[Any] = list(conn.execute(stmt))
        return [
            BrowserRow(
                id=r[0],
                started_at=r[1],
                ended_at=r[2],
                chair=r[3],
                phase=r[4],
                simulated=bool(r[5]),
                patient_id=r[6],
                patient_mrn=r[7],
                patient_name=r[8],
                series_number=r[9],
                alarms=int(r[10] or 0),
                high_alarms=int(r[11] or 0),
                reviewed_by=r[12],
                reviewed_at=r[13],
            )
            for r in rows
        ]

    def chairs(self) -> list[str]:
        """Chair names that have sessions (the browser's chair filter)."""
        with self._read() as conn:
            return sorted(str(c) for c in conn.scalars(select(SessionRow.chair).distinct()))

    def patients(self) -> list[PatientRecord]:
        """Every patient, by MRN (the browser's patient filter and the series picker)."""
        with self._read() as conn:
            rows = conn.execute(_patient_select().order_by(PatientRow.mrn)).all()
        return [_patient(r) for r in rows]

    def patient_by_id(self, patient_id: int) -> PatientRecord | None:
        """One patient, or None."""
        with self._read() as conn:
            row = conn.execute(_patient_select().where(PatientRow.id == patient_id)).one_or_none()
        return None if row is None else _patient(row)

    # -- sign-off ------------------------------------------------------------------------------
    def sign_off(
        self,
        session_id: int,
        *,
        by: str,
        note: str = "",
        at: datetime | None = None,
        password: str | None = None,
        accounts: AccountRepository | None = None,
    ) -> SignOff:
        """Sign a session's record, or add a signed addendum when it is signed already.

        On a database with accounts, ``by`` is the physician's user name and ``password`` is
        re-entered for this signature: the signature is verified and shows the account's
        printed name.  Without accounts the typed name is stored, marked unverified.  Only an
        ended session can be signed: the signature freezes the record (the database refuses
        later changes to its events and discharge checks), so a running console must not be
        writing it.

        Raises:
            ValueError: no name; no password although accounts exist.
            SessionInProgressError: the session has not ended.
            AuthError: wrong password, disabled or locked account.
            RoleRefusedError: the account is not a physician ("sign-off needs the physician role").
            UnknownSessionError: no such session.
        """
        by = by.strip()
        if not by:
            raise ValueError("a sign-off needs the physician's name")
        accounts = accounts or AccountRepository(self.engine)
        printed, verified = by[:64], False
        if accounts.has_accounts():
            if not password:
                raise ValueError("a sign-off needs the physician's password")
            account = accounts.authenticate(by, password)
            require(account.role, Action.SIGN_OFF)
            printed, verified = account.printed_name, True
        at = at or datetime.now(UTC)
        with self.engine.begin() as conn:
            lock_trail(conn)
            ended = conn.execute(
                select(SessionRow.id, SessionRow.ended_at).where(SessionRow.id == session_id)
            ).one_or_none()
            if ended is None:
                raise UnknownSessionError(f"no session with id {session_id}")
            if ended[1] is None:
                raise SessionInProgressError(
                    f"session {session_id} is still in progress: sign it once it has ended"
                )
            signed = conn.scalar(
                select(func.count(SessionReviewRow.id)).where(
                    SessionReviewRow.session_id == session_id,
                    SessionReviewRow.kind == SIGN_OFF,
                )
            )
            kind = ADDENDUM if signed else SIGN_OFF
            values = {
                "session_id": session_id,
                "kind": kind,
                "reviewed_by": by[:64],
                "reviewed_at": at,
                "note": note,
                "printed_name": printed[:128],
                "meaning": SIGNATURE_MEANING,
                "verified": verified,
            }
            review_id = conn.execute(
                insert(SessionReviewRow).values(**values).returning(SessionReviewRow.id)
            ).scalar_one()
            # The signature in the trail: a later edit of its name, meaning or "verified"
            # flag is found by `audit verify`.
            append_entries(
                conn,
                [row_entry("session_reviews", int(review_id), values, actor=by, action=kind)],
            )
        return SignOff(kind, by[:64], at, note, printed[:128], SIGNATURE_MEANING, verified)

    def has_accounts(self) -> bool:
        """Whether the database has accounts (a sign-off then needs the password)."""
        return AccountRepository(self.engine).has_accounts()

    def sign_offs(self, session_id: int) -> list[SignOff]:
        """Sign-off and addenda of a session, oldest first."""
        with self._read() as conn:
            return session_rows(
                conn, SignOff, SessionReviewRow, session_id, order=SessionReviewRow.reviewed_at
            )

    # -- one record ----------------------------------------------------------------------------
    def load(self, session_id: int) -> StoredSession:
        """Everything stored about one session.

        Each part is its own short read (the repository's), so a running console's writer is
        never held up; a session being written meanwhile shows the rows committed at each read.

        Raises:
            UnknownSessionError: no such id.
        """
        repo = self.sessions
        record = repo.session(session_id)
        profile_note = ""
        try:
            profile = repo.session_profile(session_id)
        except LimitError as exc:
            profile, profile_note = None, str(exc)
        return StoredSession(
            record=record,
            patient=None if record.patient_id is None else self.patient_by_id(record.patient_id),
            trends=repo.trends(session_id),
            alarms=repo.alarms(session_id),
            alarm_log=repo.alarm_log(session_id),
            events=repo.events(session_id),
            technical=repo.technical_events(session_id),
            discharge_checks=repo.discharge_checks(session_id),
            profile_changes=repo.profile_changes(session_id),
            sign_offs=self.sign_offs(session_id),
            profile=profile,
            profile_note=profile_note,
            intake=repo.session_intake(session_id),
        )

    def patient_session_ids(self, patient_id: int) -> list[int]:
        """The patient's sessions, oldest first (the series)."""
        stmt = (
            select(SessionRow.id)
            .where(SessionRow.patient_id == patient_id)
            .order_by(SessionRow.started_at, SessionRow.id)
        )
        with self._read() as conn:
            return [int(i) for i in conn.scalars(stmt)]

    def series(self, patient_id: int, *, nibp_interval_s: float = 300.0) -> list[SeriesSession]:
        """Every session of a patient, summarised for the series comparison, oldest first."""
        out: list[SeriesSession] = []
        for sid in self.patient_session_ids(patient_id):
            stored = self.load(sid)
            out.append(
                SeriesSession(
                    session_id=sid,
                    series_number=stored.record.series_number,
                    started_at=stored.record.started_at,
                    simulated=stored.record.simulated,
                    summary=summarize(stored.inputs(nibp_interval_s)),
                    sbp=stored.trends.get("NIBP_SYS"),
                )
            )
        return out


def _points(trend: Trend | None) -> list[tuple[datetime, float]]:
    return [] if trend is None else trend.points()


def _patient_select() -> Any:
    return select(
        PatientRow.id,
        PatientRow.mrn,
        PatientRow.display_name,
        PatientRow.date_of_birth,
        PatientRow.weight_kg,
        PatientRow.weight_measured_on,
        PatientRow.sex,
    )


def _patient(row: Any) -> PatientRecord:
    return PatientRecord(
        id=row[0],
        mrn=row[1],
        display_name=row[2],
        date_of_birth=row[3],
        weight_kg=row[4],
        weight_measured_on=row[5],
        sex=row[6],
    )


def _reached(phase: ReachedPhase) -> ColumnElement[bool]:
    def has(kind: EventKind) -> ColumnElement[bool]:
        return exists().where(EventRow.session_id == SessionRow.id, EventRow.kind == kind.value)

    if phase is ReachedPhase.BASELINE_ONLY:
        return ~has(EventKind.INFUSION_START)
    if phase is ReachedPhase.INFUSION:
        return has(EventKind.INFUSION_START)
    if phase is ReachedPhase.OBSERVATION:
        return has(EventKind.INFUSION_STOP)
    if phase is ReachedPhase.DISCHARGE:
        return has(EventKind.DISCHARGE_START)
    return and_(SessionRow.phase == Phase.CLOSED.value)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


__all__: Sequence[str] = (
    "PAGE_SIZE",
    "BrowserRow",
    "ReachedPhase",
    "ReviewRepository",
    "SessionFilter",
    "SessionInProgressError",
    "SignOff",
    "SortKey",
    "StoredSession",
)
