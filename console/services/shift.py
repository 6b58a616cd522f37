"""Who is at the console now: the shift's log-in, the lock, and DEMO (issue 16).

Monitoring never waits for a log-in: the chairs acquire and alarm from the first second, and
this object only decides *who is credited* with what is done at the console and *whether* the
workflow may be used.  Its states:

- ``CHECKING``: at start, until the database worker has said whether accounts exist (the
  screen counts as locked meanwhile);
- ``DEMO``: a database without accounts and only simulated chairs (the README's first
  command): actions are credited to the typed name, and every screen says DEMO;
- ``SETUP``: a database without accounts but a real monitor: the administrator must be
  created first; locked until then;
- ``LOCKED``: accounts exist and nobody is logged in (start, idle lock, Lock);
- ``OPEN``: :attr:`Shift.user` is logged in and credited with every action.

Acknowledge and audio pause always work (a locked screen must never keep an alarm from being
answered); locked, they are credited to ``locked console STATION`` where STATION is the
host name (:func:`station_name`): one name for the whole console, whichever chair alarmed.

Every account call runs on the shift's own :class:`DatabaseTasks` worker, never on the GUI
thread; results come back through callbacks (or :meth:`DatabaseTasks.call` inside a dialog's
accept, which keeps the event loop turning).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from console.domain.session import IllegalTransitionError
from console.services.account_access import (
    Account,
    AccountRepository,
    Action,
    AuthError,
    Role,
    refusal,
)
from console.services.db_tasks import DatabaseTasks, TasksClosedError

log = logging.getLogger("accounts")

#: How soon accounts are asked again after the database did not answer at start (ms).
RECHECK_MS = 5_000
#: The credit of a DEMO console's actions when no name was typed.
DEMO_CREDIT = "demo"


def station_name() -> str:
    """The console's name in the credit of a locked screen's acknowledge: the host name
    (the same for every chair of the console; "console" when the host has none)."""
    return socket.gethostname() or "console"


class ShiftState(enum.Enum):
    """See the module docstring."""

    CHECKING = "checking"
    DEMO = "demo"
    SETUP = "setup"
    LOCKED = "locked"
    OPEN = "open"


class Shift(QObject):
    """The console's log-in state; see the module docstring.

    Args:
        accounts: the accounts of the console's database.
        all_simulated: every chair is simulated (a database without accounts is then a DEMO).
        station: the name a locked console's acknowledges are credited to.

    Signals:
        sig_changed(): the state or the user changed.
    """

    sig_changed = Signal()

    def __init__(
        self,
        accounts: AccountRepository,
        *,
        all_simulated: bool,
        station: str | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.accounts = accounts
        self.all_simulated = all_simulated
        self.station = station or station_name()
        self.state = ShiftState.CHECKING
        self.user: Account | None = None
        #: Why the accounts could not be checked at start (database unreachable), if so.
        self.problem = ""
        self.tasks = DatabaseTasks("db-accounts", self)

    # -- start -----------------------------------------------------------------------------
    def start(self) -> None:
        """Ask the worker whether accounts exist; the answer sets DEMO, SETUP or LOCKED."""
        self.tasks.submit(self.accounts.has_accounts, self._on_checked, self._on_check_failed)

    def _on_checked(self, has_accounts: bool) -> None:
        self.problem = ""
        if has_accounts:
            self._set(ShiftState.LOCKED)
        elif self.all_simulated:
            self._set(ShiftState.DEMO)
        else:
            self._set(ShiftState.SETUP)

    def _on_check_failed(self, err: BaseException) -> None:
        # Locked, not DEMO: a clinic's database that did not answer must not open the workflow
        # to anyone.  Alarms still work; a log-in asks again.
        self.problem = f"accounts not checked: {str(err).splitlines()[0]}"
        # INFO: the unreachable database is the storage's error, logged (and shown) there.
        log.info("shift: %s; asking again in %g s", self.problem, RECHECK_MS / 1000)
        self._set(ShiftState.LOCKED)
        QTimer.singleShot(RECHECK_MS, self, self._recheck)

    def _recheck(self) -> None:
        if self.problem and self.state is ShiftState.LOCKED:
            with contextlib.suppress(TasksClosedError):  # shutting down
                self.start()

    # -- what the screens ask --------------------------------------------------------------
    @property
    def locked(self) -> bool:
        """Whether the workflow waits for a log-in."""
        return self.state in (ShiftState.CHECKING, ShiftState.SETUP, ShiftState.LOCKED)

    @property
    def demo(self) -> bool:
        """A DEMO console (no accounts, only simulated chairs)."""
        return self.state is ShiftState.DEMO

    def credit(self) -> str | None:
        """Whom an action at the console is credited to: the logged-in user, or
        ``locked console STATION``; None in DEMO (the typed name is used)."""
        if self.state is ShiftState.DEMO:
            return None
        if self.state is ShiftState.OPEN and self.user is not None:
            return self.user.name
        return f"locked console {self.station}"

    def refusal(self, action: Action) -> str | None:
        """None when ``action`` may be done now, else the one line saying why not."""
        if self.state is ShiftState.DEMO:
            return None
        if self.state is ShiftState.OPEN and self.user is not None:
            return refusal(self.user.role, action)
        if self.state is ShiftState.SETUP:
            return "the screen is locked until the administrator is created"
        return "the screen is locked: log in first (Ctrl+L)"

    # -- changes ---------------------------------------------------------------------------
    def lock(self) -> None:
        """Lock now (idle time, or the user's Lock): the user is logged out."""
        if self.state is ShiftState.OPEN:
            log.info("console locked (user %s)", self.user.name if self.user else "-")
            self.user = None
            self._set(ShiftState.LOCKED)

    def log_in(
        self,
        name: str,
        password: str,
        on_error: Callable[[str], None],
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        """Check ``name`` and ``password`` on the worker; logged in, ``on_done()``, else
        ``on_error(line)`` with the accounts module's own line (lockout included)."""
        self._ask(lambda: self.accounts.authenticate(name.strip(), password), on_error, on_done)

    def switch(
        self,
        name: str,
        secret: str,
        on_error: Callable[[str], None],
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        """The quick switch: ``name`` and PIN (the password for a user without a PIN)."""

        who = name.strip()

        def check() -> Account:
            account = self.accounts.user(who)
            if account is not None and not account.has_pin:
                return self.accounts.authenticate(who, secret)
            return self.accounts.verify_pin(who, secret)

        self._ask(check, on_error, on_done)

    def set_own_pin(
        self,
        password: str,
        pin: str,
        on_error: Callable[[str], None],
        on_done: Callable[[], None],
    ) -> None:
        """The logged-in user sets their own PIN, after giving their password again."""
        user = self.user
        if user is None:
            on_error("log in first")
            return

        def change() -> Account:
            account = self.accounts.authenticate(user.name, password)
            self.accounts.set_pin(account.name, pin, by=account)
            found = self.accounts.user(account.name)
            assert found is not None
            return found

        self._ask(change, on_error, on_done)

    def create_admin(
        self,
        name: str,
        printed_name: str,
        password: str,
        on_error: Callable[[str], None],
        on_done: Callable[[], None],
    ) -> None:
        """First start with a real monitor: create the administrator and log them in."""

        def create() -> Account:
            return self.accounts.add_user(
                name, Role.ADMIN, password, by=None, full_name=printed_name
            )

        self._ask(create, on_error, on_done)

    def countersign(self, name: str, password: str, action: Action) -> str:
        """A physician's name and password typed into an override dialog, in a nurse's shift
        (no user switch): the verified account's name to record.

        Runs on the worker while the GUI's event loop turns (a dialog's accept).  In DEMO
        (no accounts) the typed name is recorded unchecked, as before accounts existed.

        Raises:
            IllegalTransitionError: wrong name or password, locked, or not the role ``action``
                needs; the dialog shows the line and keeps what was typed.
        """
        if self.state is ShiftState.DEMO:
            return name.strip()  # no accounts to check against: the typed name, as before
        try:
            account = self.tasks.call(lambda: self.accounts.authenticate(name.strip(), password))
        except AuthError as err:
            raise IllegalTransitionError(str(err)) from None
        why = refusal(account.role, action)
        if why is not None:
            raise IllegalTransitionError(f"{why} ({account.name} is {account.role.value})")
        return account.name

    # -- helpers ---------------------------------------------------------------------------
    def _ask(
        self,
        work: Callable[[], Account],
        on_error: Callable[[str], None],
        on_done: Callable[[], None],
    ) -> None:
        def done(account: Account) -> None:
            self.user = account
            self.problem = ""
            log.info("user %s (%s) at the console", account.name, account.role.value)
            self._set(ShiftState.OPEN)
            on_done()

        def failed(err: BaseException) -> None:
            if isinstance(err, (AuthError, ValueError)):
                on_error(str(err))  # the accounts module's own line (AccountError: ValueError)
            else:
                on_error(f"the database cannot be reached: {str(err).splitlines()[0]}")

        self.tasks.submit(work, done, failed)

    def _set(self, state: ShiftState) -> None:
        self.state = state
        self.sig_changed.emit()

    def close(self) -> None:
        """Finish the worker's calls (shutdown)."""
        self.tasks.close()
