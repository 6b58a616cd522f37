"""SQLite file deleted or replaced under the storage writer: time to the alarm, readings lost.

Usage::

    python benchmarks/db_file_fault_bench.py --runs 5

Each run starts a real :class:`StorageWriter` on a fresh SQLite file, feeds it one reading
every 20 ms (1 s before the fault, 3 s after), then deletes the file (or renames another
database over it) at a different moment of the watch interval.  It prints, per fault, the
median and the worst time from the fault to the writer's "not recorded" status (the technical
alarm), and the readings missing from the file at the path afterwards (target: 0).
"""

from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository
from console.storage.writer import ReadingsItem, StorageWriter
from devices.model import METRIC_UNITS, Metric, Reading


def one_run(fault: str, offset_s: float) -> tuple[float, int]:
    """Seconds from the fault to the alarm, and readings lost."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        db = d / "record.sqlite3"
        url = f"sqlite:///{db}"
        engine = make_engine(url)
        upgrade_to_head(engine)
        sid = SessionRepository(engine).create_session(
            chair="bench", started_at=datetime.now(UTC), simulated=True, device_kind="x"
        )
        alarmed: list[float] = []
        seen = threading.Event()

        def on_status(ok: bool, _detail: str) -> None:
            if not ok and not alarmed:
                alarmed.append(time.monotonic())
                seen.set()

        writer = StorageWriter(engine, journal_dir=d / "journal", on_status=on_status)
        writer.start()
        sent = 0

        def feed(seconds: float) -> None:
            nonlocal sent
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                r = Reading(Metric.HR, float(sent), METRIC_UNITS[Metric.HR], datetime.now(UTC))
                writer.submit(ReadingsItem(sid, (r,)))
                sent += 1
                time.sleep(0.02)

        feed(1.0 + offset_s)
        if fault == "deleted":
            db.unlink()
        else:
            other = d / "other.sqlite3"
            conn = sqlite3.connect(other)
            conn.execute("CREATE TABLE someone_elses (x)")
            conn.close()
            os.rename(other, db)
        fault_at = time.monotonic()
        feed(3.0)
        seen.wait(10.0)
        writer.flush(10.0)
        writer.stop()
        engine.dispose()
        check = make_engine(url, create=False)
        stored = len(SessionRepository(check).readings(sid))
        check.dispose()
        return (alarmed[0] - fault_at if alarmed else float("inf")), sent - stored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # the writer's error lines are the point, not output
    for fault in ("deleted", "replaced"):
        runs = [one_run(fault, i / max(1, args.runs)) for i in range(args.runs)]
        delays = [r[0] for r in runs]
        sys.stdout.write(
            f"{fault:9s} alarm after median {statistics.median(delays):.2f} s, "
            f"worst {max(delays):.2f} s (target < 5 s); readings lost per run: "
            f"{[r[1] for r in runs]}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
