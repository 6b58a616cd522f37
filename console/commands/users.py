"""``infusion-console users``: the accounts of a database (issue 16), headless.

Contracts (QA automation depends on them)::

    infusion-console users add NAME --role {nurse,physician,qa,admin} [--user ADMIN] [--db URL]
    infusion-console users list [--user ADMIN] [--db URL]
    infusion-console users disable NAME [--user ADMIN] [--db URL]
    infusion-console users passwd NAME [--user ADMIN] [--db URL]

The new password (``add``, ``passwd``) is one line of standard input when it is not a
terminal, else typed twice at a getpass prompt.  On a database without accounts the first
``add`` creates an admin (any other role is refused) and needs no ``--user``; after that every
subcommand needs ``--user ADMIN``, whose password comes from ``INFUSION_CONSOLE_PASSWORD`` or a
prompt.  Errors are one line and exit code 2.  No password is ever printed or logged.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from datetime import datetime

from console.commands.errors import CommandError
from console.commands.login import PASSWORD_ENV, log_in
from console.commands.sessions import add_db_option, run_command, with_repository
from console.domain.roles import Action, Role
from console.storage.accounts import Account, AccountError, AccountRepository
from console.storage.repository import SessionRepository
from devices.cli_parser import OneLineParser

PROG = "infusion-console users"


def _user_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        metavar="ADMIN",
        help=f"an admin account (password from {PASSWORD_ENV} or a prompt); not needed for "
        "the first admin of a database without accounts",
    )
    add_db_option(parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``users`` command line (one subparser per action)."""
    parser = OneLineParser(prog=PROG, description="Manage the console's accounts and roles.")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser(
        "add",
        help="add an account (the password from standard input, or typed twice)",
        description="Add an account.  The first account of a database must be an admin.",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument(
        "--full-name", metavar="TEXT", default="", help="printed name on signatures (default NAME)"
    )
    _user_option(add)
    listing = sub.add_parser("list", help="list the accounts")
    listing.add_argument("--json", action="store_true", help="print a JSON list instead")
    _user_option(listing)
    disable = sub.add_parser("disable", help="disable an account (it is kept, never deleted)")
    disable.add_argument("name", metavar="NAME")
    _user_option(disable)
    passwd = sub.add_parser("passwd", help="set an account's password (and lift a lock)")
    passwd.add_argument("name", metavar="NAME")
    _user_option(passwd)
    return parser


def read_new_password(name: str) -> str:
    """The new password: one line of a non-terminal standard input, else typed twice.

    Raises:
        CommandError: nothing on standard input, or the two typed passwords differ.
    """
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CommandError(f"no password for {name} on standard input (one line)")
        return line.rstrip("\r\n")
    try:
        first = getpass.getpass(f"new password of {name}: ")
        second = getpass.getpass(f"new password of {name} again: ")
    except (EOFError, KeyboardInterrupt):
        raise CommandError("no password given") from None
    if first != second:
        raise CommandError("the two passwords differ; nothing was changed")
    return first


def _status(a: Account, now: datetime) -> str:
    if a.disabled:
        return "disabled"
    if a.locked_until is not None and now < a.locked_until:
        return f"locked until {a.locked_until.astimezone():%H:%M:%S}"
    return "active"


def _print_list(accounts: AccountRepository, as_json: bool) -> None:
    users = accounts.list_users()
    now = accounts.clock()
    if as_json:
        out = [
            {
                "name": a.name,
                "full_name": a.full_name,
                "role": a.role.value,
                "status": _status(a, now),
                "pin": a.has_pin,
                "created": a.created_at.isoformat(),
            }
            for a in users
        ]
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return
    rows = [("NAME", "ROLE", "STATUS", "FULL NAME")] + [
        (a.name, a.role.value, _status(a, now), a.full_name or "-") for a in users
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        sys.stdout.write("\n")


def _act(args: argparse.Namespace, accounts: AccountRepository) -> int:
    if args.action == "add":
        if not accounts.has_accounts():
            if args.role != Role.ADMIN.value:
                raise CommandError(
                    f"this database has no accounts yet: the first must be an admin "
                    f"(--role admin), not {args.role}"
                )
            admin = None
        else:
            admin = log_in(accounts.engine, args.user, "users add", Action.USERS)
        password = read_new_password(args.name)
        account = accounts.add_user(
            args.name, args.role, password, by=admin, full_name=args.full_name
        )
        sys.stderr.write(f"added {account.name} ({account.role.value})\n")
        return 0
    if not accounts.has_accounts():
        if args.action == "list":
            _print_list(accounts, args.json)
            return 0
        raise CommandError(
            "this database has no accounts: add the first admin with 'users add NAME --role admin'"
        )
    admin = log_in(accounts.engine, args.user, f"users {args.action}", Action.USERS)
    assert admin is not None
    if args.action == "list":
        _print_list(accounts, args.json)
    elif args.action == "disable":
        accounts.disable(args.name, by=admin)
        sys.stderr.write(f"disabled {args.name}\n")
    else:
        if accounts.user(args.name) is None:
            raise CommandError(f"no user named {args.name!r}")
        accounts.set_password(args.name, read_new_password(args.name), by=admin)
        sys.stderr.write(f"password of {args.name} changed\n")
    return 0


def main(argv: Sequence[str]) -> int:
    """Entry point of ``infusion-console users``; returns the exit code."""
    args = build_parser().parse_args(list(argv))

    def act(repo: SessionRepository) -> int:
        try:
            return _act(args, AccountRepository(repo.engine))
        except (AccountError, PermissionError) as err:
            raise CommandError(str(err)) from None

    def body() -> int:
        # Only the first ``add`` may create the database (setting up a new clinic).
        return with_repository(args.db, act, create=args.action == "add")

    return run_command(PROG, body)
