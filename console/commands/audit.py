"""``infusion-console audit``: check the tamper-evident audit trail, or show a session's entries.

``audit verify [--db URL]`` exits 0 printing ``audit trail intact: N entries, M batches of
readings``, or exits 1 with one line naming the first broken entry (or row) and what happened
to it (:mod:`console.storage.audit_verify`).  ``audit show --session ID [--json]`` prints the
session's entries as a table, or as a JSON list with the field names of
:meth:`~console.storage.audit_verify.StoredEntry.as_json`.  A database problem is one line on
stderr and exit code 2, as for every headless command.  Headless: no Qt is imported.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from console.commands.errors import CommandError
from console.commands.sessions import add_db_option, run_command, with_repository
from console.storage.audit_verify import (
    StoredEntry,
    TrailBrokenError,
    TrailIntact,
    session_entries,
    snapshot,
    verify,
)
from console.storage.repository import SessionRepository
from console.storage.schema import SessionRow
from devices.cli_parser import OneLineParser

PROG = "infusion-console audit"
#: Exit code of ``verify`` when the trail is broken (2 stays "could not check").
EXIT_BROKEN = 1


def build_parser() -> argparse.ArgumentParser:
    """The ``audit`` command line."""
    parser = OneLineParser(
        prog=PROG,
        description="Check the tamper-evident audit trail, or show one session's entries.",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="{verify,show}")
    check = sub.add_parser(
        "verify",
        help="check the hash chain and every row it covers; exit 1 at the first broken entry",
        description="Check the hash chain and every row it covers (readings, alarm log, "
        "events, ...). Exit 0: intact; exit 1: one line naming the first broken entry.",
    )
    add_db_option(check)
    show = sub.add_parser(
        "show",
        help="one session's entries: who, when, what, before/after",
        description="One session's audit entries, oldest first (times in UTC).",
    )
    add_db_option(show)
    show.add_argument("--session", type=int, required=True, metavar="ID", help="session id")
    show.add_argument("--json", action="store_true", help="print a JSON list instead")
    return parser


def _brief(value: Any, width: int = 60) -> str:
    """A before/after value in one short cell."""
    if value is None:
        return "-"
    if isinstance(value, dict) and "ids" in value and "rows" in value:
        ranges = value["ids"]
        span = f"{ranges[0][0]}-{ranges[-1][1]}" if ranges else ""
        return f"{value['rows']} rows, ids {span}"
    if isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != "row_sha256"}
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(entries: Sequence[StoredEntry]) -> str:
    """The human table: one line per entry."""
    heads = ("SEQ", "AT (UTC)", "ACTOR", "ACTION", "TARGET", "BEFORE", "AFTER")
    rows = [
        [
            str(e.seq),
            e.at.isoformat()[:23].replace("T", " "),
            e.actor,
            e.action,
            e.target_table + ("" if e.target_id is None else f" {e.target_id}"),
            _brief(e.before, 40),
            _brief(e.after),
        ]
        for e in entries
    ]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def _show(repo: SessionRepository, session_id: int) -> list[StoredEntry]:
    with repo.engine.connect() as conn:
        entries = session_entries(conn, session_id)
        known = conn.scalar(select(SessionRow.id).where(SessionRow.id == session_id))
    if not entries and known is None:
        raise CommandError(f"no session with id {session_id} and no audit entries about it")
    return entries


def _verify(repo: SessionRepository) -> TrailIntact | TrailBrokenError:
    with snapshot(repo.engine) as conn:
        try:
            return verify(conn)
        except TrailBrokenError as broken:
            return broken


def main(argv: Sequence[str]) -> int:
    """Entry point of ``infusion-console audit``; returns the exit code."""
    args = build_parser().parse_args(list(argv))

    def body() -> int:
        if args.action == "verify":
            outcome = with_repository(args.db, _verify)
            if isinstance(outcome, TrailBrokenError):
                sys.stdout.write(f"{outcome}\n")
                return EXIT_BROKEN
            sys.stdout.write(outcome.summary() + "\n")
            return 0
        entries = with_repository(args.db, lambda repo: _show(repo, args.session))
        if args.json:
            sys.stdout.write(json.dumps([e.as_json() for e in entries], indent=1) + "\n")
        else:
            sys.stdout.write(format_table(entries))
        return 0

    return run_command(PROG, body)
