"""``python main.py export``: one session's record as CSV, a PDF report or a FHIR R4 Bundle.

``--format csv`` (the default) is described below.  ``--format pdf`` writes the physician's
session report (console.reports.pdf; painted with QtGui on the offscreen platform when there is
no display), ``--format note`` the one-page session note, ``--format rems`` the Spravato REMS
Patient Monitoring Form (esketamine sessions only: route ``IN``; any other session is one line
and exit 2) and ``--format fhir`` a FHIR R4 ``collection`` Bundle as JSON
(console.reports.fhir).  All of them are built from the same stored record.

Format: **one CSV file** with a ``record_type`` column, rows in time order after one
``session`` row.  A single file keeps "the record of session N" one attachment that opens in any
spreadsheet and sorts by time; columns a record type does not use are empty.

Record types and the columns they fill:

=============== =================================================================================
session         time (start), end_time, patient, chair, phase, simulated, series_number, device,
                weight_kg, dose_mg_per_kg, dose_mg, rate_ml_per_h, route, resumed
reading         time (received), device_time, parameter, value, unit, valid, flags
alarm           time (onset), end_time, condition, parameter, priority, value, limit, message
alarm_log       time, condition, kind, priority, value, message, actor
event           time, kind, author, reason, phase, rate_ml_per_h, dose_mg, score, text, data
technical       time, kind, text (detail)
discharge_check time, kind (item), valid (passed), author, text (note)
=============== =================================================================================

Times are ISO 8601 UTC.  The file is written next to its target and renamed into place, so a
half-written export never looks complete.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.commands.errors import CommandError
from console.commands.login import add_user_option, log_in
from console.commands.sessions import add_db_option, run_command, with_repository
from console.storage.repository import SessionRepository, UnknownSessionError
from devices.cli_parser import OneLineParser

if TYPE_CHECKING:
    from console.storage.review import StoredSession

FIELDS = (
    "record_type",
    "time",
    "end_time",
    "parameter",
    "value",
    "unit",
    "valid",
    "flags",
    "device_time",
    "condition",
    "kind",
    "priority",
    "limit",
    "message",
    "actor",
    "author",
    "reason",
    "phase",
    "rate_ml_per_h",
    "dose_mg",
    "score",
    "text",
    "data",
    "patient",
    "chair",
    "simulated",
    "series_number",
    "device",
    "weight_kg",
    "dose_mg_per_kg",
    "route",
    "resumed",
)

#: Order of record types that share one timestamp (the cause before what it caused).
_TYPE_ORDER = {
    "event": 0,
    "reading": 1,
    "alarm": 2,
    "alarm_log": 3,
    "technical": 4,
    "discharge_check": 5,
}


def _iso(t: datetime | None) -> str:
    return "" if t is None else t.isoformat()


def session_rows(repo: SessionRepository, session_id: int) -> list[dict[str, Any]]:
    """Every record of one session as CSV rows (dicts keyed by :data:`FIELDS`).

    Raises:
        UnknownSessionError: no such session.
    """
    s = repo.session(session_id)
    patient = next((p.patient for p in repo.list_sessions() if p.id == session_id), None)
    head = {
        "record_type": "session",
        "time": _iso(s.started_at),
        "end_time": _iso(s.ended_at),
        "patient": patient or "",
        "chair": s.chair,
        "phase": s.phase,
        "simulated": s.simulated,
        "series_number": "" if s.series_number is None else s.series_number,
        "device": s.device_kind,
        "weight_kg": s.weight_kg,
        "dose_mg_per_kg": s.dose_mg_per_kg,
        "dose_mg": s.dose_mg,
        "rate_ml_per_h": s.rate_ml_per_h,
        "route": s.route or "",
        "resumed": s.resumed,
    }
    timed: list[tuple[datetime, int, int, dict[str, Any]]] = []

    def add(at: datetime, row: dict[str, Any]) -> None:
        timed.append((at, _TYPE_ORDER[row["record_type"]], len(timed), row))

    for r in repo.readings(session_id):
        add(
            r.received_at,
            {
                "record_type": "reading",
                "time": _iso(r.received_at),
                "device_time": _iso(r.device_time),
                "parameter": r.parameter,
                "value": r.value,
                "unit": r.unit,
                "valid": r.valid,
                "flags": r.flags,
            },
        )
    for a in repo.alarms(session_id):
        add(
            a.onset_at,
            {
                "record_type": "alarm",
                "time": _iso(a.onset_at),
                "end_time": _iso(a.ended_at),
                "condition": a.condition,
                "parameter": a.parameter,
                "priority": a.priority,
                "value": a.value,
                "limit": a.limit_value,
                "message": a.message,
            },
        )
    for log in repo.alarm_log(session_id):
        add(
            log.at,
            {
                "record_type": "alarm_log",
                "time": _iso(log.at),
                "condition": log.condition,
                "kind": log.kind,
                "priority": log.priority,
                "value": log.value,
                "message": log.message,
                "actor": log.actor or "",
            },
        )
    for e in repo.events(session_id):
        add(
            e.at,
            {
                "record_type": "event",
                "time": _iso(e.at),
                "kind": e.kind,
                "author": e.author,
                "reason": e.reason,
                "phase": "" if e.phase is None else e.phase.value,
                "rate_ml_per_h": e.rate_ml_per_h,
                "dose_mg": e.dose_mg,
                "score": e.score,
                "text": e.text,
                "data": json.dumps(e.data, sort_keys=True) if e.data else "",
            },
        )
    for kind, detail, at in repo.technical_events(session_id):
        add(at, {"record_type": "technical", "time": _iso(at), "kind": kind, "text": detail})
    for item, passed, at, author, note in repo.discharge_checks(session_id):
        add(
            at,
            {
                "record_type": "discharge_check",
                "time": _iso(at),
                "kind": item,
                "valid": passed,
                "author": author,
                "text": note,
            },
        )
    timed.sort(key=lambda x: (x[0], x[1], x[2]))
    return [head] + [row for *_k, row in timed]


def write_csv(rows: Sequence[dict[str, Any]], out: str) -> None:
    """Write rows as CSV to ``out`` ("-" = stdout), atomically for files."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    if out == "-":
        sys.stdout.write(buf.getvalue())
        return
    text = buf.getvalue()

    def write(path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())

    _write_atomically(out, write)


def build_parser() -> argparse.ArgumentParser:
    """The ``export`` command line."""
    parser = OneLineParser(
        prog="infusion-console export",
        description="Export one session's readings, alarms and events as one CSV file with a "
        "record_type column (session, reading, alarm, alarm_log, event, technical, "
        "discharge_check), in time order; times in ISO 8601 UTC.",
    )
    add_db_option(parser)
    add_user_option(parser)
    parser.add_argument("--session", type=int, required=True, metavar="ID", help="session id")
    parser.add_argument(
        "--format",
        choices=["csv", "pdf", "fhir", "note", "rems"],
        default="csv",
        help="output format: csv (default), pdf (session report), fhir (FHIR R4 Bundle JSON), "
        "note (one-page session note PDF) or rems (Spravato REMS Patient Monitoring Form PDF, "
        "esketamine sessions only)",
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="output file, or - for standard output"
    )
    parser.add_argument(
        "--by",
        metavar="NAME",
        help="who exports, for the audit trail (default: the operating system's login name)",
    )
    return parser


def record_export(args: argparse.Namespace, detail: dict[str, Any]) -> None:
    """Append the export to the audit trail (who, which session, format, where to)."""
    from console.storage.audit import append_entry

    # With accounts, the user who logged in (--user, checked before the record was read) is
    # who exported; --by names the actor only on a database without accounts.
    by = getattr(args, "user", None) or args.by
    if not by:
        try:
            by = getpass.getuser()
        except (KeyError, OSError):  # no login name (a container without a passwd entry)
            by = ""

    def append(repo: SessionRepository) -> None:
        with repo.engine.begin() as conn:
            append_entry(
                conn,
                actor=by,
                action="export",
                target_table="sessions",
                target_id=args.session,
                session_id=args.session,
                after={"format": args.format, "out": args.out, **detail},
            )

    with_repository(args.db, append)


def _write_atomically(out: str, write: Callable[[Path], None]) -> None:
    """Let ``write`` fill a temporary file next to ``out``, then rename it into place.

    Only a regular file is ever replaced: renaming over a device node (``/dev/full``) or a
    FIFO would swap the node for a file.  A path that cannot be written is one line.

    Raises:
        CommandError: ``out`` is a directory or not a regular file, its directory is missing,
            or the file cannot be written (permissions, read-only file system, full disk).
    """
    target = Path(out)
    if target.is_dir():
        raise CommandError(f"--out {out!r} is a directory; give a file name")
    if target.exists() and not target.is_file():
        raise CommandError(f"--out {out!r} is not a regular file; give a file name")
    if not target.parent.is_dir():
        raise CommandError(f"--out {out!r}: directory {str(target.parent)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as err:
        raise CommandError(f"--out {out!r} cannot be written: {err.strerror}") from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise CommandError(f"--out {out!r} cannot be written: {err.strerror or err}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _export_report(args: argparse.Namespace) -> int:
    """``--format pdf`` / ``fhir`` / ``note`` / ``rems``."""
    from console.config import DB_OPTION, ConfigError, load
    from console.storage.review import ReviewRepository

    try:
        settings = load(overrides={"storage.db_url": args.db}, option_names=DB_OPTION)
    except ConfigError as err:
        raise CommandError(f"configuration error: {err}") from None

    def read(repo: SessionRepository) -> StoredSession:
        try:
            return ReviewRepository(repo.engine).load(args.session)
        except UnknownSessionError:
            raise CommandError(f"no session with id {args.session}") from None

    stored = with_repository(args.db, read, login=_login(args))
    if args.format == "fhir":
        from console.reports.fhir import build_bundle

        text = build_bundle(stored).model_dump_json(indent=1, exclude_none=True)
        if args.out == "-":
            sys.stdout.write(text + "\n")
            record_export(args, {})
            return 0

        def write_json(path: Path) -> None:
            path.write_text(text + "\n", encoding="utf-8")

        _write_atomically(args.out, write_json)
        record_export(args, {})
        sys.stderr.write(f"exported session {args.session} as a FHIR R4 Bundle to {args.out}\n")
        return 0
    if args.out == "-":
        raise CommandError(f"--format {args.format} needs a file name for --out, not -")
    if args.format == "note":
        return _export_note(args, stored, settings.alarm_nibp_interval_s)
    if args.format == "rems":
        return _export_rems(args, stored, settings.alarm_nibp_interval_s)
    from console.reports.pdf import write_pdf

    pages: list[int] = []

    def write_report(path: Path) -> None:
        pages.append(
            write_pdf(
                stored,
                path,
                settings.alarm_profile,
                nibp_interval_s=settings.alarm_nibp_interval_s,
            )
        )

    _write_atomically(args.out, write_report)
    record_export(args, {"pages": pages[0]})
    sys.stderr.write(
        f"exported the report of session {args.session} ({pages[0]} pages) to {args.out}\n"
    )
    return 0


def _login(args: argparse.Namespace) -> Callable[[SessionRepository], object]:
    """``--user`` on a database with accounts (any role may export a record)."""
    return lambda repo: log_in(repo.engine, args.user, "export")


def _export_note(args: argparse.Namespace, stored: StoredSession, nibp_interval_s: float) -> int:
    """``--format note``: the one-page session note (more pages only when it cannot fit)."""
    from console.reports.pdf import NoteLayout, write_note_pdf

    fitted: list[NoteLayout] = []

    def write(path: Path) -> None:
        fitted.append(write_note_pdf(stored, path, nibp_interval_s=nibp_interval_s))

    _write_atomically(args.out, write)
    f = fitted[0]
    how = f"{f.font_pt:g} pt" + (", condensed" if f.condensed else "")
    if f.pages == 1:
        sys.stderr.write(
            f"exported the note of session {args.session} (1 page, {how}) to {args.out}\n"
        )
    else:
        sys.stderr.write(
            f"exported the note of session {args.session} to {args.out}: it did not fit one page"
            f" even condensed ({f.pages} pages, {how}); every page carries the patient and"
            " page X of Y\n"
        )
    return 0


def _export_rems(args: argparse.Namespace, stored: StoredSession, nibp_interval_s: float) -> int:
    """``--format rems``: the REMS Patient Monitoring Form of an esketamine session."""
    from console.reports.pdf import write_rems_pdf
    from console.reports.rems import is_esketamine, rems_missing

    if not is_esketamine(stored):
        route = stored.record.route or "none recorded"
        raise CommandError(
            f"session {args.session} is not an esketamine session (route {route}, not IN);"
            " the REMS form is for intranasal esketamine only"
        )
    missing: list[str] = []

    def write(path: Path) -> None:
        _pages, form = write_rems_pdf(stored, path, nibp_interval_s=nibp_interval_s)
        missing.extend(rems_missing(form))

    _write_atomically(args.out, write)
    tail = f"; missing: {', '.join(missing)}" if missing else "; every required field filled"
    sys.stderr.write(f"exported the REMS form of session {args.session} to {args.out}{tail}\n")
    return 0


def main(argv: Sequence[str]) -> int:
    """Entry point of ``infusion-console export``; returns the exit code."""
    args = build_parser().parse_args(list(argv))

    def body() -> int:
        if args.format != "csv":
            return _export_report(args)

        def rows(repo: SessionRepository) -> list[dict[str, Any]]:
            try:
                return session_rows(repo, args.session)
            except UnknownSessionError:
                raise CommandError(f"no session with id {args.session}") from None

        out = with_repository(args.db, rows, login=_login(args))
        write_csv(out, args.out)
        record_export(args, {"records": len(out) - 1})
        if args.out != "-":
            sys.stderr.write(f"exported {len(out) - 1} records of session {args.session}\n")
        return 0

    return run_command("infusion-console export", body)
