"""Who runs a headless command, on a database with accounts (issue 16).

``run``, ``sessions``, ``export``, ``review`` and ``users`` take ``--user NAME``; the password
comes from ``INFUSION_CONSOLE_PASSWORD`` or, on a terminal, a getpass prompt.  A database
without accounts needs neither (the commands work as before).  Every refusal is one line and
exit code 2 (:class:`~console.commands.errors.CommandError`), so QA automation can tell a
missing or wrong log-in from a failed run (exit 1).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlalchemy.engine import Engine

from console.commands.errors import CommandError
from console.domain.roles import Action, refusal
from console.storage.accounts import Account, AccountRepository, AuthError

#: The environment variable holding the ``--user`` account's password (for automation).
PASSWORD_ENV = "INFUSION_CONSOLE_PASSWORD"


def add_user_option(parser: argparse.ArgumentParser) -> None:
    """The shared ``--user NAME`` option."""
    parser.add_argument(
        "--user",
        metavar="NAME",
        help=f"account to act as, on a database with accounts (password from {PASSWORD_ENV} "
        "or a prompt)",
    )


def read_password(prompt: str) -> str:
    """The ``--user`` password: ``INFUSION_CONSOLE_PASSWORD``, else a prompt on a terminal.

    Never read from a standard input that is not a terminal: ``users add`` reads the new
    user's password there, and getpass would silently take it instead.

    Raises:
        CommandError: no variable and no terminal.
    """
    secret = os.environ.get(PASSWORD_ENV)
    if secret is not None:
        return secret
    if not sys.stdin.isatty():
        raise CommandError(f"no password: set {PASSWORD_ENV} or run on a terminal to type it")
    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        raise CommandError("no password given") from None


def log_in(
    engine: Engine, user: str | None, command: str, need: Action | None = None
) -> Account | None:
    """Authenticate ``--user`` on a database with accounts; None on one without.

    Args:
        engine: the database (migrated).
        user: the ``--user`` value.
        command: the command's name for the messages ("run", "sessions").
        need: the action the account's role must allow (``run`` needs the qa role).

    Raises:
        CommandError: accounts exist and no ``--user``; wrong password; locked or disabled
            account; a role without ``need``.
    """
    accounts = AccountRepository(engine)
    if not accounts.has_accounts():
        return None
    if not user:
        raise CommandError(
            f"this database has accounts: {command} needs --user NAME "
            f"(password from {PASSWORD_ENV} or a prompt)"
        )
    password = read_password(f"password of {user}: ")
    try:
        account = accounts.authenticate(user, password)
    except AuthError as err:
        raise CommandError(str(err)) from None
    if need is not None:
        why = refusal(account.role, need)
        if why is not None:
            raise CommandError(f"{command}: {why} ({account.name} is {account.role.value})")
    return account
