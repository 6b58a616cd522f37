"""``python main.py sessions``: list the stored sessions (headless, no Qt).

Output is a fixed-width table for people, or ``--json`` (a list of objects, times in ISO 8601
UTC) for scripts.  Any problem with the database is one line on stderr and exit code 2, so a
nightly script can tell "no database" from "no sessions".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from console.commands.errors import EXIT_USAGE, CommandError
from console.commands.login import add_user_option, log_in
from console.config import DB_OPTION, ConfigError, load
from console.storage.engine import StorageConfigError, describe_url, make_engine
from console.storage.repository import SessionRepository, SessionSummary
from devices.cli_parser import OneLineParser

T = TypeVar("T")


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """The shared ``--db URL`` option (default: the GUI's database)."""
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy database URL (default: the console's own database, as the GUI uses: "
        "INFUSION_CONSOLE_DB_URL or SQLite in the per-user data directory)",
    )


def with_repository(
    db: str | None,
    work: Callable[[SessionRepository], T],
    *,
    login: Callable[[SessionRepository], object] | None = None,
    create: bool = False,
) -> T:
    """Open the database (migrated to this console's schema), run ``work``, close it.

    A SQLite file that does not exist is an error: a read-only command never creates one
    (``create``: a command that sets up a new clinic's database, the first ``users add``).
    ``login`` runs first, on the migrated database (console.commands.login: ``--user``).

    Raises:
        CommandError: bad URL, missing or unreachable database, or a database newer than
            this console.
    """
    try:
        url = load(overrides={"storage.db_url": db}, option_names=DB_OPTION).db_url
    except ConfigError as err:
        raise CommandError(f"configuration error: {err}") from None
    try:
        engine = make_engine(url, create=create)  # reading never creates an empty database
    except StorageConfigError as err:
        raise CommandError(f"database error: {err}") from None
    try:
        repo = SessionRepository(engine)
        repo.upgrade()
        if login is not None:
            login(repo)
        return work(repo)
    except StorageConfigError as err:
        raise CommandError(f"database error: {err}") from None
    except SQLAlchemyError as err:
        detail = str(getattr(err, "orig", None) or err).strip().splitlines()
        raise CommandError(
            f"cannot use the database {describe_url(url)}: {detail[0] if detail else err}"
        ) from None
    finally:
        engine.dispose()


def run_command(prog: str, body: Callable[[], int]) -> int:
    """Run ``body``; a :class:`CommandError` becomes one stderr line and exit code 2."""
    try:
        return body()
    except CommandError as err:
        sys.stderr.write(f"{prog}: {err}\n")
        return EXIT_USAGE


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def summary_dict(s: SessionSummary) -> dict[str, Any]:
    """One session as a JSON-able object (the ``--json`` format)."""
    return {
        "id": s.id,
        "patient": s.patient,
        "series_number": s.series_number,
        "chair": s.chair,
        "started": _iso(s.started_at),
        "ended": _iso(s.ended_at),
        "phase": s.phase,
        "simulated": s.simulated,
        "resumed": s.resumed,
        "device": s.device_kind,
        "readings": s.readings,
        "alarms": s.alarms,
    }


COLUMNS = (
    ("ID", "id"),
    ("PATIENT", "patient"),
    ("CHAIR", "chair"),
    ("STARTED", "started"),
    ("ENDED", "ended"),
    ("PHASE", "phase"),
    ("SIM", "simulated"),
    ("READINGS", "readings"),
    ("ALARMS", "alarms"),
)


def format_table(sessions: Sequence[SessionSummary]) -> str:
    """The human table: one line per session, times in UTC to the second."""

    def cell(d: dict[str, Any], key: str) -> str:
        value = d[key]
        if key in ("started", "ended"):
            return "-" if value is None else str(value)[:19].replace("T", " ")
        if key == "simulated":
            return "yes" if value else "no"
        if key == "patient":
            return "-" if value is None else str(value)
        return str(value)

    rows = [[cell(summary_dict(s), key) for _h, key in COLUMNS] for s in sessions]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, (h, _k) in enumerate(COLUMNS)]
    lines = ["  ".join(h.ljust(w) for (h, _k), w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """The ``sessions`` command line."""
    parser = OneLineParser(
        prog="infusion-console sessions",
        description="List stored sessions, newest first (times in UTC).",
    )
    add_db_option(parser)
    add_user_option(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list instead")
    parser.add_argument("--chair", metavar="NAME", help="only this chair's sessions")
    parser.add_argument(
        "--unfinished", action="store_true", help="only sessions that were never ended"
    )
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``infusion-console sessions``; returns the exit code."""
    args = build_parser().parse_args(list(argv))

    def body() -> int:
        sessions = with_repository(
            args.db,
            lambda repo: repo.list_sessions(),
            login=lambda repo: log_in(repo.engine, args.user, "sessions"),
        )
        if args.chair is not None:
            sessions = [s for s in sessions if s.chair == args.chair]
        if args.unfinished:
            sessions = [s for s in sessions if s.ended_at is None]
        if args.json:
            sys.stdout.write(json.dumps([summary_dict(s) for s in sessions], indent=2) + "\n")
        else:
            sys.stdout.write(format_table(sessions))
        return 0

    return run_command("infusion-console sessions", body)
