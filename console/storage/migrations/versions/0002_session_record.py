"""The clinical session record: patients, chairs, devices, lifecycle, waveforms, annotations.

Adds the tables of the storage issue and links sessions to patient, chair and device.  Existing
sessions keep their free-text chair and device columns; this revision fills ``chairs`` and
``devices`` from them and links every old session, and marks ended sessions ``closed``.

Large tables (``readings``) are not rebuilt: only ``sessions`` (small) and ``alarm_log`` are
copied by SQLite's batch mode, with foreign keys off (console.storage.migrate), because a
DROP TABLE with foreign keys on would cascade-delete the readings.

Revision ID: 0002_session_record
Revises: 0001_baseline
Create Date: 2026-03-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem

from console.storage.schema import UtcDateTime

revision = "0002_session_record"
down_revision: str | None = "0001_baseline"
branch_labels: str | None = None
depends_on: str | None = None


def _session_fk(nullable: bool = False) -> list[SchemaItem]:
    return [
        sa.Column("session_id", sa.Integer(), nullable=nullable),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
    ]


def upgrade() -> None:
    """Create the new tables, extend sessions and alarm_log, and link the old sessions."""
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mrn", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("weight_measured_on", sa.Date(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("mrn"),
    )
    op.create_table(
        "chairs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("location", sa.String(128), nullable=False),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("url", sa.String(512), nullable=False),
        sa.UniqueConstraint("kind", "url"),
    )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("patient_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("chair_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("phase", sa.String(16), nullable=False, server_default="baseline")
        )
        batch.add_column(sa.Column("series_number", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("resumed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("weight_kg", sa.Float(), nullable=True))
        batch.add_column(sa.Column("dose_mg_per_kg", sa.Float(), nullable=True))
        batch.add_column(sa.Column("dose_mg", sa.Float(), nullable=True))
        batch.add_column(sa.Column("rate_ml_per_h", sa.Float(), nullable=True))
        batch.add_column(sa.Column("route", sa.String(16), nullable=True))
        batch.create_foreign_key(None, "patients", ["patient_id"], ["id"])
        batch.create_foreign_key(None, "chairs", ["chair_id"], ["id"])
        batch.create_foreign_key(None, "devices", ["device_id"], ["id"])
        batch.create_index("ix_sessions_chair_ended", ["chair", "ended_at"])
        batch.create_index("ix_sessions_patient", ["patient_id", "started_at"])
    with op.batch_alter_table("alarm_log") as batch:
        batch.add_column(sa.Column("actor", sa.String(64), nullable=True))
        batch.alter_column(
            "kind", existing_type=sa.String(16), type_=sa.String(32), existing_nullable=False
        )
    op.create_table(
        "waveforms",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_session_fk(),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("start_at", UtcDateTime(), nullable=False),
        sa.Column("sample_rate_hz", sa.Float(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index(
        "ix_waveforms_session_channel_time", "waveforms", ["session_id", "channel", "start_at"]
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_session_fk(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("phase", sa.String(16), nullable=True),
        sa.Column("rate_ml_per_h", sa.Float(), nullable=True),
        sa.Column("dose_mg", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
    )
    op.create_index("ix_events_session_time", "events", ["session_id", "at"])
    op.create_table(
        "threshold_profiles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("rules_json", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "profile_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_session_fk(nullable=True),
        sa.Column("profile_id", sa.Integer(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("old_json", sa.Text(), nullable=False),
        sa.Column("new_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["profile_id"], ["threshold_profiles.id"]),
    )
    op.create_table(
        "discharge_checks",
        sa.Column("id", sa.Integer(), primary_key=True),
        *_session_fk(),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_table(
        "write_batches",
        sa.Column("uid", sa.String(32), primary_key=True),
        sa.Column("applied_at", UtcDateTime(), nullable=False),
    )
    _link_existing_sessions()


def _link_existing_sessions() -> None:
    """Fill chairs/devices from the old free-text columns and link every old session."""
    conn = op.get_bind()
    sessions = sa.table(
        "sessions",
        sa.column("id", sa.Integer()),
        sa.column("chair", sa.String()),
        sa.column("device_kind", sa.String()),
        sa.column("device_url", sa.String()),
        sa.column("ended_at", sa.DateTime()),
        sa.column("chair_id", sa.Integer()),
        sa.column("device_id", sa.Integer()),
        sa.column("phase", sa.String()),
    )
    chairs = sa.table(
        "chairs", sa.column("id", sa.Integer()), sa.column("name"), sa.column("location")
    )
    devices = sa.table(
        "devices", sa.column("id", sa.Integer()), sa.column("kind"), sa.column("url")
    )
    names = sorted(str(n) for (n,) in conn.execute(sa.select(sessions.c.chair).distinct()))
    if names:
        conn.execute(sa.insert(chairs), [{"name": n, "location": ""} for n in names])
    pairs = sorted(
        (str(k), str(u))
        for k, u in conn.execute(
            sa.select(sessions.c.device_kind, sessions.c.device_url).distinct()
        )
    )
    if pairs:
        conn.execute(sa.insert(devices), [{"kind": k, "url": u} for k, u in pairs])
    chair_id = sa.select(chairs.c.id).where(chairs.c.name == sessions.c.chair).scalar_subquery()
    device_id = (
        sa.select(devices.c.id)
        .where(devices.c.kind == sessions.c.device_kind, devices.c.url == sessions.c.device_url)
        .scalar_subquery()
    )
    conn.execute(sa.update(sessions).values(chair_id=chair_id, device_id=device_id))
    conn.execute(sa.update(sessions).where(sessions.c.ended_at.is_not(None)).values(phase="closed"))


def downgrade() -> None:
    """Back to the baseline tables (drops every 0002 table and column)."""
    for table in (
        "write_batches",
        "discharge_checks",
        "profile_changes",
        "threshold_profiles",
        "events",
        "waveforms",
    ):
        op.drop_table(table)
    with op.batch_alter_table("alarm_log") as batch:
        batch.alter_column(
            "kind", existing_type=sa.String(32), type_=sa.String(16), existing_nullable=False
        )
        batch.drop_column("actor")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_index("ix_sessions_patient")
        batch.drop_index("ix_sessions_chair_ended")
        batch.drop_constraint("sessions_device_id_fkey", type_="foreignkey")
        batch.drop_constraint("sessions_chair_id_fkey", type_="foreignkey")
        batch.drop_constraint("sessions_patient_id_fkey", type_="foreignkey")
        for column in (
            "route",
            "rate_ml_per_h",
            "dose_mg",
            "dose_mg_per_kg",
            "weight_kg",
            "resumed",
            "series_number",
            "phase",
            "device_id",
            "chair_id",
            "patient_id",
        ):
            batch.drop_column(column)
    for table in ("devices", "chairs", "patients"):
        op.drop_table(table)
