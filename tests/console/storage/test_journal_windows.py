"""The journal's file lock where there is no ``flock`` (Windows, issue 15).

Nothing here ran on Windows.  ``sys.platform`` is set to ``win32`` and ``msvcrt`` is a
stand-in with Windows' byte-range lock rules (a locked range refuses every other handle until
the holder closes it), so what is checked is the journal's own logic: which byte it locks,
that it takes another file when the lock is held, and that it adopts only unlocked files.
Before, ``_lock`` said "locked" to everyone on Windows: a second console took the first one's
file and moved the first one's spool into its own.
"""

from __future__ import annotations

import errno
import os
import sys
import types
from pathlib import Path

import pytest

from console.storage import journal as journal_module
from console.storage.journal import WINDOWS_LOCK_OFFSET, Journal
from tests.console.storage.test_journal import _batch


class FakeMsvcrt(types.ModuleType):
    """``msvcrt.locking`` as Windows keeps it: per file and byte, for one open handle."""

    LK_NBLCK = 2

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.held: dict[tuple[int, int, int], int] = {}
        self.positions: list[int] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        assert (mode, nbytes) == (self.LK_NBLCK, 1)
        stat = os.fstat(fd)
        position = os.lseek(fd, 0, os.SEEK_CUR)
        self.positions.append(position)
        key = (stat.st_dev, stat.st_ino, position)
        holder = self.held.get(key)
        if holder is not None and holder != fd and _open_on(holder, stat):
            raise OSError(errno.EACCES, "Permission denied")
        self.held[key] = fd


def _open_on(fd: int, stat: os.stat_result) -> bool:
    """Whether ``fd`` is still an open handle on the file ``stat`` describes (closing a
    handle releases its locks)."""
    try:
        other = os.fstat(fd)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (stat.st_dev, stat.st_ino)


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> FakeMsvcrt:
    fake = FakeMsvcrt()
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # not there: importing it fails
    return fake


@pytest.mark.expected_log("storage", r"^adopted 2 unsent batches from \S+$")
def test_two_consoles_take_two_files_and_orphans_are_adopted(
    windows: FakeMsvcrt, tmp_path: Path
) -> None:
    a = Journal.open(tmp_path, "db")
    b = Journal.open(tmp_path, "db")  # a second console on the same PC and database
    assert a.path != b.path
    a.append(_batch(0))
    b.append(_batch(1))
    b.append(_batch(2))
    assert a.pending_batches == 1  # nobody took a's spool
    assert set(windows.positions) == {WINDOWS_LOCK_OFFSET}  # never a byte of the data
    assert max(p.stat().st_size for p in tmp_path.iterdir()) < 10_000
    a.close()
    b.close()  # both "crashed"
    c = Journal.open(tmp_path, "db")
    assert c.pending_batches == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [c.path.name]
    c.close()


def test_a_held_file_is_neither_taken_nor_adopted(windows: FakeMsvcrt, tmp_path: Path) -> None:
    first = Journal.open(tmp_path, "db")
    batch = _batch(0)
    first.append(batch)
    second = Journal.open(tmp_path, "db")
    assert second.pending_batches == 0
    assert first.path.exists()
    assert [b for _off, b in first.peek(10)] == [batch]
    second.close()
    first.close()


def test_without_the_lock_the_second_console_takes_the_first_ones_file(
    windows: FakeMsvcrt, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: with the old "always locked" answer the hazard is back, so the tests
    above can fail."""
    monkeypatch.setattr(journal_module, "_lock_windows", lambda fd: True)
    a = Journal.open(tmp_path, "db")
    b = Journal.open(tmp_path, "db")
    assert a.path == b.path
    a.close()
    b.close()
