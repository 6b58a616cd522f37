"""Storage benchmark: ingest with 16 chairs live, 1-hour review load, DB size per session hour.

Usage::

    python benchmarks/storage_bench.py                       # SQLite only
    python benchmarks/storage_bench.py --pg-url postgresql+psycopg://app:app@127.0.0.1/infusion_test
    INFUSION_BENCH_PG_URL=... python benchmarks/storage_bench.py

What is measured, per backend:

* **ingest**: 16 chairs, each producing what a live chair produces per second (HR, PR, SpO2,
  RR, and an NIBP triple every 5 min, plus one 1-s float32 blob of a 125 Hz pleth), submitted
  through the real :class:`StorageWriter` as fast as it accepts them; rows/s sustained, the
  headroom over the live need (16 chairs x ~5.1 rows/s), and a check that every row arrived
  exactly once.
* **load**: a 1-hour session loaded for review (numeric trends as arrays, alarms, events, and
  the pleth waveform) through :meth:`SessionRepository.load_review`; median of several runs.
  Targets: < 100 ms on SQLite, < 200 ms on PostgreSQL.
* **size**: database bytes per session hour (numerics + waveform + indexes).

PostgreSQL runs in a private schema (``storage_bench``) that is dropped at the end, so the
benchmark never touches other data in the database it is given.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.storage.engine import make_engine  # noqa: E402
from console.storage.migrate import upgrade_to_head  # noqa: E402
from console.storage.repository import SessionRepository  # noqa: E402
from console.storage.schema import ReadingRow, WaveformRow  # noqa: E402
from console.storage.writer import ReadingsItem, StorageWriter, WaveformItem  # noqa: E402
from devices.model import METRIC_UNITS, Metric, Reading  # noqa: E402

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PLETH_HZ = 125
NIBP_EVERY_S = 300
PG_SCHEMA = "storage_bench"
CONTINUOUS = (Metric.HR, Metric.PR, Metric.SPO2, Metric.RR)


@dataclass
class Result:
    """One backend's figures."""

    backend: str
    ingest_rows_per_s: float
    ingest_lost: int
    live_headroom: float
    load_median_ms: float
    load_numerics_ms: float
    mb_per_hour: float
    target_ms: float


def chair_second(sid: int, s: int, rng: np.random.Generator) -> list[ReadingsItem | WaveformItem]:
    """What one live chair hands the writer in one second."""
    at = T0 + timedelta(seconds=s)
    base = {Metric.HR: 72.0, Metric.PR: 72.0, Metric.SPO2: 98.0, Metric.RR: 14.0}
    readings = [
        Reading(m, float(base[m] + rng.normal(0, 1)), METRIC_UNITS[m], at) for m in CONTINUOUS
    ]
    if s % NIBP_EVERY_S == 0:
        readings += [
            Reading(Metric.NIBP_SYS, 128.0, METRIC_UNITS[Metric.NIBP_SYS], at),
            Reading(Metric.NIBP_DIA, 82.0, METRIC_UNITS[Metric.NIBP_DIA], at),
            Reading(Metric.NIBP_MEAN, 97.0, METRIC_UNITS[Metric.NIBP_MEAN], at),
        ]
    pleth = np.sin(np.linspace(0, 2 * np.pi * 1.2, PLETH_HZ)).astype("<f4")
    return [
        ReadingsItem(sid, tuple(readings)),
        WaveformItem(sid, "PLETH", at, float(PLETH_HZ), pleth.tobytes()),
    ]


def rows_per_chair_second() -> float:
    """Average rows one chair writes per second (numerics + one waveform row)."""
    return len(CONTINUOUS) + 3 / NIBP_EVERY_S + 1


def ingest(engine: Engine, chairs: int, seconds: int) -> tuple[float, int]:
    """Submit ``seconds`` of ``chairs`` live chairs as fast as possible; (rows/s, rows lost)."""
    repo = SessionRepository(engine)
    sids = [
        repo.create_session(chair=f"Bench {c}", started_at=T0, simulated=True, device_kind="bench")
        for c in range(chairs)
    ]
    rng = np.random.default_rng(7)
    work = [chair_second(sid, s, rng) for s in range(seconds) for sid in sids]
    expected = sum(
        len(i.readings) if isinstance(i, ReadingsItem) else 1 for items in work for i in items
    )
    with tempfile.TemporaryDirectory() as journal:
        writer = StorageWriter(engine, journal_dir=Path(journal))
        writer.start()
        t = time.perf_counter()
        try:
            for items in work:
                for item in items:
                    writer.submit(item)
            if not writer.flush(timeout_s=600):
                raise RuntimeError("writer did not catch up in 600 s")
            elapsed = time.perf_counter() - t
        finally:
            writer.stop()
    with engine.connect() as conn:
        stored = conn.scalar(
            select(func.count()).select_from(ReadingRow).where(ReadingRow.session_id.in_(sids))
        )
        stored_w = conn.scalar(
            select(func.count()).select_from(WaveformRow).where(WaveformRow.session_id.in_(sids))
        )
    lost = expected - int(stored or 0) - int(stored_w or 0)
    return expected / elapsed, lost


def one_hour_session(engine: Engine) -> int:
    """Write one complete 1-hour session (numerics + pleth) and return its id."""
    repo = SessionRepository(engine)
    sid = repo.create_session(chair="Review", started_at=T0, simulated=True, device_kind="bench")
    rng = np.random.default_rng(11)
    writer = StorageWriter(engine)
    writer.start()
    try:
        for s in range(3600):
            for item in chair_second(sid, s, rng):
                writer.submit(item)
        if not writer.flush(timeout_s=600):
            raise RuntimeError("writer did not catch up")
    finally:
        writer.stop()
    return sid


def time_ms(fn: object, runs: int) -> float:
    """Median wall time of ``fn()`` in ms over ``runs`` runs (after one warm-up)."""
    assert callable(fn)
    fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000.0)
    return statistics.median(samples)


def db_bytes(engine: Engine, sqlite_path: Path | None) -> int:
    """Bytes the database occupies (SQLite file after checkpoint; PG schema relations)."""
    if sqlite_path is not None:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return sqlite_path.stat().st_size
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = :s AND c.relkind IN ('r', 'm')"
                ),
                {"s": PG_SCHEMA},
            ).scalar_one()
        )


@contextmanager
def sqlite_db() -> Iterator[tuple[str, Path]]:
    """A throwaway SQLite file."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.sqlite3"
        yield f"sqlite:///{path}", path


@contextmanager
def pg_schema(url: str) -> Iterator[str]:
    """A private schema on the given server, dropped afterwards; yields a URL that uses it."""
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{PG_SCHEMA}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


def run_backend(
    label: str, url: str, sqlite_path: Path | None, *, chairs: int, seconds: int, runs: int
) -> Result:
    """All three measurements on one database."""
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        empty = db_bytes(engine, sqlite_path)
        sid = one_hour_session(engine)
        size = db_bytes(engine, sqlite_path) - empty
        repo = SessionRepository(engine)
        review = repo.load_review(sid)
        assert len(review.trends["HR"].t) == 3600
        assert len(review.waveforms["PLETH"].samples) == 3600 * PLETH_HZ
        load_ms = time_ms(lambda: repo.load_review(sid), runs)
        numerics_ms = time_ms(lambda: repo.trends(sid), runs)
        rate, lost = ingest(engine, chairs, seconds)
    finally:
        engine.dispose()
    live_need = chairs * rows_per_chair_second()
    return Result(
        backend=label,
        ingest_rows_per_s=rate,
        ingest_lost=lost,
        live_headroom=rate / live_need,
        load_median_ms=load_ms,
        load_numerics_ms=numerics_ms,
        mb_per_hour=size / 1e6,
        target_ms=100.0 if sqlite_path is not None else 200.0,
    )


def out(line: str) -> None:
    """One line on stdout (the project bans print() so logs and output stay separate)."""
    sys.stdout.write(line + "\n")


def print_table(results: list[Result], chairs: int) -> None:
    """The summary table on stdout."""
    head = (
        f"{'backend':<11}{'ingest rows/s':>14}{'x live':>8}{'lost':>6}"
        f"{'1-h load ms':>13}{'numerics ms':>13}{'target':>8}{'MB/session-h':>14}"
    )
    need = chairs * rows_per_chair_second()
    out(f"\nStorage benchmark: {chairs} chairs (live need {need:.0f} rows/s)")
    out(head)
    out("-" * len(head))
    for r in results:
        ok = "ok" if r.load_median_ms < r.target_ms else "MISS"
        out(
            f"{r.backend:<11}{r.ingest_rows_per_s:>14,.0f}{r.live_headroom:>7.0f}x{r.ingest_lost:>6}"
            f"{r.load_median_ms:>13.1f}{r.load_numerics_ms:>13.1f}"
            f"{'<' + format(r.target_ms, 'g'):>6} {ok:<2}{r.mb_per_hour:>13.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a row was lost or a load target was missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("INFUSION_BENCH_PG_URL"),
        help="PostgreSQL URL (default: $INFUSION_BENCH_PG_URL; PG is skipped without one)",
    )
    parser.add_argument("--chairs", type=int, default=16)
    parser.add_argument(
        "--seconds", type=int, default=300, help="live seconds of every chair to ingest"
    )
    parser.add_argument("--runs", type=int, default=7, help="load runs for the median")
    args = parser.parse_args(argv)
    kw = {"chairs": args.chairs, "seconds": args.seconds, "runs": args.runs}
    results = []
    with sqlite_db() as (url, path):
        results.append(run_backend("SQLite", url, path, **kw))
    if args.pg_url:
        with pg_schema(args.pg_url) as url:
            results.append(run_backend("PostgreSQL", url, None, **kw))
    else:
        out("PostgreSQL skipped (give --pg-url or INFUSION_BENCH_PG_URL)")
    print_table(results, args.chairs)
    failed = [r for r in results if r.ingest_lost or r.load_median_ms >= r.target_ms]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
