"""Storage benchmark: the writer against plain ``executemany``, on what chairs really write.

Usage::

    python benchmarks/storage_bench.py --runs 5                 # SQLite only
    python benchmarks/storage_bench.py --runs 5 --pg-url postgresql+psycopg://app:app@127.0.0.1/db
    INFUSION_TEST_PG_URL=... python benchmarks/storage_bench.py  # PostgreSQL from the test URL

The workload is what the console stores, not a synthetic one (issue 14: the old benchmark wrote
pleth blobs the console never stores).  Each chair is the production chain without its pty: a
virtual Datex monitor (:class:`~devices.simulator.monitor.DatexMonitorSim`, its wire bytes)
-> :class:`~devices.drivers.ge_datex.DatexDriver` -> the chair's alarm pipeline ->
:meth:`RecordKeeper.outputs`, whose submissions are captured: readings batches at the monitor's
rate (one DRI record a second, NIBP on its cuff cycle), every alarm transition (a hypertensive
responder on every other chair, a few corrupted frames and a sensor-off spell on each), and the
technical events worth keeping.  Generated once, before anything is timed.

Per run, on fresh databases:

* **writer**: every captured item submitted through the real :class:`StorageWriter` (with its
  fsync'd journal directory) as fast as it takes them without falling behind (a producer that
  outruns it would measure its spill to the journal), until ``flush()`` says they are all
  committed; rows/s, and a check that every row arrived exactly once.
* **reference**: the same rows (readings, technical events, alarm log) inserted by plain
  SQLAlchemy ``conn.execute(insert(Row), rows)``, one ``executemany`` per table, in one
  transaction: what the database can take with no writer at all.

The writer's figure is printed as a ratio to the reference of the same run (the issue's goal is
at least 0.9x), with the median over ``--runs`` and the load average before and after.  Then,
once per backend: a 1-hour session of one chair loaded for review
(:meth:`SessionRepository.load_review`, target < 100 ms SQLite, < 200 ms PostgreSQL) and the
database bytes per session hour.  The last line is one JSON object with the figures.

PostgreSQL runs in a private schema (``storage_bench``) that is dropped at the end, so the
benchmark never touches other data in the database it is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
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
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.config import load  # noqa: E402
from console.domain.pipeline import ChairPipeline  # noqa: E402
from console.services.record_keeper import RecordKeeper  # noqa: E402
from console.storage.engine import make_engine  # noqa: E402
from console.storage.migrate import upgrade_to_head  # noqa: E402
from console.storage.repository import SessionRepository  # noqa: E402
from console.storage.schema import AlarmLogRow, ReadingRow, TechnicalEventRow  # noqa: E402
from console.storage.writer import (  # noqa: E402
    AlarmItem,
    Item,
    ReadingsItem,
    StorageWriter,
    TechnicalItem,
    item_ops,
)
from devices.drivers.ge_datex import DatexDriver  # noqa: E402
from devices.model import TechnicalEvent, TechnicalEventKind  # noqa: E402
from devices.simulator.faults import Corruption  # noqa: E402
from devices.simulator.monitor import DatexMonitorSim, NibpSchedule  # noqa: E402
from devices.simulator.signals import PatientModel, SessionTimeline  # noqa: E402

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PG_SCHEMA = "storage_bench"
#: A compressed session, so a few minutes hold a baseline, an infusion and its alarms.
TIMELINE = SessionTimeline(baseline_s=60.0, infusion_s=1800.0, observation_s=600.0)
#: Items of the placeholder session; replaced by each run's real session ids.
CAPTURE_SID = -1
#: The tables both sides write, by journal operation name.
TABLES = {"reading": ReadingRow, "technical": TechnicalEventRow, "alarm": AlarmLogRow}


class _Capture:
    """Stands in for the writer behind a :class:`RecordKeeper`: keeps what it is given."""

    def __init__(self) -> None:
        self.items: list[Item] = []

    def submit(self, item: Item) -> None:
        self.items.append(item)


def chair_items(chair: int, seconds: int) -> list[Item]:
    """What one simulated chair's record keeper submits in ``seconds`` of session time."""
    settings = load(overrides={"storage.db_url": "sqlite://"}, environ={})
    profile = "hypertensive-surge" if chair % 2 else "routine"
    patient = PatientModel(profile, seed=chair, timeline=TIMELINE)
    start = T0 + timedelta(seconds=chair * 0.37)  # monitors are not in step
    sim = DatexMonitorSim(patient, start, nibp=NibpSchedule(first_start_s=20.0, interval_s=180.0))
    driver = DatexDriver(interval_s=settings.device.interval_s)
    capture = _Capture()
    keeper = RecordKeeper(capture, f"Bench {chair}")  # type: ignore[arg-type]
    keeper.attach(CAPTURE_SID)
    pipeline = ChairPipeline(
        settings.alarm_profile,
        [keeper.outputs()],
        nibp_interval_s=180.0,
        started_at=start,
        min_silence_real_s=0.0,
    )
    for request in driver.handshake():
        sim.receive(request, start)
    frame_errors = 0
    for s in range(1, seconds + 1):
        now = start + timedelta(seconds=s)
        if s == TIMELINE.baseline_s:
            pipeline.set_infusion_running(True, now)
        if s % 47 == 0:
            sim.faults.corrupt_next.append(Corruption.CHECKSUM)
        sim.faults.sensor_off = 150 <= s % 600 < 170
        for frame in sim.due(now):
            out = driver.feed(frame, now)
            for err in out.errors:  # as the runner reports them (devices.runner)
                frame_errors += 1
                pipeline.on_event(
                    TechnicalEvent(TechnicalEventKind.FRAME_ERROR, now, str(err), "", frame_errors)
                )
            for technical in out.events:
                pipeline.on_event(technical)
            pipeline.on_readings(out.readings)
            for request in out.replies:
                sim.receive(request, now)
        for request in driver.poll_requests(now):
            sim.receive(request, now)
        pipeline.tick(now)
    return capture.items


def for_session(item: Item, sid: int) -> Item:
    """``item`` of the session ``sid`` (captured items carry a placeholder)."""
    return dataclasses.replace(item, session_id=sid)


@dataclass
class Workload:
    """Every chair's captured items, and how they are submitted (interleaved by second)."""

    per_chair: list[list[Item]]
    seconds: int

    @property
    def rows(self) -> dict[str, int]:
        """Rows per table the workload writes."""
        counts = dict.fromkeys(TABLES, 0)
        for items in self.per_chair:
            for item in items:
                if isinstance(item, ReadingsItem):
                    counts["reading"] += len(item.readings)
                elif isinstance(item, TechnicalItem):
                    counts["technical"] += 1
                elif isinstance(item, AlarmItem):
                    counts["alarm"] += 1
        return counts

    def submissions(self, sids: list[int]) -> list[Item]:
        """All items in the order live chairs submit them: second by second, chair by chair."""
        out: list[Item] = []
        cursors = [0] * len(self.per_chair)
        for s in range(self.seconds + 1):
            until = T0 + timedelta(seconds=s + 1)
            for c, items in enumerate(self.per_chair):
                i = cursors[c]
                while i < len(items) and _item_time(items[i]) < until:
                    out.append(for_session(items[i], sids[c]))
                    i += 1
                cursors[c] = i
        for c, items in enumerate(self.per_chair):
            out.extend(for_session(item, sids[c]) for item in items[cursors[c] :])
        return out

    def table_rows(self, sids: list[int]) -> dict[str, list[dict[str, Any]]]:
        """The same rows as plain dicts per table, for the reference."""
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        for items, sid in zip(self.per_chair, sids, strict=True):
            for item in items:
                for name, payload in item_ops(for_session(item, sid)):
                    if name == "alarm":  # the log row; the writer keeps the alarms table too
                        payload = {
                            k: v for k, v in payload.items() if k not in ("parameter", "limit")
                        }
                    if name in rows:
                        rows[name].append(payload)
        return rows


def _item_time(item: Item) -> datetime:
    if isinstance(item, ReadingsItem):
        return max(r.received_at for r in item.readings)
    if isinstance(item, AlarmItem):
        return item.event.at
    if isinstance(item, TechnicalItem):
        return item.event.at
    return T0


@dataclass
class RunResult:
    """One run on one backend."""

    writer_rows_per_s: float
    reference_rows_per_s: float
    lost: int

    @property
    def ratio(self) -> float:
        """The writer as a fraction of plain executemany."""
        return self.writer_rows_per_s / self.reference_rows_per_s


@dataclass
class BackendResult:
    """One backend's figures (medians over the runs)."""

    backend: str
    runs: list[RunResult]
    load_ms: float
    mb_per_hour: float
    target_ms: float

    def median(self, attr: str) -> float:
        """Median of a run attribute."""
        return float(statistics.median(float(getattr(r, attr)) for r in self.runs))


def make_sessions(engine: Engine, chairs: int) -> list[int]:
    """One session per chair."""
    repo = SessionRepository(engine)
    return [
        repo.create_session(chair=f"Bench {c}", started_at=T0, simulated=True, device_kind="bench")
        for c in range(chairs)
    ]


def feed(writer: StorageWriter, items: list[Item]) -> None:
    """Submit ``items`` as fast as the writer takes them without falling behind: a producer
    that outruns it only measures the journal it spills to (issue 14's bounded queue)."""
    pause = writer.spill_at // 2
    for n, item in enumerate(items):
        if n % 64 == 0:
            while writer.waiting > pause:
                time.sleep(0.005)
        writer.submit(item)


def time_writer(engine: Engine, work: Workload) -> tuple[float, int]:
    """Every item through a real StorageWriter; (rows/s, rows lost)."""
    sids = make_sessions(engine, len(work.per_chair))
    items = work.submissions(sids)
    expected = sum(work.rows.values())
    with tempfile.TemporaryDirectory() as journal:
        writer = StorageWriter(engine, journal_dir=Path(journal))
        writer.start()
        try:
            t = time.perf_counter()
            feed(writer, items)
            if not writer.flush(timeout_s=600):
                raise RuntimeError("writer did not catch up in 600 s")
            elapsed = time.perf_counter() - t
        finally:
            writer.stop()
    if writer.spill_episodes:
        out(f"  (the writer spilled to its journal {writer.spill_episodes} time(s))")
    return expected / elapsed, expected - stored_rows(engine, sids)


def stored_rows(engine: Engine, sids: list[int]) -> int:
    """Rows of the sessions ``sids`` in the tables the workload writes."""
    total = 0
    with engine.connect() as conn:
        for row in TABLES.values():
            # Any: the three row classes share session_id, which no common base declares.
            table: Any = row
            n = conn.scalar(
                select(func.count()).select_from(table).where(table.session_id.in_(sids))
            )
            total += int(n or 0)
    return total


def time_reference(engine: Engine, work: Workload) -> float:
    """The same rows by plain ``executemany``, one transaction; rows/s."""
    sids = make_sessions(engine, len(work.per_chair))
    rows = work.table_rows(sids)
    total = sum(len(r) for r in rows.values())
    t = time.perf_counter()
    with engine.begin() as conn:
        for name, table in TABLES.items():
            if rows[name]:
                conn.execute(insert(table), rows[name])
    return total / (time.perf_counter() - t)


def one_hour_session(engine: Engine, items: list[Item]) -> int:
    """Write one chair's 1-hour session through the writer and return its id."""
    (sid,) = make_sessions(engine, 1)
    writer = StorageWriter(engine)
    writer.start()
    try:
        feed(writer, [for_session(item, sid) for item in items])
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


def db_bytes(engine: Engine) -> int:
    """Bytes the database occupies (SQLite file after checkpoint; PG schema relations)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        assert engine.url.database
        return Path(engine.url.database).stat().st_size
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


def _use_bench_schema(dbapi_conn: Any, _record: Any) -> None:
    with dbapi_conn.cursor() as cur:
        cur.execute(f"SET search_path TO {PG_SCHEMA}")
    dbapi_conn.commit()


@contextmanager
def fresh_db(pg_url: str | None) -> Iterator[Engine]:
    """A new, migrated database: a throwaway SQLite file, or a private PostgreSQL schema."""
    if pg_url is None:
        with tempfile.TemporaryDirectory() as d:
            engine = make_engine(f"sqlite:///{Path(d) / 'bench.sqlite3'}")
            try:
                upgrade_to_head(engine)
                yield engine
            finally:
                engine.dispose()
        return
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    # Not the URL's ``options``: the console's connect arguments set their own (timeouts).
    engine = make_engine(pg_url)
    event.listen(engine, "connect", _use_bench_schema)
    try:
        upgrade_to_head(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


def run_backend(
    label: str, pg_url: str | None, work: Workload, hour: list[Item], runs: int
) -> BackendResult:
    """``runs`` paired runs (writer and reference, order alternating), then load and size."""
    results: list[RunResult] = []
    for run in range(runs):
        figures: dict[str, Any] = {}
        order = ("reference", "writer") if run % 2 == 0 else ("writer", "reference")
        for side in order:
            with fresh_db(pg_url) as engine:
                if side == "writer":
                    figures["writer"] = time_writer(engine, work)
                else:
                    figures["reference"] = time_reference(engine, work)
        rate, lost = figures["writer"]
        result = RunResult(rate, figures["reference"], lost)
        results.append(result)
        out(
            f"  {label} run {run + 1}: writer {rate:,.0f} rows/s, executemany "
            f"{result.reference_rows_per_s:,.0f} rows/s, ratio {result.ratio:.2f}x, lost {lost}"
        )
    with fresh_db(pg_url) as engine:
        empty = db_bytes(engine)
        sid = one_hour_session(engine, hour)
        size = db_bytes(engine) - empty
        repo = SessionRepository(engine)
        assert len(repo.load_review(sid).trends["HR"].t) > 3000
        load_ms = time_ms(lambda: repo.load_review(sid), 7)
    return BackendResult(
        backend=label,
        runs=results,
        load_ms=load_ms,
        mb_per_hour=size / 1e6,
        target_ms=100.0 if pg_url is None else 200.0,
    )


def out(line: str) -> None:
    """One line on stdout (the project bans print() so logs and output stay separate)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (rounded)."""
    return [round(x, 2) for x in os.getloadavg()]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a row was lost or a load target was missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("INFUSION_BENCH_PG_URL") or os.environ.get("INFUSION_TEST_PG_URL"),
        help="PostgreSQL URL (default: $INFUSION_BENCH_PG_URL or $INFUSION_TEST_PG_URL)",
    )
    parser.add_argument("--no-pg", action="store_true", help="SQLite only")
    parser.add_argument("--chairs", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=300, help="session seconds per chair")
    parser.add_argument("--runs", type=int, default=5, help="paired runs per backend (median)")
    args = parser.parse_args(argv)
    load_before = loadavg()
    out(f"load average before: {load_before} on {os.cpu_count()} CPUs")
    t = time.perf_counter()
    work = Workload([chair_items(c, args.seconds) for c in range(args.chairs)], args.seconds)
    hour = chair_items(1, 3600)
    rows = work.rows
    total = sum(rows.values())
    out(
        f"workload: {args.chairs} chairs x {args.seconds} s, "
        f"{sum(len(i) for i in work.per_chair):,} items, {total:,} rows "
        f"({', '.join(f'{k} {v:,}' for k, v in rows.items())}); "
        f"generated in {time.perf_counter() - t:.1f} s"
    )
    backends: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.pg_url and not args.no_pg:
        backends.append(("PostgreSQL", args.pg_url))
    else:
        out("PostgreSQL skipped (give --pg-url or INFUSION_TEST_PG_URL)")
    results = [run_backend(label, url, work, hour, args.runs) for label, url in backends]
    load_after = loadavg()
    live_need = total / args.seconds
    head = (
        f"{'backend':<11}{'writer rows/s':>14}{'executemany':>13}{'ratio':>7}{'x live':>8}"
        f"{'lost':>6}{'1-h load ms':>13}{'MB/session-h':>14}"
    )
    out(
        f"\nStorage: {args.chairs} chairs (live need {live_need:.0f} rows/s), "
        f"median of {args.runs} runs"
    )
    out(head)
    out("-" * len(head))
    for r in results:
        writer = r.median("writer_rows_per_s")
        verdict = "ok" if r.load_ms < r.target_ms else "MISS"
        out(
            f"{r.backend:<11}{writer:>14,.0f}{r.median('reference_rows_per_s'):>13,.0f}"
            f"{r.median('ratio'):>6.2f}x{writer / live_need:>7.0f}x"
            f"{sum(x.lost for x in r.runs):>6}{r.load_ms:>9.1f} {verdict:<4}"
            f"{r.mb_per_hour:>13.2f}"
        )
    out(f"load average after: {load_after}")
    summary = {
        "chairs": args.chairs,
        "seconds": args.seconds,
        "runs": args.runs,
        "rows": total,
        "load_before": load_before,
        "load_after": load_after,
        **{
            r.backend.lower(): {
                "writer_rows_per_s": round(r.median("writer_rows_per_s")),
                "executemany_rows_per_s": round(r.median("reference_rows_per_s")),
                "ratio": round(r.median("ratio"), 3),
                "x_live": round(r.median("writer_rows_per_s") / live_need),
                "lost": sum(x.lost for x in r.runs),
                "load_1h_ms": round(r.load_ms, 1),
                "mb_per_session_hour": round(r.mb_per_hour, 2),
            }
            for r in results
        },
    }
    out(json.dumps(summary))
    failed = [r for r in results if any(x.lost for x in r.runs) or r.load_ms >= r.target_ms]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
