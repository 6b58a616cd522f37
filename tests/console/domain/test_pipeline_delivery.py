"""Every delivery the pipeline queues reaches its outputs, whatever the threads do.

The outputs run after the pipeline's lock is released, by one delivering thread at a time
(console.domain.pipeline).  A thread that found another one delivering left its batch to it;
if that one had just seen an empty outbox and not yet given up the role, the batch stayed
queued until some later call, and at the end of a run never went out: a paced run stored 1082
SpO2 readings of 1083 under CPU load.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from console.config import load
from console.domain.pipeline import ChairOutputs, ChairPipeline
from devices.model import METRIC_UNITS, Metric, Reading

THREADS = 6
PER_THREAD = 3000


def test_no_batch_is_left_in_the_outbox_when_the_threads_stop() -> None:
    got: list[int] = []
    count_lock = threading.Lock()

    def readings(rs: list[Reading]) -> None:
        with count_lock:
            got.append(len(rs))

    out = ChairOutputs(readings, lambda evs: None, lambda ev: None, lambda st: None)
    pipeline = ChairPipeline(load(environ={}).alarm_profile, [out])
    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    start = threading.Barrier(THREADS)

    def feed(k: int) -> None:
        start.wait()
        for i in range(PER_THREAD):
            at = t0 + timedelta(milliseconds=i)
            pipeline.on_readings([Reading(Metric.SPO2, 97.0, METRIC_UNITS[Metric.SPO2], at)])

    threads = [threading.Thread(target=feed, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(got) == THREADS * PER_THREAD


class _WideningLock:
    """The pipeline's outbox lock, pausing 50 ms after the delivering thread saw an empty
    outbox: it widens the moment in which another thread's batch used to be stranded."""

    def __init__(self, pipeline: ChairPipeline) -> None:
        self._lock = threading.Lock()
        self._pipeline = pipeline

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        p = self._pipeline
        widen = p._delivering == threading.get_ident() and not p._outbox
        self._lock.release()
        if widen:
            time.sleep(0.05)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()


def test_a_batch_posted_while_the_deliverer_finishes_is_delivered() -> None:
    got: list[float] = []
    first_out = threading.Event()

    def readings(rs: list[Reading]) -> None:
        got.extend(r.value or 0.0 for r in rs)
        first_out.set()

    out = ChairOutputs(readings, lambda evs: None, lambda ev: None, lambda st: None)
    pipeline = ChairPipeline(load(environ={}).alarm_profile, [out])
    widening = _WideningLock(pipeline)
    pipeline._out_lock = widening  # type: ignore[assignment]
    pipeline._delivered = threading.Condition(widening)  # type: ignore[arg-type]
    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

    def one(value: float, seconds: int) -> None:
        at = t0 + timedelta(seconds=seconds)
        pipeline.on_readings([Reading(Metric.SPO2, value, METRIC_UNITS[Metric.SPO2], at)])

    a = threading.Thread(target=one, args=(97.0, 0))
    a.start()
    assert first_out.wait(5.0)
    time.sleep(0.01)  # A is now giving up the delivering role
    b = threading.Thread(target=one, args=(96.0, 1))
    b.start()
    a.join()
    b.join()
    assert got == [97.0, 96.0]
