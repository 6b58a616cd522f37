"""``python main.py review``: the physician's review window on its own (browser or one session).

Opens the same window the console's menu opens (console.ui.review), on the console's database
or ``--db URL`` (e.g. the clinic's shared PostgreSQL server, while other consoles write to it:
the review only reads, in short transactions, and writes a sign-off row when asked to).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from console.commands.errors import CommandError
from console.commands.login import add_user_option, log_in
from console.commands.sessions import add_db_option, run_command
from console.config import DB_OPTION, ConfigError, load
from console.qt_preflight import missing_platform_library
from console.storage.engine import StorageConfigError, describe_url, make_engine
from console.storage.repository import SessionRepository, UnknownSessionError
from devices.cli_parser import OneLineParser


def build_parser() -> argparse.ArgumentParser:
    """The ``review`` command line."""
    parser = OneLineParser(
        prog="infusion-console review",
        description="Open the physician's review: session browser (filter, sort, sign-off), "
        "session review with trends, alarms and events, patient series, PDF/FHIR export.",
    )
    add_db_option(parser)
    add_user_option(parser)
    parser.add_argument("--session", type=int, metavar="ID", help="open this session at once")
    return parser


def main(argv: Sequence[str]) -> int:
    """Entry point of ``infusion-console review``; returns the exit code."""
    args = build_parser().parse_args(list(argv))

    def body() -> int:
        try:
            settings = load(overrides={"storage.db_url": args.db}, option_names=DB_OPTION)
        except ConfigError as err:
            raise CommandError(f"configuration error: {err}") from None
        try:
            engine = make_engine(settings.db_url, create=False)  # never an empty new one
        except StorageConfigError as err:
            raise CommandError(f"database error: {err}") from None
        try:
            repo = SessionRepository(engine)
            try:
                repo.upgrade()
                account = log_in(engine, args.user, "review")
                if args.session is not None:
                    repo.session(args.session)
            except UnknownSessionError:
                raise CommandError(f"no session with id {args.session}") from None
            except StorageConfigError as err:
                raise CommandError(f"database error: {err}") from None
            except SQLAlchemyError as err:
                raise CommandError(
                    f"cannot use the database {describe_url(settings.db_url)}: "
                    f"{str(getattr(err, 'orig', None) or err).strip().splitlines()[0]}"
                ) from None
            missing = missing_platform_library(os.environ)
            if missing is not None:  # before Qt, which would abort without a word
                raise CommandError(missing)
            from PySide6.QtWidgets import QApplication

            from console.ui.app_icon import install_app_icon
            from console.ui.review import open_review_window

            app = QApplication.instance() or QApplication(sys.argv[:1])
            assert isinstance(app, QApplication)
            install_app_icon(app)
            window = open_review_window(
                repo,
                session_id=args.session,
                profile=settings.alarm_profile,
                nibp_interval_s=settings.alarm_nibp_interval_s,
                user=None if account is None else account.name,
            )
            window.setWindowTitle(f"{window.windowTitle()} - {describe_url(settings.db_url)}")
            return int(app.exec())
        finally:
            engine.dispose()

    return run_command("infusion-console review", body)
