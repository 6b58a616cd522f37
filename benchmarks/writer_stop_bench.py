"""How long closing the console waits for the storage writer after a backlog (issue 14).

Usage::

    python benchmarks/writer_stop_bench.py [--chairs 16] [--speed 60] [--seconds 20]
                                           [--row-ms 0.5] [--runs 3]

At x60 the console's writer fell behind by about 330 items/s and closing the window then took
45-65 s, while it wrote its whole in-memory queue.  This benchmark makes the same situation on
purpose: ``--chairs`` simulated chairs (what their record keepers really submit, from
``storage_bench``) are fed at ``--speed`` times real time for ``--seconds`` into a writer whose
SQLite database sleeps ``--row-ms`` per row it writes (a database slower than the monitors),
then ``stop()`` is timed.

Printed per run: the backlog when ``stop()`` was called (rows submitted but not in the
database), the longest queue the writer reported (when it can say), the stop time, and the
reference: plain ``executemany`` of that many rows on an equally slow database, with the stop
time as a ratio to it.  After ``stop()`` a new writer is started on the same database and
journal, as the console's next start does, and every row must then be stored exactly once.
Medians over ``--runs``; the load average is printed before and after; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.slow_database import slowed  # noqa: E402
from benchmarks.storage_bench import (  # noqa: E402
    Workload,
    chair_items,
    make_sessions,
    stored_rows,
)
from console.storage.engine import make_engine  # noqa: E402
from console.storage.migrate import upgrade_to_head  # noqa: E402
from console.storage.schema import ReadingRow  # noqa: E402
from console.storage.writer import ReadingsItem, StorageWriter  # noqa: E402


@dataclass
class Run:
    """One run's figures."""

    backlog_rows: int
    most_waiting: int
    stop_s: float
    reference_s: float
    stored_after_restart: int
    expected: int

    @property
    def ratio(self) -> float:
        """Stop time over the time plain executemany takes for the backlog."""
        return self.stop_s / self.reference_s


def one_run(work: Workload, speed: float, seconds: float, per_row_s: float) -> Run:
    """Feed, stop, restart; then the reference on a fresh, equally slow database."""
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{Path(d) / 'stop.sqlite3'}")
        upgrade_to_head(engine)
        sids = make_sessions(engine, len(work.per_chair))
        items = work.submissions(sids)
        per_s = len(items) / work.seconds * speed
        count = min(len(items), int(per_s * seconds))
        rows_of = [len(i.readings) if isinstance(i, ReadingsItem) else 1 for i in items[:count]]
        expected = sum(rows_of)
        slowed(engine, per_row_s)
        journal = Path(d) / "journal"
        writer = StorageWriter(engine, journal_dir=journal)
        writer.start()
        most = 0
        t0 = time.monotonic()
        for n, item in enumerate(items[:count]):
            writer.submit(item)
            if n % 50 == 49:
                most = max(most, int(getattr(writer, "waiting", writer._queue.qsize())))
                time.sleep(max(0.0, t0 + (n + 1) / per_s - time.monotonic()))
        backlog = expected - stored_rows(engine, sids)
        t = time.perf_counter()
        writer.stop(timeout_s=600)
        stop_s = time.perf_counter() - t
        # The next start replays what the journal kept.
        again = StorageWriter(engine, journal_dir=journal)
        again.start()
        try:
            again.flush(timeout_s=600)
        finally:
            again.stop(timeout_s=600)
        stored = stored_rows(engine, sids)
        engine.dispose()
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{Path(d) / 'ref.sqlite3'}")
        upgrade_to_head(engine)
        sids = make_sessions(engine, 1)
        slowed(engine, per_row_s)
        rows = work.table_rows(sids * len(work.per_chair))["reading"]
        rows = (rows * (backlog // max(1, len(rows)) + 1))[: max(1, backlog)]
        t = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(ReadingRow), rows)
        reference_s = time.perf_counter() - t
        engine.dispose()
    return Run(backlog, most, stop_s, reference_s, stored, expected)


def out(line: str) -> None:
    """One line on stdout (the project bans print())."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Run; exit 1 when a row was lost or duplicated."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chairs", type=int, default=16)
    parser.add_argument("--speed", type=float, default=60.0, help="x real time")
    parser.add_argument("--seconds", type=float, default=10.0, help="wall seconds of feeding")
    parser.add_argument("--row-ms", type=float, default=0.5, help="sleep per row written")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    load_before = [round(x, 2) for x in os.getloadavg()]
    out(f"load average before: {load_before} on {os.cpu_count()} CPUs")
    session_s = int(args.speed * args.seconds) + 60
    work = Workload([chair_items(c, session_s) for c in range(args.chairs)], session_s)
    runs: list[Run] = []
    for i in range(args.runs):
        r = one_run(work, args.speed, args.seconds, args.row_ms / 1000)
        runs.append(r)
        out(
            f"run {i + 1}: backlog {r.backlog_rows:,} rows, most waiting {r.most_waiting:,} "
            f"items, stop {r.stop_s:.2f} s, executemany of the backlog {r.reference_s:.2f} s "
            f"(ratio {r.ratio:.1f}x); after restart {r.stored_after_restart:,} of "
            f"{r.expected:,} rows"
        )
    load_after = [round(x, 2) for x in os.getloadavg()]
    lost = sum(abs(r.expected - r.stored_after_restart) for r in runs)
    summary = {
        "chairs": args.chairs,
        "speed": args.speed,
        "seconds": args.seconds,
        "row_ms": args.row_ms,
        "runs": args.runs,
        "backlog_rows": statistics.median(r.backlog_rows for r in runs),
        "most_waiting": statistics.median(r.most_waiting for r in runs),
        "stop_s": round(statistics.median(r.stop_s for r in runs), 2),
        "reference_s": round(statistics.median(r.reference_s for r in runs), 2),
        "ratio": round(statistics.median(r.ratio for r in runs), 2),
        "lost_or_duplicated": lost,
        "load_before": load_before,
        "load_after": load_after,
    }
    out(
        f"median of {args.runs}: stop {summary['stop_s']} s after a backlog of "
        f"{summary['backlog_rows']:,} rows; executemany of it {summary['reference_s']} s; "
        f"ratio {summary['ratio']}x; load average after: {load_after}"
    )
    out(json.dumps(summary))
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
