"""The threshold profile each session started with, stored with the session.

The physician's review must show the thresholds in effect (clinical.md H 36); before this
revision it could only show the console's currently configured profile.  Each session now gets
one ``session_profiles`` row written when its record is created: the whole profile as JSON
(name, every limit tier with priority, delay and confirm-by-repeat, the baseline-relative rules
and the timings).  Changes during the session stay in ``profile_changes``.

``threshold_profiles`` is not reused: its names are unique (named clinic presets), whereas every
session stores its own copy, most of them called "clinic default".  A separate table rather than
columns on ``sessions`` keeps the running console's writer and this row apart, and adds nothing
to the existing tables, so nothing is rebuilt.  Sessions recorded before this revision have no
row; the review says so and shows the console's current profile instead.

Revision ID: 0004_session_profile
Revises: 0003_session_review
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.storage.schema import UtcDateTime

revision = "0004_session_profile"
down_revision: str | None = "0003_session_review"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``session_profiles``."""
    op.create_table(
        "session_profiles",
        sa.Column("session_id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("profile_json", sa.Text(), nullable=False),
        sa.Column("stored_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
    )


def downgrade() -> None:
    """Drop ``session_profiles`` (the stored profiles are lost)."""
    op.drop_table("session_profiles")
