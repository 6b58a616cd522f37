"""Physician review: sign-off and addenda per session, and indexes for the session browser.

A session is "reviewed" once it has a ``sign_off`` row; later notes are ``addendum`` rows, so a
signed record is never edited, only added to (clinical.md G 35: sign-and-lock with addenda).
The rows live in their own table instead of columns on ``sessions`` because the writer of a
running console updates ``sessions`` (phase, rate, end) while a physician may already be
reviewing it on another console; separate rows mean the two never touch the same row.

The indexes serve the session browser, which must stay fast with thousands of sessions:
``ix_sessions_started`` for the newest-first order and the date-range filter, and
``ix_alarms_session_priority`` for the "had high-priority alarms" filter.  Only indexes are
added to existing tables, so nothing is rebuilt.

Revision ID: 0003_session_review
Revises: 0002_session_record
Create Date: 2026-03-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.storage.schema import UtcDateTime

revision = "0003_session_review"
down_revision: str | None = "0002_session_record"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``session_reviews`` and the browser's indexes."""
    op.create_table(
        "session_reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=False),
        sa.Column("reviewed_at", UtcDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_session_reviews_session", "session_reviews", ["session_id", "reviewed_at"])
    op.create_index("ix_sessions_started", "sessions", ["started_at"])
    op.create_index("ix_alarms_session_priority", "alarms", ["session_id", "priority"])


def downgrade() -> None:
    """Drop the review table and the indexes."""
    op.drop_index("ix_alarms_session_priority", table_name="alarms")
    op.drop_index("ix_sessions_started", table_name="sessions")
    op.drop_index("ix_session_reviews_session", table_name="session_reviews")
    op.drop_table("session_reviews")
