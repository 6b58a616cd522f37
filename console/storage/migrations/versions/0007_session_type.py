"""Session type and start-of-session data (issue 17): ``session_intake`` and ``patients.sex``.

A clinic gives IV ketamine and intranasal esketamine; the Spravato REMS form asks, for every
session, the concomitant medications (each Yes/No), the healthcare setting and the patient's
date of birth and sex.  The session's type and those answers are one ``session_intake`` row
per session, written with the record (a separate table, as ``session_profiles``: nothing is
added to ``sessions``, the row the running console's writer keeps updating).  The patient's
sex is a new nullable column of ``patients``, beside the ``date_of_birth`` it already had.
The esketamine steps themselves (dose and lot, each device, the end checks) are session
events and need no schema.

Sessions recorded before this revision have no intake row: they were IV ketamine infusions.

Revision ID: 0007_session_type
Revises: 0005_accounts
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.storage.schema import UtcDateTime

revision = "0007_session_type"
down_revision: str | None = "0005_accounts"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``session_intake`` and add ``patients.sex``."""
    op.create_table(
        "session_intake",
        sa.Column("session_id", sa.Integer(), primary_key=True),
        sa.Column("session_type", sa.String(32), nullable=False),
        sa.Column("benzodiazepines", sa.Boolean(), nullable=True),
        sa.Column("non_benzodiazepine_sedative_hypnotics", sa.Boolean(), nullable=True),
        sa.Column("psychostimulants", sa.Boolean(), nullable=True),
        sa.Column("maois", sa.Boolean(), nullable=True),
        sa.Column("opioids", sa.Boolean(), nullable=True),
        sa.Column("setting_name", sa.String(128), nullable=False),
        sa.Column("setting_type", sa.String(64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
    )
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("sex", sa.String(16), nullable=True))


def downgrade() -> None:
    """Drop ``session_intake`` and ``patients.sex`` (their data are lost)."""
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("sex")
    op.drop_table("session_intake")
