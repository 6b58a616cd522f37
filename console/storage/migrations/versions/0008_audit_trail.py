"""The tamper-evident audit trail (issue 16): ``audit_trail`` and its chain head ``audit_head``.

See :mod:`console.storage.audit` for what an entry holds and how the chain is hashed.  The
migration writes the first entry, ``trail_started``, which records the highest row id of every
table the trail covers: rows stored before this revision have no entry, and ``audit verify``
takes those ids as the record that predates the trail instead of as inserted rows.

On PostgreSQL a trigger makes the trail append-only at the database level: UPDATE, DELETE and
TRUNCATE of ``audit_trail`` raise, whoever asks (only the tables' owner can drop the trigger;
``resources/sql/audit_append_only.sql`` also revokes those privileges from the console's role
when a clinic runs the console under a role that does not own the tables).  SQLite has no
roles; there the hash chain is what shows an edit.

Revision ID: 0008_audit_trail
Revises: 0007_session_type
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from console.storage.audit import (
    GENESIS_HASH,
    HEAD_ID,
    ROW_COLUMNS,
    SYSTEM_ACTOR,
    canonical_json,
    entry_content,
    entry_hash,
)
from console.storage.schema import UtcDateTime

revision = "0008_audit_trail"
down_revision: str | None = "0007_session_type"
branch_labels: str | None = None
depends_on: str | None = None

#: The PostgreSQL function and triggers that refuse changes to written entries.
PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_trail_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_trail is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_trail_no_update_delete BEFORE UPDATE OR DELETE ON audit_trail
    FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only();
CREATE TRIGGER audit_trail_no_truncate BEFORE TRUNCATE ON audit_trail
    FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_append_only();
"""


def upgrade() -> None:
    """Create the trail and its head, write the ``trail_started`` entry, and (PostgreSQL)
    make the trail append-only."""
    trail = op.create_table(
        "audit_trail",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target_table", sa.String(32), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("before_json", sa.Text(), nullable=False),
        sa.Column("after_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("ix_audit_trail_session", "audit_trail", ["session_id", "seq"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    conn = op.get_bind()
    existing = {
        table: int(conn.scalar(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0)
        for table in ROW_COLUMNS  # fixed table names, no input
    }
    values: dict[str, object] = {
        "seq": 1,
        "at": datetime.now(UTC),
        "actor": SYSTEM_ACTOR,
        "action": "trail_started",
        "target_table": "audit_trail",
        "target_id": None,
        "session_id": None,
        "before_json": canonical_json(None),
        "after_json": canonical_json({"existing_rows": existing}),
    }
    digest = entry_hash(GENESIS_HASH, entry_content(values))
    op.bulk_insert(trail, [{**values, "prev_hash": GENESIS_HASH, "hash": digest}])
    op.bulk_insert(head, [{"id": HEAD_ID, "seq": 1, "hash": digest}])
    if conn.dialect.name == "postgresql":
        op.execute(PG_APPEND_ONLY)


def downgrade() -> None:
    """Drop the trail (its entries are lost) and, on PostgreSQL, its triggers' function."""
    op.drop_table("audit_head")
    op.drop_index("ix_audit_trail_session", table_name="audit_trail")
    op.drop_table("audit_trail")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_trail_append_only()")
