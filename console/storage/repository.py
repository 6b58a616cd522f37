"""Queries on the session record, in short-lived connections (safe from any thread).

Live data (readings, alarms, technical events) is written by
:class:`~console.storage.writer.StorageWriter` on its own thread; this repository creates and
resumes sessions, stores the occasional lifecycle step synchronously when the caller wants the
answer at once, and reads everything back for the session list, review and export.  Review loads
go straight to numpy arrays from plain DBAPI tuples: building arrays from SQLAlchemy ``Row``
objects is ten times slower (shared/performance.md, Storage).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Float, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from console.domain.alarm_profiles import ThresholdProfile, profile_from_json, profile_to_json
from console.domain.esketamine import SessionIntake
from console.domain.session import (
    EventKind,
    Phase,
    SessionEvent,
    SessionLifecycle,
    SessionPolicy,
)
from console.storage.audit import SYSTEM_ACTOR, append_entry, lock_trail, text_digest
from console.storage.intake import read_intake, set_patient_identity, store_intake
from console.storage.migrate import upgrade_to_head
from console.storage.schema import (
    AlarmLogRow,
    AlarmRow,
    ChairRow,
    DeviceRow,
    DischargeCheckRow,
    EventRow,
    PatientRow,
    ProfileChangeRow,
    ReadingRow,
    SessionProfileRow,
    SessionRow,
    TechnicalEventRow,
    ThresholdProfileRow,
)
from console.storage.session_rows import session_rows
from console.storage.writer import SessionEndItem, SessionEventItem, apply_ops, item_ops

FloatArray = npt.NDArray[np.float64]
#: The epoch the stored trend times count from.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownSessionError(LookupError):
    """No session has this id."""


class SessionAlreadyEndedError(ValueError):
    """The session was ended properly; there is nothing to resume."""


class DuplicatePatientError(ValueError):
    """A patient with this MRN/code exists already."""


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
    phase: str = "baseline"
    patient: str | None = None
    series_number: int | None = None
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session's header as stored."""

    id: int
    chair: str
    started_at: datetime
    ended_at: datetime | None
    simulated: bool
    device_kind: str
    device_url: str
    patient_id: int | None
    phase: str
    series_number: int | None
    resumed: bool
    weight_kg: float | None
    dose_mg_per_kg: float | None
    dose_mg: float | None
    rate_ml_per_h: float | None
    route: str | None


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A patient's minimal identifiers."""

    id: int
    mrn: str
    display_name: str
    date_of_birth: date | None
    weight_kg: float | None
    weight_measured_on: date | None
    #: Revision 0007 (issue 17); None when not entered.
    sex: str | None = None


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


@dataclass(frozen=True, slots=True)
class StoredAlarmLog:
    """One alarm transition as stored (kind verbatim, actor when a person acted)."""

    condition: str
    kind: str
    priority: str
    value: float | None
    message: str
    at: datetime
    actor: str | None


@dataclass(frozen=True, slots=True)
class _TechnicalEvent:
    kind: str
    detail: str
    at: datetime


@dataclass(frozen=True, slots=True)
class _DischargeCheck:
    item: str
    passed: bool
    at: datetime
    author: str
    note: str


@dataclass(frozen=True, slots=True)
class Trend:
    """One parameter's numerics as arrays: epoch seconds (UTC) and values (NaN = not valid)."""

    t: FloatArray
    value: FloatArray

    def points(self) -> list[tuple[datetime, float]]:
        """(UTC time, value) pairs, NaN kept; times to the millisecond, as stored (epoch
        floats would add a few microseconds).  For rules that work on times (issue 17's
        esketamine checkpoints)."""
        return [
            (_EPOCH + timedelta(milliseconds=round(float(t) * 1000.0)), float(v))
            for t, v in zip(self.t, self.value, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class SessionReview:
    """Everything the review screen draws for one session."""

    session: SessionRecord
    trends: dict[str, Trend]
    alarms: list[StoredAlarm]
    events: list[SessionEvent]


class SessionRepository:
    """Creates, resumes, closes and reads sessions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._upgrade_lock = threading.Lock()
        self._upgraded = False

    # -- schema ----------------------------------------------------------------------------
    def upgrade(self) -> str:
        """Migrate the database to the newest revision; returns it (see console.storage.migrate).

        Raises:
            console.storage.migrate.DatabaseTooNewError: the database is newer than this console.
        """
        return upgrade_to_head(self.engine)

    def ensure_upgraded(self) -> None:
        """:meth:`upgrade` once for this repository, from whichever thread asks first.

        The console's start-up and each chair's first record open (on their database
        workers) all ask; one upgrades, the others wait for it and then skip.  A failed
        upgrade is tried again by the next caller.
        """
        with self._upgrade_lock:
            if not self._upgraded:
                self.upgrade()
                self._upgraded = True

    def ensure_schema(self) -> None:
        """Same as :meth:`upgrade` (kept for callers written before migrations existed)."""
        self.upgrade()

    # -- patients, chairs, devices -----------------------------------------------------------
    def add_patient(
        self,
        mrn: str,
        display_name: str = "",
        *,
        date_of_birth: date | None = None,
        weight_kg: float | None = None,
        weight_measured_on: date | None = None,
        sex: str | None = None,
        by: str = "",
    ) -> int:
        """Register a patient by MRN or clinic code; returns the id (``by``: who, for the
        audit trail).

        Raises:
            DuplicatePatientError: the MRN exists.
        """
        mrn = mrn.strip()
        if not mrn:
            raise ValueError("a patient needs an MRN or clinic code")
        values = {
            "mrn": mrn,
            "display_name": display_name,
            "date_of_birth": date_of_birth,
            "weight_kg": weight_kg,
            "weight_measured_on": weight_measured_on,
            "sex": sex,
        }
        try:
            with self.engine.begin() as conn:
                lock_trail(conn)
                pid = int(
                    conn.execute(
                        insert(PatientRow)
                        .values(**values, created_at=datetime.now(UTC))
                        .returning(PatientRow.id)
                    ).scalar_one()
                )
                append_entry(
                    conn,
                    actor=by,
                    action="patient_added",
                    target_table="patients",
                    target_id=pid,
                    after=values,
                )
                return pid
        except IntegrityError:
            raise DuplicatePatientError(f"a patient with MRN {mrn!r} exists already") from None

    def patient(self, mrn: str) -> PatientRecord | None:
        """The patient with this MRN, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    PatientRow.id,
                    PatientRow.mrn,
                    PatientRow.display_name,
                    PatientRow.date_of_birth,
                    PatientRow.weight_kg,
                    PatientRow.weight_measured_on,
                    PatientRow.sex,
                ).where(PatientRow.mrn == mrn.strip())
            ).one_or_none()
        return None if row is None else PatientRecord(*row)

    def set_patient_identity(
        self, patient_id: int, *, date_of_birth: date | None, sex: str | None, by: str = ""
    ) -> None:
        """Store the patient's date of birth and sex (None keeps the stored value)."""
        set_patient_identity(self.engine, patient_id, date_of_birth=date_of_birth, sex=sex, by=by)

    def store_intake(
        self, session_id: int, intake: SessionIntake, *, at: datetime, by: str = ""
    ) -> None:
        """Store the session's type, concomitant medications and setting (issue 17)."""
        store_intake(self.engine, session_id, intake, at=at, by=by)

    def session_intake(self, session_id: int) -> SessionIntake | None:
        """The session's start-of-session data, or None (recorded before revision 0007)."""
        with self.engine.connect() as conn:
            return read_intake(conn, session_id)

    def record_weight(
        self, patient_id: int, weight_kg: float, measured_on: date, *, by: str = ""
    ) -> None:
        """Store a new weight and its date (the dose calculation checks its age)."""
        with self.engine.begin() as conn:
            lock_trail(conn)
            before = conn.execute(
                select(PatientRow.weight_kg, PatientRow.weight_measured_on).where(
                    PatientRow.id == patient_id
                )
            ).one_or_none()
            conn.execute(
                update(PatientRow)
                .where(PatientRow.id == patient_id)
                .values(weight_kg=weight_kg, weight_measured_on=measured_on)
            )
            append_entry(
                conn,
                actor=by,
                action="patient_weight",
                target_table="patients",
                target_id=patient_id,
                before=None if before is None else dict(before._mapping),
                after={"weight_kg": weight_kg, "weight_measured_on": measured_on},
            )

    def chair_id(self, name: str, conn: Connection | None = None) -> int:
        """Id of the chair called ``name``, registering it on first use (race-free on PG)."""
        return self._get_or_create(ChairRow, {"name": name}, {"location": ""}, conn)

    def device_id(self, kind: str, url: str, conn: Connection | None = None) -> int:
        """Id of the device (kind, url), registering it on first use."""
        return self._get_or_create(DeviceRow, {"kind": kind, "url": url}, {}, conn)

    def _get_or_create(
        self,
        table: type[ChairRow] | type[DeviceRow],
        key: dict[str, Any],
        extra: dict[str, Any],
        conn: Connection | None,
    ) -> int:
        if conn is None:
            with self.engine.begin() as own:
                return self._get_or_create(table, key, extra, own)
        where = [getattr(table, k) == v for k, v in key.items()]
        found = conn.scalar(select(table.id).where(*where))
        if found is not None:
            return int(found)
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        # Two consoles registering the same chair at once: one insert wins, both read it.
        conn.execute(dialect_insert(table).values(**key, **extra).on_conflict_do_nothing())
        return int(conn.execute(select(table.id).where(*where)).scalar_one())

    # -- sessions ----------------------------------------------------------------------------
    def create_session(
        self,
        *,
        chair: str,
        started_at: datetime,
        simulated: bool,
        device_kind: str,
        device_url: str = "",
        patient_id: int | None = None,
        profile: ThresholdProfile | None = None,
        by: str = "",
    ) -> int:
        """Open a session record and return its id (``by``: who opened it, for the audit
        trail; the console itself when empty).

        With a patient, the session gets the next number in the patient's treatment series
        (clinical.md A 2-3: the first sessions carry most of the risk).  With a ``profile``, the
        threshold profile in effect is stored with the session in the same transaction (see
        :meth:`store_session_profile`).
        """
        with self.engine.begin() as conn:
            lock_trail(conn)
            series: int | None = None
            if patient_id is not None:
                earlier = conn.scalar(
                    select(func.count(SessionRow.id)).where(SessionRow.patient_id == patient_id)
                )
                series = int(earlier or 0) + 1
            result = conn.execute(
                insert(SessionRow)
                .values(
                    chair=chair,
                    started_at=started_at,
                    simulated=simulated,
                    device_kind=device_kind,
                    device_url=device_url,
                    note="",
                    patient_id=patient_id,
                    chair_id=self.chair_id(chair, conn),
                    device_id=self.device_id(device_kind, device_url, conn),
                    phase=Phase.BASELINE.value,
                    series_number=series,
                    resumed=False,
                )
                .returning(SessionRow.id)
            )
            sid = int(result.scalar_one())
            append_entry(
                conn,
                actor=by or SYSTEM_ACTOR,
                action="session_start",
                target_table="sessions",
                target_id=sid,
                session_id=sid,
                after={
                    "chair": chair,
                    "started_at": started_at,
                    "simulated": simulated,
                    "device_kind": device_kind,
                    "device_url": device_url,
                    "patient_id": patient_id,
                    "series_number": series,
                },
            )
            if profile is not None:
                _insert_session_profile(conn, sid, profile, started_at)
            return sid

    def end_session(self, session_id: int, ended_at: datetime) -> None:
        """Close a session record (monitoring ended)."""
        with self.engine.begin() as conn:
            apply_ops(conn, item_ops(SessionEndItem(session_id, ended_at)))

    def session(self, session_id: int) -> SessionRecord:
        """A session's header.

        Raises:
            UnknownSessionError: no such id.
        """
        with self.engine.connect() as conn:
            return self._session(conn, session_id)

    def _session(self, conn: Connection, session_id: int) -> SessionRecord:
        row = conn.execute(
            select(
                SessionRow.id,
                SessionRow.chair,
                SessionRow.started_at,
                SessionRow.ended_at,
                SessionRow.simulated,
                SessionRow.device_kind,
                SessionRow.device_url,
                SessionRow.patient_id,
                SessionRow.phase,
                SessionRow.series_number,
                SessionRow.resumed,
                SessionRow.weight_kg,
                SessionRow.dose_mg_per_kg,
                SessionRow.dose_mg,
                SessionRow.rate_ml_per_h,
                SessionRow.route,
            ).where(SessionRow.id == session_id)
        ).one_or_none()
        if row is None:
            raise UnknownSessionError(f"no session with id {session_id}")
        return SessionRecord(**row._mapping)

    def unfinished_sessions(self, chair: str) -> list[SessionSummary]:
        """Sessions of ``chair`` that were never ended (the console crashed), newest first.

        The GUI offers to resume the newest one at start-up.
        """
        return self._summaries(
            [SessionRow.chair == chair, SessionRow.ended_at.is_(None)],
        )

    def resume_session(
        self, session_id: int, *, at: datetime | None = None, by: str = ""
    ) -> SessionRecord:
        """Continue an unfinished session after a restart: flag it and note the gap.

        The gap (last stored reading to now) is written as a ``resumed`` event on the timeline
        so the record says plainly that monitoring data is missing there.

        Raises:
            UnknownSessionError: no such id.
            SessionAlreadyEndedError: the session was ended properly.
        """
        at = at or datetime.now(UTC)
        with self.engine.begin() as conn:
            record = self._session(conn, session_id)
            if record.ended_at is not None:
                raise SessionAlreadyEndedError(
                    f"session {session_id} ended at {record.ended_at.isoformat()}; start a new one"
                )
            last = self._last_stored_at(conn, session_id)
            if last is not None and last > at:
                # A stored gap always runs forward (issue 11 item 11): a clock behind the stored
                # data (stepped back, or a restarted accelerated simulation) resumes at its end.
                at = last
            gap = (
                f"resumed after an unclean shutdown; no data from {last.isoformat()} "
                f"to {at.isoformat()}"
                if isinstance(last, datetime)
                else "resumed after an unclean shutdown"
            )
            event = SessionEvent(
                kind=EventKind.RESUMED.value,
                at=at,
                author=by,
                phase=_phase(record.phase),
                text=gap,
            )
            apply_ops(conn, item_ops(SessionEventItem(session_id, event)))
            return self._session(conn, session_id)

    def last_stored_at(self, session_id: int) -> datetime | None:
        """When the session's newest stored reading or event is stamped (None: nothing yet)."""
        with self.engine.connect() as conn:
            return self._last_stored_at(conn, session_id)

    @staticmethod
    def _last_stored_at(conn: Connection, session_id: int) -> datetime | None:
        found: list[datetime] = []
        for column, owner in ((ReadingRow.received_at, ReadingRow), (EventRow.at, EventRow)):
            value = conn.scalar(select(func.max(column)).where(owner.session_id == session_id))
            if isinstance(value, str):  # SQLite's max() bypasses the column type
                value = datetime.fromisoformat(value)
            if isinstance(value, datetime):
                found.append(value if value.tzinfo else value.replace(tzinfo=UTC))
        return max(found, default=None)

    def record_event(self, session_id: int, event: SessionEvent) -> None:
        """Store one lifecycle event now (when the caller needs it written before going on).

        Live paths submit a :class:`~console.storage.writer.SessionEventItem` to the writer
        instead, which also survives a database outage.
        """
        with self.engine.begin() as conn:
            apply_ops(conn, item_ops(SessionEventItem(session_id, event)))

    def events(self, session_id: int) -> list[SessionEvent]:
        """The session timeline (lifecycle steps and annotations) in time order."""
        stmt = (
            select(
                EventRow.kind,
                EventRow.at,
                EventRow.author,
                EventRow.reason,
                EventRow.phase,
                EventRow.rate_ml_per_h,
                EventRow.dose_mg,
                EventRow.score,
                EventRow.text,
                EventRow.data,
            )
            .where(EventRow.session_id == session_id)
            .order_by(EventRow.at, EventRow.id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            SessionEvent(
                kind=r.kind,
                at=r.at,
                author=r.author,
                reason=r.reason,
                phase=_phase(r.phase),
                rate_ml_per_h=r.rate_ml_per_h,
                dose_mg=r.dose_mg,
                score=r.score,
                text=r.text,
                data=json.loads(r.data) if r.data else {},
            )
            for r in rows
        ]

    def lifecycle(self, session_id: int, policy: SessionPolicy | None = None) -> SessionLifecycle:
        """The session's lifecycle rebuilt from its stored events (e.g. after resume)."""
        stored = [e for e in self.events(session_id) if e.kind != EventKind.RESUMED]
        life = SessionLifecycle.from_events(
            sorted(stored, key=lambda e: e.at) if stored else [], policy
        )
        return life

    def list_sessions(self) -> list[SessionSummary]:
        """Every session, newest first, with counts."""
        return self._summaries([])

    def _summaries(self, where: Sequence[ColumnElement[bool]]) -> list[SessionSummary]:
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
        stmt = (
            select(
                SessionRow.id,
                SessionRow.chair,
                SessionRow.started_at,
                SessionRow.ended_at,
                SessionRow.simulated,
                SessionRow.device_kind,
                n_readings.label("readings"),
                n_alarms.label("alarms"),
                SessionRow.phase,
                PatientRow.mrn.label("patient"),
                SessionRow.series_number,
                SessionRow.resumed,
            )
            .outerjoin(PatientRow, PatientRow.id == SessionRow.patient_id)
            .where(*where)
            .order_by(SessionRow.started_at.desc(), SessionRow.id.desc())
        )
        with self.engine.connect() as conn:
            return [SessionSummary(**row._mapping) for row in conn.execute(stmt)]

    # -- live data, read back ----------------------------------------------------------------
    def readings(self, session_id: int, parameter: str | None = None) -> list[StoredReading]:
        """Readings of a session in arrival order."""
        where = [] if parameter is None else [ReadingRow.parameter == parameter]
        with self.engine.connect() as conn:
            return session_rows(
                conn,
                StoredReading,
                ReadingRow,
                session_id,
                order=ReadingRow.received_at,
                where=where,
            )

    def alarms(self, session_id: int) -> list[StoredAlarm]:
        """Alarm conditions of a session by onset."""
        with self.engine.connect() as conn:
            return session_rows(conn, StoredAlarm, AlarmRow, session_id, order=AlarmRow.onset_at)

    def alarm_log(self, session_id: int) -> list[StoredAlarmLog]:
        """Every alarm transition of a session in order."""
        with self.engine.connect() as conn:
            return session_rows(conn, StoredAlarmLog, AlarmLogRow, session_id, order=AlarmLogRow.at)

    def technical_events(self, session_id: int) -> list[tuple[str, str, datetime]]:
        """(kind, detail, at) of a session's technical events."""
        with self.engine.connect() as conn:
            rows = session_rows(
                conn, _TechnicalEvent, TechnicalEventRow, session_id, order=TechnicalEventRow.at
            )
        return [(r.kind, r.detail, r.at) for r in rows]

    def discharge_checks(self, session_id: int) -> list[tuple[str, bool, datetime, str, str]]:
        """(item, passed, at, author, note) of the session's discharge checklist answers."""
        with self.engine.connect() as conn:
            rows = session_rows(
                conn, _DischargeCheck, DischargeCheckRow, session_id, order=DischargeCheckRow.at
            )
        return [(r.item, r.passed, r.at, r.author, r.note) for r in rows]

    # -- threshold profiles --------------------------------------------------------------------
    def save_profile(self, name: str, rules_json: str, *, by: str, at: datetime) -> int:
        """Store a named limit profile (JSON text); returns its id."""
        json.loads(rules_json)  # refuse non-JSON early, with the parser's message
        with self.engine.begin() as conn:
            lock_trail(conn)
            pid = int(
                conn.execute(
                    insert(ThresholdProfileRow)
                    .values(name=name, rules_json=rules_json, created_at=at, created_by=by)
                    .returning(ThresholdProfileRow.id)
                ).scalar_one()
            )
            append_entry(
                conn,
                actor=by,
                action="profile_saved",
                target_table="threshold_profiles",
                target_id=pid,
                after={"name": name, "rules_sha256": text_digest(rules_json)},
            )
            return pid

    def store_session_profile(
        self, session_id: int, profile: ThresholdProfile, *, at: datetime | None = None
    ) -> None:
        """Store the threshold profile ``session_id`` started with (once per session).

        The review shows it as the thresholds in effect; changes during the session are
        ``profile_changes`` rows.  A session that already has one keeps it: a resumed session
        continues under the profile it started with.

        Raises:
            UnknownSessionError: no such id.
        """
        with self.engine.begin() as conn:
            lock_trail(conn)
            self._session(conn, session_id)
            found = conn.scalar(
                select(SessionProfileRow.session_id).where(
                    SessionProfileRow.session_id == session_id
                )
            )
            if found is None:
                _insert_session_profile(conn, session_id, profile, at or datetime.now(UTC))

    def session_profile(self, session_id: int) -> ThresholdProfile | None:
        """The threshold profile stored with the session, or None (recorded before revision
        0004, or created without one).

        Raises:
            LimitError: the stored profile cannot be read back.
        """
        with self.engine.connect() as conn:
            text = conn.scalar(
                select(SessionProfileRow.profile_json).where(
                    SessionProfileRow.session_id == session_id
                )
            )
        return None if text is None else profile_from_json(text)

    def profile_changes(self, session_id: int | None = None) -> list[dict[str, Any]]:
        """Limit changes (of one session, or all), oldest first, as plain dicts."""
        stmt = select(
            ProfileChangeRow.session_id,
            ProfileChangeRow.profile_id,
            ProfileChangeRow.at,
            ProfileChangeRow.actor,
            ProfileChangeRow.reason,
            ProfileChangeRow.old_json,
            ProfileChangeRow.new_json,
        ).order_by(ProfileChangeRow.at, ProfileChangeRow.id)
        if session_id is not None:
            stmt = stmt.where(ProfileChangeRow.session_id == session_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(stmt)]

    # -- review (fast paths) ------------------------------------------------------------------
    def trends(self, session_id: int) -> dict[str, Trend]:
        """All numerics of a session as arrays per parameter (for the review plots)."""
        epoch = _epoch_seconds(self.engine, ReadingRow.received_at)
        value = ReadingRow.value
        stmt = (
            select(ReadingRow.parameter, epoch, value, ReadingRow.valid)
            .where(ReadingRow.session_id == session_id)
            .order_by(ReadingRow.parameter, ReadingRow.received_at, ReadingRow.id)
        )
        with self.engine.connect() as conn:
            rows = _raw_rows(conn, stmt)
        out: dict[str, Trend] = {}
        if not rows:
            return out
        params = [r[0] for r in rows]
        ts = [r[1] for r in rows]
        values = [r[2] for r in rows]
        valid = [r[3] for r in rows]
        t = np.asarray(ts, dtype=np.float64)
        v = np.array([np.nan if x is None else x for x in values], dtype=np.float64)
        v[~np.asarray(valid, dtype=bool)] = np.nan
        start = 0
        names = list(params)
        for i in range(1, len(names) + 1):
            if i == len(names) or names[i] != names[start]:
                out[names[start]] = Trend(t[start:i].copy(), v[start:i].copy())
                start = i
        return out

    def load_review(self, session_id: int) -> SessionReview:
        """Everything the review screen needs for one session.

        Raises:
            UnknownSessionError: no such id.
        """
        record = self.session(session_id)
        return SessionReview(
            session=record,
            trends=self.trends(session_id),
            alarms=self.alarms(session_id),
            events=self.events(session_id),
        )


def _insert_session_profile(
    conn: Connection, session_id: int, profile: ThresholdProfile, at: datetime
) -> None:
    profile_json = profile_to_json(profile)
    conn.execute(
        insert(SessionProfileRow).values(
            session_id=session_id,
            name=profile.name[:64],
            profile_json=profile_json,
            stored_at=at,
        )
    )
    append_entry(
        conn,
        actor=SYSTEM_ACTOR,
        action="session_profile",
        target_table="session_profiles",
        target_id=session_id,
        session_id=session_id,
        after={"name": profile.name[:64], "profile_sha256": text_digest(profile_json)},
    )


def _phase(value: str | None) -> Phase | None:
    """The phase of a stored value; None for NULL or a phase a newer console introduced."""
    try:
        return None if value is None else Phase(value)
    except ValueError:
        return None


def _epoch_seconds(engine: Engine, column: Any) -> ColumnElement[float]:
    """SQL for a UTC timestamp column as float epoch seconds (no Python datetimes on load)."""
    if engine.dialect.name == "sqlite":
        return ((func.julianday(column) - 2440587.5) * 86400.0).label("t")
    return func.extract("epoch", column).cast(Float).label("t")


def _raw_rows(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """Plain tuples straight from the DBAPI cursor, skipping Row construction and type
    processing (the selected columns are plain numbers, text and bytes by construction)."""
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()
