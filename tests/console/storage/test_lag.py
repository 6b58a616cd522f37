"""The record's lag is the age of its oldest unwritten item, in the writer's order (issue 14)."""

from __future__ import annotations

import pytest

from console.storage.lag import RecordLag


class FakeClock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_lag_follows_the_oldest_item_through_queue_batch_journal_and_replay() -> None:
    clock = FakeClock()
    lag = RecordLag(clock)
    assert lag.age_s() == 0.0
    lag.submitted()  # item A at 100
    clock.t = 101.0
    lag.submitted()  # item B at 101
    clock.t = 103.0
    assert lag.age_s() == 3.0  # A, still queued
    lag.took()
    lag.took()
    lag.batched(1, record=True)  # A in hand, B pending
    assert lag.age_s() == 3.0
    lag.spool_in_hand()  # A goes to the journal
    lag.batched(1, record=True)  # B in hand
    assert lag.age_s() == 3.0  # A in the journal is still the oldest
    lag.done_in_hand()  # B stored (behind A? never: the writer keeps the order; A first here)
    lag.replayed(1)  # A stored
    assert lag.age_s() == 0.0


def test_a_burst_written_in_time_never_looks_late() -> None:
    clock = FakeClock()
    lag = RecordLag(clock)
    for _ in range(1_500):
        lag.submitted()
    clock.t += 1.2  # the writer takes 1.2 s for all of them
    for _ in range(1_500):
        lag.took()
    lag.batched(1_500, record=True)
    assert lag.age_s() == pytest.approx(1.2)
    lag.done_in_hand()
    assert lag.age_s() == 0.0


def test_held_items_do_not_count_and_an_earlier_run_is_late_from_the_start() -> None:
    clock = FakeClock()
    lag = RecordLag(clock)
    lag.preload(2)  # two batches left by the previous run
    clock.t += 4.0
    assert lag.age_s() == 4.0
    lag.replayed(2)
    lag.submitted()
    lag.took()
    lag.batched(1, record=False)  # a held item: its chair's spool, not the record
    clock.t += 10.0
    assert lag.age_s() == 0.0
