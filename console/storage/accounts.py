"""Accounts: users with roles, argon2-hashed passwords and PINs, lockout (issue 16).

This is the Qt-free API every front end uses to know who is acting:

- :meth:`AccountRepository.has_accounts`: False on a database nobody has set up accounts on
  (the README's demo, every database made before issue 16).  Such a database works as before:
  names are typed, and a sign-off is labelled "unverified (no account)".
- :meth:`AccountRepository.authenticate` (name and password) and
  :meth:`AccountRepository.verify_pin` (name and PIN, for the shift's quick switch) return the
  :class:`Account` or raise :class:`AuthError` with one line to show.
- What the account may do is :func:`console.domain.roles.require` on ``account.role``.

Passwords and PINs are only ever hashed here (argon2id through argon2-cffi, salted, PHC string
format) and never logged.  Five wrong passwords (or PINs) in a row lock the account for five
minutes (console.domain.lockout); each failure and each lock goes to the log and to the
``login_events`` table.  The clock is injectable, so a test can let five minutes pass.

Audit trail: each administrative change is one method here (:meth:`add_user`,
:meth:`disable`, :meth:`set_password`, :meth:`set_pin`), and each appends its entry to the
hash-chained audit trail inside its own transaction (:func:`_audit`; never a secret).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from console.domain.lockout import MAX_FAILED_ATTEMPTS, LockState
from console.domain.roles import Action, Role, parse_role, require
from console.storage.audit import append_entry, lock_trail
from console.storage.schema import LoginEventRow, UserRow

log = logging.getLogger("accounts")

#: Shortest password accepted (a clinic's policy may ask for more; the console asks this much).
MIN_PASSWORD_LENGTH = 8
#: A PIN is digits only, this many.
PIN_LENGTHS = range(4, 9)

_HASHER = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so an unknown name costs the same time as a
    wrong password and timing does not tell which names exist.  Made on first use: a hash
    costs tens of milliseconds, which every start of the console would pay at import."""
    return _HASHER.hash("not a password of anyone")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AccountError(ValueError):
    """A refused account change (bad name, role or password; duplicate); one line."""


class AuthError(PermissionError):
    """A refused log-in; ``str()`` is the one line to show (never says which part was wrong)."""


class AccountLockedError(AuthError):
    """The account is locked after too many wrong passwords."""


@dataclass(frozen=True, slots=True)
class Account:
    """A user, without any secret."""

    id: int
    name: str
    full_name: str
    role: Role
    disabled: bool
    has_pin: bool
    locked_until: datetime | None
    created_at: datetime

    @property
    def printed_name(self) -> str:
        """The name a signature shows: the full name when one was given, else the log-in."""
        return self.full_name or self.name


def check_password(password: str) -> None:
    """Raise :class:`AccountError` for a password the console does not accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if password != password.strip() or "\n" in password:
        raise AccountError("a password cannot start or end with spaces or hold a line break")


def check_pin(pin: str) -> None:
    """Raise :class:`AccountError` for a PIN that is not 4 to 8 digits."""
    if not (pin.isascii() and pin.isdigit() and len(pin) in PIN_LENGTHS):
        raise AccountError("a PIN is 4 to 8 digits")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise AccountError("a user name is 1 to 64 characters without spaces")
    return name


_COLUMNS = (
    UserRow.id,
    UserRow.name,
    UserRow.full_name,
    UserRow.role,
    UserRow.disabled,
    UserRow.pin_hash,
    UserRow.locked_until,
    UserRow.created_at,
)


def _account(row: object) -> Account:
    r = row._mapping  # type: ignore[attr-defined]
    return Account(
        id=r["id"],
        name=r["name"],
        full_name=r["full_name"],
        role=Role(r["role"]),
        disabled=bool(r["disabled"]),
        has_pin=r["pin_hash"] is not None,
        locked_until=r["locked_until"],
        created_at=r["created_at"],
    )


class AccountRepository:
    """Users, roles and log-ins on one database (already migrated; the caller owns the engine).

    Args:
        engine: the database.
        clock: the current UTC time (tests let the lock run out with a fake one).
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.engine = engine
        self.clock = clock

    # -- reading -------------------------------------------------------------------------------
    def has_accounts(self) -> bool:
        """Whether accounts are set up (any user, even disabled): then every action needs one."""
        with self.engine.connect() as conn:
            return conn.scalar(select(func.count(UserRow.id))) != 0

    def list_users(self) -> list[Account]:
        """Every account by name (no secrets)."""
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(select(*_COLUMNS).order_by(UserRow.name))]

    def user(self, name: str) -> Account | None:
        """One account, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(UserRow.name == name)).one_or_none()
        return None if row is None else _account(row)

    # -- administration (each is one audit point) ----------------------------------------------
    def add_user(
        self,
        name: str,
        role: Role | str,
        password: str,
        *,
        by: Account | None,
        full_name: str = "",
        pin: str | None = None,
    ) -> Account:
        """Create an account.

        The first account of a database must be an admin and needs no ``by`` (nobody could
        authenticate yet); every later one needs ``by``, an authenticated admin.

        Raises:
            AccountError: bad name, role, password or PIN; the name exists; first not admin.
            RoleRefusedError: ``by`` is not an admin.
        """
        name = _check_name(name)
        try:
            role = parse_role(role) if isinstance(role, str) else role
        except ValueError as err:
            raise AccountError(str(err)) from None
        check_password(password)
        if pin is not None:
            check_pin(pin)
        password_hash = _HASHER.hash(password)
        pin_hash = None if pin is None else _HASHER.hash(pin)
        with self.engine.begin() as conn:
            lock_trail(conn)
            first = conn.scalar(select(func.count(UserRow.id))) == 0
            if first and role is not Role.ADMIN:
                raise AccountError(
                    f"the first account must be an admin (--role admin), not {role.value}"
                )
            if not first:
                self._require_admin(conn, by)
            try:
                conn.execute(
                    insert(UserRow).values(
                        name=name,
                        full_name=full_name.strip()[:128],
                        role=role.value,
                        password_hash=password_hash,
                        pin_hash=pin_hash,
                        disabled=False,
                        failed_attempts=0,
                        created_at=self.clock(),
                        created_by="" if by is None else by.name,
                    )
                )
            except IntegrityError:
                raise AccountError(f"a user named {name!r} exists already") from None
            _audit(
                conn,
                by.name if by else name,
                "user_added",
                name,
                role=role.value,
                full_name=full_name.strip()[:128],
                pin=pin is not None,
            )
        log.info("account %s added with role %s by %s", name, role.value, by.name if by else "-")
        account = self.user(name)
        assert account is not None
        return account

    def disable(self, name: str, *, by: Account) -> Account:
        """Disable an account (kept, so old records still name it; it can no longer log in).

        Raises:
            AccountError: no such user, or an admin disabling the last enabled admin.
            RoleRefusedError: ``by`` is not an admin.
        """
        with self.engine.begin() as conn:
            lock_trail(conn)
            self._require_admin(conn, by)
            target = self._row(conn, name)
            if target["role"] == Role.ADMIN.value and not target["disabled"]:
                admins = conn.scalar(
                    select(func.count(UserRow.id)).where(
                        UserRow.role == Role.ADMIN.value, UserRow.disabled.is_(False)
                    )
                )
                if admins == 1:
                    raise AccountError(f"{name} is the last enabled admin; add another first")
            conn.execute(update(UserRow).where(UserRow.name == name).values(disabled=True))
            _audit(conn, by.name, "user_disabled", name, disabled=True)
        log.info("account %s disabled by %s", name, by.name)
        account = self.user(name)
        assert account is not None
        return account

    def set_password(self, name: str, password: str, *, by: Account) -> None:
        """Set a new password (and lift a lock).

        Raises:
            AccountError: no such user or a password the console does not accept.
            RoleRefusedError: ``by`` is not an admin.
        """
        check_password(password)
        password_hash = _HASHER.hash(password)
        with self.engine.begin() as conn:
            lock_trail(conn)
            self._require_admin(conn, by)
            self._row(conn, name)
            conn.execute(
                update(UserRow)
                .where(UserRow.name == name)
                .values(password_hash=password_hash, failed_attempts=0, locked_until=None)
            )
            _audit(conn, by.name, "user_password_set", name)
        log.info("password of account %s changed by %s", name, by.name)

    def set_pin(self, name: str, pin: str | None, *, by: Account) -> None:
        """Set (or with None remove) the PIN of the quick switch: the user's own, or an admin's
        change of anyone's.

        Raises:
            AccountError: no such user or a PIN that is not 4 to 8 digits.
            RoleRefusedError: ``by`` is neither the user nor an admin.
        """
        if pin is not None:
            check_pin(pin)
        pin_hash = None if pin is None else _HASHER.hash(pin)
        with self.engine.begin() as conn:
            lock_trail(conn)
            if by.name != name:
                self._require_admin(conn, by)
            self._row(conn, name)
            conn.execute(update(UserRow).where(UserRow.name == name).values(pin_hash=pin_hash))
            _audit(conn, by.name, "user_pin_set" if pin else "user_pin_removed", name)
        log.info("PIN of account %s %s by %s", name, "set" if pin else "removed", by.name)

    # -- log-in --------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> Account:
        """The account when ``password`` is its password.

        Raises:
            AuthError: unknown name, wrong password or disabled account (one line that does
                not say which of name or password was wrong).
            AccountLockedError: locked after 5 wrong attempts (for 5 minutes).
        """
        return self._verify(name, password, "password")

    def verify_pin(self, name: str, pin: str) -> Account:
        """The account when ``pin`` is its PIN (the shift's quick switch); failures count
        towards the same lock as wrong passwords.

        Raises:
            AuthError: as :meth:`authenticate`, and for an account without a PIN.
            AccountLockedError: as :meth:`authenticate`.
        """
        return self._verify(name, pin, "PIN")

    def login_events(self, name: str | None = None) -> list[tuple[datetime, str, str, str]]:
        """(at, user, kind, detail) of failed and refused log-ins and lockouts, oldest first."""
        stmt = select(
            LoginEventRow.at, LoginEventRow.user_name, LoginEventRow.kind, LoginEventRow.detail
        ).order_by(LoginEventRow.at, LoginEventRow.id)
        if name is not None:
            stmt = stmt.where(LoginEventRow.user_name == name)
        with self.engine.connect() as conn:
            return [(r[0], r[1], r[2], r[3]) for r in conn.execute(stmt)]

    def _verify(self, name: str, secret: str, what: str) -> Account:
        now = self.clock()
        with self.engine.begin() as conn:
            outcome = self._check(conn, now, name, secret, what)
        # Raised after the commit: a refusal is counted and logged in the database even
        # though the caller gets an exception.
        if isinstance(outcome, AuthError):
            raise outcome
        return outcome

    def _check(
        self, conn: Connection, now: datetime, name: str, secret: str, what: str
    ) -> Account | AuthError:
        row = conn.execute(
            select(*_COLUMNS, UserRow.password_hash, UserRow.failed_attempts)
            .where(UserRow.name == name)
            .with_for_update()  # two consoles counting the same failures
        ).one_or_none()
        if row is None:
            _matches(_dummy_hash(), secret)
            self._event(conn, now, name, "failed", f"unknown user ({what})")
            log.info("log-in refused: unknown user %r", name[:64])
            return AuthError("wrong user name or password")
        r = row._mapping
        state = LockState(r["failed_attempts"], r["locked_until"]).current(now)
        if r["disabled"]:
            self._event(conn, now, name, "refused", "account disabled")
            log.info("log-in refused: account %s is disabled", name)
            return AuthError(f"account {name} is disabled")
        if state.locked_at(now):
            self._event(conn, now, name, "refused", "account locked")
            log.info("log-in refused: account %s is locked", name)
            return AccountLockedError(_locked_text(name, state))
        stored = r["password_hash"] if what == "password" else r["pin_hash"]
        mine = update(UserRow).where(UserRow.name == name)
        if stored is not None and _matches(stored, secret):
            if r["failed_attempts"] or r["locked_until"] is not None:
                conn.execute(mine.values(failed_attempts=0, locked_until=None))
            if what == "password" and _HASHER.check_needs_rehash(stored):
                conn.execute(mine.values(password_hash=_HASHER.hash(secret)))
            return _account(row)
        after = state.after_failure(now)
        conn.execute(
            mine.values(failed_attempts=after.failed_attempts, locked_until=after.locked_until)
        )
        detail = f"wrong {what}" if stored is not None else "no PIN set"
        self._event(conn, now, name, "failed", f"{detail} ({after.failed_attempts} in a row)")
        log.info("log-in refused: %s for account %s", detail, name)
        if after.locked_at(now):
            self._event(conn, now, name, "locked", f"locked until {after.locked_until}")
            log.warning(
                "account %s locked until %s after %d failed log-ins",
                name,
                after.locked_until,
                after.failed_attempts,
            )
            return AccountLockedError(_locked_text(name, after))
        return AuthError("wrong user name or password" if what == "password" else "wrong PIN")

    # -- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _event(conn: Connection, at: datetime, name: str, kind: str, detail: str) -> None:
        conn.execute(
            insert(LoginEventRow).values(at=at, user_name=name[:64], kind=kind, detail=detail)
        )

    @staticmethod
    def _row(conn: Connection, name: str) -> dict[str, object]:
        row = conn.execute(
            select(UserRow.name, UserRow.role, UserRow.disabled).where(UserRow.name == name)
        ).one_or_none()
        if row is None:
            raise AccountError(f"no user named {name!r}")
        return dict(row._mapping)

    @staticmethod
    def _require_admin(conn: Connection, by: Account | None) -> None:
        """``by`` must be an admin, enabled now (read again: it may have changed since the
        log-in)."""
        if by is None:
            raise AccountError("accounts exist: an admin must authenticate (--user ADMIN)")
        row = conn.execute(
            select(UserRow.role, UserRow.disabled).where(UserRow.id == by.id)
        ).one_or_none()
        if row is None or row[1]:
            raise AccountError(f"account {by.name} is disabled or gone")
        require(Role(row[0]), Action.USERS)


def _matches(stored: str, secret: str) -> bool:
    try:
        return _HASHER.verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _locked_text(name: str, state: LockState) -> str:
    until = state.locked_until
    assert until is not None
    local = until.astimezone().strftime("%H:%M:%S")
    return f"account {name} is locked until {local} after {MAX_FAILED_ATTEMPTS} failed log-ins"


def _audit(conn: Connection, actor: str, action: str, name: str, **after: object) -> None:
    """User administration in the audit trail (issue 16), in the change's own transaction.
    Never a password, a PIN or a hash: only who did what to which account."""
    append_entry(
        conn,
        actor=actor,
        action=action,
        target_table="users",
        target_id=conn.scalar(select(UserRow.id).where(UserRow.name == name)),
        after={"name": name, **after},
    )
