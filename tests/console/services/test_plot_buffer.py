"""RingBuffer: the trend store every chair's curves are drawn from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from console.services.plot_buffer import RingBuffer


def test_a_buffer_needs_room_for_a_line() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        RingBuffer(1)
    assert len(RingBuffer(2)) == 0


def test_an_empty_buffer_has_no_samples_and_no_last_value() -> None:
    buf = RingBuffer(4)
    x, y = buf.arrays()
    assert x.size == y.size == 0
    assert math.isnan(buf.last_y())


def test_samples_come_back_in_arrival_order_until_full() -> None:
    buf = RingBuffer(4)
    for i in range(3):
        buf.append(float(i), 10.0 * i)
    x, y = buf.arrays()
    assert x.tolist() == [0.0, 1.0, 2.0]
    assert y.tolist() == [0.0, 10.0, 20.0]
    assert buf.last_y() == 20.0


@pytest.mark.parametrize("extra", [1, 3, 4, 9])
def test_a_full_buffer_keeps_the_newest_oldest_first(extra: int) -> None:
    capacity = 4
    buf = RingBuffer(capacity)
    total = capacity + extra
    for i in range(total):
        buf.append(float(i), float(-i))
    assert len(buf) == capacity
    x, y = buf.arrays()
    assert x.tolist() == [float(i) for i in range(total - capacity, total)]
    assert y.tolist() == [-v for v in x.tolist()]
    assert buf.last_y() == float(-(total - 1))


def test_arrays_are_copies_the_caller_may_keep() -> None:
    """A redraw keeps the arrays it was given; later samples must not change them."""
    for n in (2, 5):  # contiguous and wrapped
        buf = RingBuffer(3)
        for i in range(n):
            buf.append(float(i), float(i))
        x, y = buf.arrays()
        kept = (x.copy(), y.copy())
        buf.append(99.0, 99.0)
        x[:] = -1.0
        assert np.array_equal(x, np.full_like(x, -1.0))
        again = buf.arrays()
        assert again[0][-1] == 99.0
        assert np.array_equal(kept[1], y)


def test_every_change_moves_the_version_and_reads_do_not() -> None:
    buf = RingBuffer(2)
    versions = [buf.version]
    for i in range(3):  # the third one overwrites
        buf.append(float(i), 1.0)
        versions.append(buf.version)
    buf.arrays()
    buf.last_y()
    assert buf.version == versions[-1]
    buf.clear()
    versions.append(buf.version)
    assert versions == sorted(set(versions))  # strictly increasing


def test_a_gap_breaks_the_curve_once_and_never_starts_one() -> None:
    buf = RingBuffer(8)
    buf.append_gap(0.0)  # nothing drawn yet: nothing to break
    assert len(buf) == 0
    buf.append(1.0, 70.0)
    buf.append_gap(2.0)
    buf.append_gap(3.0)  # already broken: no second NaN
    x, y = buf.arrays()
    assert x.tolist() == [1.0, 2.0]
    assert y[0] == 70.0
    assert math.isnan(y[1])
    assert math.isnan(buf.last_y())
    buf.append(4.0, 72.0)
    buf.append_gap(5.0)  # a new line can be broken again
    assert len(buf) == 4


def test_clear_forgets_everything_and_the_buffer_is_reusable() -> None:
    buf = RingBuffer(3)
    for i in range(5):
        buf.append(float(i), float(i))
    buf.clear()
    assert len(buf) == 0
    assert math.isnan(buf.last_y())
    buf.append(10.0, 1.0)
    x, _ = buf.arrays()
    assert x.tolist() == [10.0]
