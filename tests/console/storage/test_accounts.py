"""Accounts on both backends: first admin, admin-only changes, log-in, PIN, lockout with an
injectable clock, and no password in clear anywhere in the database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from console.domain.roles import Role, RoleRefusedError
from console.storage.accounts import (
    AccountError,
    AccountLockedError,
    AccountRepository,
    AuthError,
)
from console.storage.review import ReviewRepository
from tests.console.review.builders import build_session

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

#: Known secrets written below; none may appear anywhere in the database.
SECRETS = ("Adm1n-Secret-XYZ", "Nurse-Secret-QRS", "Doc-Secret-LMN", "New-Secret-TUV", "731942")


class FakeClock:
    """A settable UTC clock."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _setup(engine: Engine, clock: FakeClock | None = None) -> AccountRepository:
    accounts = AccountRepository(engine, clock=clock or FakeClock())
    admin = accounts.add_user("alice", Role.ADMIN, SECRETS[0], by=None, full_name="Alice Admin")
    accounts.add_user("bob", "nurse", SECRETS[1], by=admin, pin=SECRETS[4])
    accounts.add_user("carol", Role.PHYSICIAN, SECRETS[2], by=admin, full_name="Dr Carol Ng")
    return accounts


def test_the_first_account_is_an_admin_and_later_ones_need_one(migrated: Engine) -> None:
    accounts = AccountRepository(migrated)
    assert not accounts.has_accounts()
    with pytest.raises(AccountError, match="the first account must be an admin"):
        accounts.add_user("bob", Role.NURSE, SECRETS[1], by=None)
    assert not accounts.has_accounts()
    admin = accounts.add_user("alice", Role.ADMIN, SECRETS[0], by=None)
    assert accounts.has_accounts()
    with pytest.raises(AccountError, match="an admin must authenticate"):
        accounts.add_user("bob", Role.NURSE, SECRETS[1], by=None)
    nurse = accounts.add_user("bob", Role.NURSE, SECRETS[1], by=admin)
    with pytest.raises(RoleRefusedError, match=r"^user administration needs the admin role$"):
        accounts.add_user("eve", Role.ADMIN, SECRETS[2], by=nurse)
    with pytest.raises(AccountError, match="exists already"):
        accounts.add_user("bob", Role.QA, SECRETS[2], by=admin)
    with pytest.raises(AccountError, match="at least 8 characters"):
        accounts.add_user("dan", Role.QA, "short", by=admin)
    with pytest.raises(AccountError, match="unknown role"):
        accounts.add_user("dan", "doctor", SECRETS[2], by=admin)
    assert [(a.name, a.role) for a in accounts.list_users()] == [
        ("alice", Role.ADMIN),
        ("bob", Role.NURSE),
    ]


def test_log_in_pin_disable_and_password_change(migrated: Engine) -> None:
    accounts = _setup(migrated)
    carol = accounts.authenticate("carol", SECRETS[2])
    assert (carol.role, carol.printed_name) == (Role.PHYSICIAN, "Dr Carol Ng")
    with pytest.raises(AuthError, match=r"^wrong user name or password$"):
        accounts.authenticate("carol", SECRETS[1])
    with pytest.raises(AuthError, match=r"^wrong user name or password$"):
        accounts.authenticate("nobody", SECRETS[1])
    assert accounts.verify_pin("bob", SECRETS[4]).name == "bob"
    with pytest.raises(AuthError, match="wrong PIN"):
        accounts.verify_pin("bob", "000000")
    with pytest.raises(AuthError):
        accounts.verify_pin("carol", SECRETS[4])  # carol has no PIN
    admin = accounts.authenticate("alice", SECRETS[0])
    accounts.set_password("carol", SECRETS[3], by=admin)
    with pytest.raises(AuthError):
        accounts.authenticate("carol", SECRETS[2])
    assert accounts.authenticate("carol", SECRETS[3]).name == "carol"
    accounts.disable("bob", by=admin)
    with pytest.raises(AuthError, match="account bob is disabled"):
        accounts.authenticate("bob", SECRETS[1])
    with pytest.raises(AccountError, match="last enabled admin"):
        accounts.disable("alice", by=admin)
    with pytest.raises(RoleRefusedError, match="needs the admin role"):
        accounts.set_password("alice", SECRETS[3], by=carol)


@pytest.mark.expected_log("accounts", r"account carol locked until .* after 5 failed log-ins")
def test_five_wrong_passwords_lock_the_account_for_five_minutes(
    migrated: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    accounts = _setup(migrated, clock)
    caplog.set_level(logging.INFO, logger="accounts")
    for _ in range(4):
        with pytest.raises(AuthError) as info:
            accounts.authenticate("carol", "wrong-password")
        assert not isinstance(info.value, AccountLockedError)
        clock.now += timedelta(seconds=5)
    with pytest.raises(AccountLockedError, match="account carol is locked until"):
        accounts.authenticate("carol", "wrong-password")
    locked_at = clock.now
    # Locked: even the right password is refused, for 5 minutes.
    clock.now = locked_at + timedelta(minutes=4, seconds=59)
    with pytest.raises(AccountLockedError):
        accounts.authenticate("carol", SECRETS[2])
    with pytest.raises(AccountLockedError):
        accounts.verify_pin("carol", "1234")
    clock.now = locked_at + timedelta(minutes=5)
    assert accounts.authenticate("carol", SECRETS[2]).name == "carol"
    # The count restarted: four more failures do not lock.
    for _ in range(4):
        with pytest.raises(AuthError) as info:
            accounts.authenticate("carol", "wrong-password")
        assert not isinstance(info.value, AccountLockedError)
    # Logged and kept in the database.
    kinds = [kind for _at, _u, kind, _d in accounts.login_events("carol")]
    assert kinds == ["failed"] * 5 + ["locked", "refused", "refused"] + ["failed"] * 4
    assert any("locked until" in r.getMessage() for r in caplog.records if r.name == "accounts")
    other = AccountRepository(migrated, clock=clock)  # another console sees the same state
    assert other.user("carol") is not None


def test_a_successful_log_in_resets_the_count(migrated: Engine) -> None:
    accounts = _setup(migrated)
    for _ in range(4):
        with pytest.raises(AuthError):
            accounts.authenticate("bob", "wrong-password")
    accounts.authenticate("bob", SECRETS[1])
    for _ in range(4):
        with pytest.raises(AuthError) as info:
            accounts.authenticate("bob", "wrong-password")
        assert not isinstance(info.value, AccountLockedError)


def _dump_every_table(engine: Engine) -> str:
    """Every row of every table as text (a pg_dump-like SELECT *)."""
    meta = MetaData()
    meta.reflect(engine)
    out: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                out.append(repr(tuple(row)))
    return "\n".join(out)


@pytest.mark.expected_log("accounts", r"account bob locked until")
def test_no_password_or_pin_in_clear_in_the_database_or_the_log(
    migrated: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    accounts = _setup(migrated)
    admin = accounts.authenticate("alice", SECRETS[0])
    accounts.set_password("carol", SECRETS[3], by=admin)
    for wrong in [s for s in SECRETS if s != SECRETS[1]]:  # login_events: never the secret tried
        with pytest.raises(AuthError):
            accounts.authenticate("bob", wrong)
    built = build_session(migrated)
    ReviewRepository(migrated).sign_off(
        built.session_id, by="carol", password=SECRETS[3], note="fine"
    )
    with pytest.raises(AuthError):
        accounts.verify_pin("bob", "999999")  # the fifth failure: locked, and logged
    assert "locked until" in caplog.text
    for secret in SECRETS:
        assert secret not in caplog.text, f"{secret!r} logged"
    dump = _dump_every_table(migrated)
    assert "$argon2id$" in dump  # the hashes are there, and only they
    for secret in SECRETS:
        assert secret not in dump, f"{secret!r} stored in clear"
    url = migrated.url
    if url.get_backend_name() == "sqlite":
        migrated.dispose()
        raw = b"".join(
            p.read_bytes()
            for p in Path(str(url.database)).parent.iterdir()
            if p.name.startswith(Path(str(url.database)).name)  # the file, -wal, -shm
        )
        assert b"$argon2id$" in raw
        for secret in SECRETS:
            assert secret.encode() not in raw, f"{secret!r} in the SQLite file"
