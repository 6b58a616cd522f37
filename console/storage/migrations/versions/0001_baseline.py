"""Baseline: the tables the walking skeleton created with ``create_all``.

Databases created before migrations existed have exactly these tables and no
``alembic_version``; :func:`console.storage.migrate.upgrade_to_head` stamps them at this
revision instead of creating anything.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.storage.schema import UtcDateTime

revision = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _session_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE")


def upgrade() -> None:
    """Create the skeleton's five tables."""
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chair", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("device_kind", sa.String(64), nullable=False),
        sa.Column("device_url", sa.String(512), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("parameter", sa.String(16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.String(128), nullable=False),
        sa.Column("device_time", UtcDateTime(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        _session_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_readings_session_param_time", "readings", ["session_id", "parameter", "received_at"]
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(64), nullable=False),
        sa.Column("parameter", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("limit_value", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("message", sa.String(256), nullable=False),
        sa.Column("onset_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        _session_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alarms_session", "alarms", ["session_id", "onset_at"])
    op.create_table(
        "alarm_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("message", sa.String(256), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        _session_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "technical_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(512), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        _session_fk(),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    """Drop everything (only for tests of the migrations themselves)."""
    for table in ("technical_events", "alarm_log", "alarms", "readings", "sessions"):
        op.drop_table(table)
