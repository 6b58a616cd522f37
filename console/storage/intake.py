"""The start-of-session data (issue 17): the session type, the REMS form's concomitant
medications and healthcare setting (``session_intake``), and the patient's date of birth and
sex (``patients``).

Kept out of :mod:`console.storage.repository` (which is long already); the repository's
methods of the same names call these with its engine, so callers see one repository.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from console.domain.esketamine import CONCOMITANT_MEDICATIONS, SessionIntake, SessionType
from console.storage.audit import append_entry, lock_trail
from console.storage.schema import PatientRow, SessionIntakeRow, SessionRow


def store_intake(
    engine: Engine, session_id: int, intake: SessionIntake, *, at: datetime, by: str = ""
) -> None:
    """Store (or replace: a resumed start dialog answers again) the session's intake row."""
    values = {
        "session_type": intake.session_type.value,
        **{k: intake.medications.get(k) for k in CONCOMITANT_MEDICATIONS},
        "setting_name": intake.setting_name.strip(),
        "setting_type": intake.setting_type,
        "recorded_at": at,
        "recorded_by": by,
    }
    with engine.begin() as conn:
        lock_trail(conn)
        before = conn.execute(
            select(SessionIntakeRow.__table__).where(SessionIntakeRow.session_id == session_id)
        ).one_or_none()
        if before is None:
            conn.execute(insert(SessionIntakeRow).values(session_id=session_id, **values))
        else:
            conn.execute(
                update(SessionIntakeRow)
                .where(SessionIntakeRow.session_id == session_id)
                .values(**values)
            )
        # The start questions are part of the record: who answered what, in the trail.
        append_entry(
            conn,
            actor=by,
            action="session_intake",
            target_table="session_intake",
            target_id=session_id,
            session_id=session_id,
            before=None if before is None else dict(before._mapping),
            after=values,
        )


def read_intake(conn: Connection, session_id: int) -> SessionIntake | None:
    """The session's intake with the patient's date of birth and sex; None before 0007."""
    row = conn.execute(
        select(SessionIntakeRow.__table__).where(SessionIntakeRow.session_id == session_id)
    ).one_or_none()
    if row is None:
        return None
    patient = conn.execute(
        select(PatientRow.date_of_birth, PatientRow.sex)
        .join(SessionRow, SessionRow.patient_id == PatientRow.id)
        .where(SessionRow.id == session_id)
    ).one_or_none()
    return SessionIntake(
        session_type=SessionType(row.session_type),
        medications={k: getattr(row, k) for k in CONCOMITANT_MEDICATIONS},
        setting_name=row.setting_name,
        setting_type=row.setting_type,
        date_of_birth=None if patient is None else patient[0],
        sex=None if patient is None else patient[1],
    )


def set_patient_identity(
    engine: Engine,
    patient_id: int,
    *,
    date_of_birth: date | None,
    sex: str | None,
    by: str = "",
) -> None:
    """Store the patient's date of birth and sex (a given value replaces the stored one;
    None keeps it)."""
    values: dict[str, object] = {}
    if date_of_birth is not None:
        values["date_of_birth"] = date_of_birth
    if sex is not None:
        values["sex"] = sex
    if not values:
        return
    with engine.begin() as conn:
        lock_trail(conn)
        before = conn.execute(
            select(PatientRow.date_of_birth, PatientRow.sex).where(PatientRow.id == patient_id)
        ).one_or_none()
        conn.execute(update(PatientRow).where(PatientRow.id == patient_id).values(**values))
        append_entry(
            conn,
            actor=by,
            action="patient_identity",
            target_table="patients",
            target_id=patient_id,
            before=None if before is None else dict(before._mapping),
            after=values,
        )


__all__ = ["read_intake", "set_patient_identity", "store_intake"]
