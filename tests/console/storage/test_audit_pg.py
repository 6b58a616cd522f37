"""PostgreSQL: the audit trail is append-only at the database level (issue 16).

Migration 0006's trigger refuses UPDATE, DELETE and TRUNCATE of ``audit_trail`` for every role,
the owner included; ``resources/sql/audit_append_only.sql`` (what a clinic runs for its console
role) also takes those privileges from the console's role, which can still append.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from console.storage.audit import append_entry
from console.storage.audit_verify import verify
from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.schema import AuditEntryRow
from tests.conftest import PG_REQUIRED_ENV, pg_url_or_skip, wipe

ROOT = Path(__file__).resolve().parents[3]
SQL_FILE = ROOT / "resources" / "sql" / "audit_append_only.sql"

pytestmark = pytest.mark.postgres

#: How CI's PostgreSQL gives the test's role the right to make the console role it checks.
CREATEROLE_HINT = "as postgres: ALTER ROLE app CREATEROLE"


@pytest.fixture
def pg() -> Iterator[Engine]:
    """A freshly migrated PostgreSQL database."""
    engine = make_engine(pg_url_or_skip())
    wipe(engine)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def _refused(conn: Connection, sql: str) -> str:
    """The database's error for ``sql`` (which must fail), rolled back to a savepoint."""
    with pytest.raises(DBAPIError) as info, conn.begin_nested():
        conn.execute(text(sql))
    return str(info.value.orig)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_trail SET actor = 'x'",
        "DELETE FROM audit_trail",
        "TRUNCATE audit_trail",
    ],
)
def test_the_trigger_refuses_changes_to_written_entries(pg: Engine, sql: str) -> None:
    with pg.begin() as conn:
        append_entry(conn, actor="nurse Ann", action="test", target_table="x")
    with pg.begin() as conn:
        error = _refused(conn, sql)
    assert "audit_trail is append-only" in error
    with pg.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditEntryRow)) == 2
        assert verify(conn).entries == 2


def _apply_sql_file(engine: Engine, role: str) -> None:
    """Run the clinic's SQL file as written: with psql when installed (CI has it), else with
    psql's ``:"console_role"`` interpolation done here."""
    psql = shutil.which("psql")
    if psql is not None:
        url = make_url(engine.url).set(drivername="postgresql")
        subprocess.run(
            [
                psql,
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-v",
                f"console_role={role}",
                "-f",
                str(SQL_FILE),
                url.render_as_string(hide_password=False),
            ],
            check=True,
            capture_output=True,
            timeout=60,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        return
    script = SQL_FILE.read_text(encoding="utf-8").replace(':"console_role"', f'"{role}"')
    statements = [
        s.strip()
        for s in "\n".join(
            line for line in script.splitlines() if not line.lstrip().startswith("--")
        ).split(";")
    ]
    with engine.begin() as conn:
        for statement in filter(None, statements):
            conn.execute(text(statement))


def test_the_console_role_can_append_but_not_update_or_delete(pg: Engine) -> None:
    role = f"infusion_audit_test_{uuid.uuid4().hex[:8]}"
    try:
        with pg.begin() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
            # A member may SET ROLE to it (a superuser may anyway; CI's role is none).
            conn.execute(text(f'GRANT "{role}" TO CURRENT_USER'))
    except DBAPIError as err:
        if "permission denied" not in str(err.orig):
            raise
        message = f"the test's database role needs CREATEROLE ({CREATEROLE_HINT})"
        if os.environ.get(PG_REQUIRED_ENV):
            pytest.fail(message)
        pytest.skip(message)
    try:
        _apply_sql_file(pg, role)
        with pg.connect() as conn:
            conn.execute(text(f'SET ROLE "{role}"'))  # for the session, beyond this transaction
            conn.commit()
            with conn.begin():
                append_entry(conn, actor="nurse Ann", action="test", target_table="x", after=1)
            with conn.begin():
                for sql in (
                    "UPDATE audit_trail SET actor = 'x'",
                    "DELETE FROM audit_trail",
                    "TRUNCATE audit_trail",
                ):
                    error = _refused(conn, sql)
                    assert "permission denied for table audit_trail" in error, error
            conn.execute(text("RESET ROLE"))
            assert verify(conn).entries == 2
            conn.commit()
    finally:
        with pg.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
