"""Accounts, log-in events, the electronic signature, and signed records made immutable.

- ``users``: name, role, argon2 hashes of the password and optional PIN, lockout state.
- ``login_events``: failed log-ins and lockouts (also logged).
- ``session_reviews`` gains the signature's printed name, its meaning and whether it was
  verified against an account.  Existing rows were typed names: ``verified`` false.
- Triggers make a signed record immutable in the database itself, whoever writes: once a
  session has a ``sign_off`` row, its ``events`` and ``discharge_checks`` accept no insert,
  update or delete, and no ``session_reviews`` row is ever updated or deleted.  Anything later
  is an addendum (a new ``session_reviews`` row).  In the database rather than in Python
  because the console's writer, a replayed journal and any other tool all reach these tables;
  a refused row is set aside by the writer like any other refused row, never dropped.

Revision ID: 0005_accounts
Revises: 0004_session_profile
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.storage.schema import UtcDateTime

revision = "0005_accounts"
down_revision: str | None = "0004_session_profile"
branch_labels: str | None = None
depends_on: str | None = None

#: The message the triggers raise (tests and the writer's log show it).
SIGNED_MESSAGE = "the session record is signed: changes are refused, add an addendum instead"
REVIEW_MESSAGE = "a sign-off or addendum is never changed: add an addendum instead"

_GUARDED = ("events", "discharge_checks")
_OPS = ("insert", "update", "delete")


def _sqlite_triggers() -> list[str]:
    out: list[str] = []
    for table in _GUARDED:
        for op_name in _OPS:
            row = "NEW" if op_name == "insert" else "OLD"
            out.append(
                f"CREATE TRIGGER {table}_signed_{op_name} BEFORE {op_name.upper()} ON {table} "
                f"WHEN EXISTS (SELECT 1 FROM session_reviews WHERE session_id = {row}.session_id"
                f" AND kind = 'sign_off') BEGIN SELECT RAISE(ABORT, '{SIGNED_MESSAGE}'); END"
            )
    for op_name in ("update", "delete"):
        out.append(
            f"CREATE TRIGGER session_reviews_no_{op_name} BEFORE {op_name.upper()} ON "
            f"session_reviews BEGIN SELECT RAISE(ABORT, '{REVIEW_MESSAGE}'); END"
        )
    return out


def _pg_statements() -> list[str]:
    # ERRCODE 23000 (integrity_constraint_violation): the writer treats it as "refused", not as
    # "database unavailable", and sets the rows aside.
    out = [
        "CREATE OR REPLACE FUNCTION refuse_signed_change() RETURNS trigger AS $$\n"
        "DECLARE sid integer;\n"
        "BEGIN\n"
        "  IF TG_OP = 'INSERT' THEN sid := NEW.session_id; ELSE sid := OLD.session_id; END IF;\n"
        "  IF EXISTS (SELECT 1 FROM session_reviews WHERE session_id = sid"
        " AND kind = 'sign_off') THEN\n"
        f"    RAISE EXCEPTION '{SIGNED_MESSAGE}' USING ERRCODE = '23000';\n"
        "  END IF;\n"
        "  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;\n"
        "  RETURN NEW;\n"
        "END $$ LANGUAGE plpgsql",
        "CREATE OR REPLACE FUNCTION refuse_review_change() RETURNS trigger AS $$\n"
        f"BEGIN RAISE EXCEPTION '{REVIEW_MESSAGE}' USING ERRCODE = '23000'; END $$"
        " LANGUAGE plpgsql",
    ]
    for table in _GUARDED:
        out.append(
            f"CREATE TRIGGER {table}_signed BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_signed_change()"
        )
    out.append(
        "CREATE TRIGGER session_reviews_no_change BEFORE UPDATE OR DELETE ON session_reviews "
        "FOR EACH ROW EXECUTE FUNCTION refuse_review_change()"
    )
    return out


def upgrade() -> None:
    """Create ``users`` and ``login_events``, add the signature columns, add the triggers."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("full_name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("pin_hash", sa.String(256), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "login_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("user_name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(256), nullable=False),
    )
    op.create_index("ix_login_events_user_time", "login_events", ["user_name", "at"])
    with op.batch_alter_table("session_reviews") as batch:
        batch.add_column(
            sa.Column("printed_name", sa.String(128), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column(
                "meaning",
                sa.String(64),
                nullable=False,
                server_default="reviewed and approved",
            )
        )
        batch.add_column(
            sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    statements = _pg_statements() if op.get_bind().dialect.name == "postgresql" else None
    for sql in statements if statements is not None else _sqlite_triggers():
        op.execute(sql)


def downgrade() -> None:
    """Drop the triggers, the signature columns and the account tables (accounts are lost)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in _GUARDED:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_signed ON {table}")
        op.execute("DROP TRIGGER IF EXISTS session_reviews_no_change ON session_reviews")
        op.execute("DROP FUNCTION IF EXISTS refuse_signed_change()")
        op.execute("DROP FUNCTION IF EXISTS refuse_review_change()")
    else:
        for table in _GUARDED:
            for op_name in _OPS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_signed_{op_name}")
        for op_name in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS session_reviews_no_{op_name}")
    with op.batch_alter_table("session_reviews") as batch:
        batch.drop_column("verified")
        batch.drop_column("meaning")
        batch.drop_column("printed_name")
    op.drop_index("ix_login_events_user_time", table_name="login_events")
    op.drop_table("login_events")
    op.drop_table("users")
