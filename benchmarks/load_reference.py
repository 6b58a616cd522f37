"""What every benchmark needs to be read on a shared, noisy machine: the load it ran under.

Why: this 2-core machine is shared, and a figure measured on it means little alone.  A
benchmark therefore (a) can add a known load of its own (``--load N``: N busy processes, one
pure-Python spin loop each), and (b) times a fixed pure-Python workload in the same run, before
and after what it measures, so a reader sees how fast this machine was at that moment.  The
load average at the start and at the end is printed beside it.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

#: One busy process: a pure-Python spin loop, killed when the benchmark ends.
BUSY_LOOP = "while True:\n    pass\n"


@contextlib.contextmanager
def busy_processes(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run ``count`` busy processes for the duration of the block (``--load N``)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP], stdin=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait(timeout=10)


def fixed_workload_ms(repeats: int = 5) -> float:
    """Median milliseconds of a fixed pure-Python workload (the same-run reference).

    The workload is the kind of work the console's threads do: small-integer arithmetic,
    bytes slicing and dict updates under the GIL.
    """
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        acc: dict[int, int] = {}
        data = bytes(range(256)) * 64
        for i in range(60_000):
            chunk = data[i % 16000 : i % 16000 + 8]
            acc[i & 1023] = acc.get(i & 1023, 0) + chunk[0] * 3 + (i >> 3)
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def child_env(tmp: str) -> dict[str, str]:
    """The environment of a console started by a benchmark: offscreen unless asked otherwise,
    and every per-user directory (data, configuration, the log file) inside ``tmp``, so a
    benchmark never writes into the user's own."""
    return dict(
        os.environ,
        QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        XDG_DATA_HOME=f"{tmp}/data",
        XDG_CONFIG_HOME=f"{tmp}/config",
        XDG_STATE_HOME=f"{tmp}/state",
    )


@dataclass
class LoadReport:
    """The machine's state around one measurement."""

    busy_processes: int
    loadavg_start: float
    loadavg_end: float = 0.0
    reference_ms_start: float = 0.0
    reference_ms_end: float = 0.0

    @classmethod
    def begin(cls, busy: int) -> LoadReport:
        """Read the load and time the reference workload (call after starting the load)."""
        report = cls(busy_processes=busy, loadavg_start=os.getloadavg()[0])
        report.reference_ms_start = fixed_workload_ms()
        return report

    def end(self) -> None:
        """Read the load and time the reference again (before stopping the load)."""
        self.loadavg_end = os.getloadavg()[0]
        self.reference_ms_end = fixed_workload_ms()

    def line(self) -> str:
        """One line for the benchmark's output."""
        return (
            f"load: {self.busy_processes} busy process(es) of our own, load average "
            f"{self.loadavg_start:.2f} -> {self.loadavg_end:.2f}; fixed pure-Python "
            f"reference workload {self.reference_ms_start:.1f} ms -> {self.reference_ms_end:.1f} ms"
        )
