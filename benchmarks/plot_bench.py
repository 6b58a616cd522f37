"""Plotting benchmark: what 1-16 live chairs cost to draw, pyqtgraph against matplotlib.

Usage::

    python benchmarks/plot_bench.py [--chairs 1,4,8,16] [--seconds 10] [--runs 3]
                                    [--libs pg,mpl]

One load, with 1, 4, 8 and 16 chairs in a 1920x1080 window, offscreen
(``QT_QPA_PLATFORM=offscreen``), at x1 speed: per chair the console's own
:class:`console.ui.vitals_plot.TrendPlots` (NIBP sys/dia/mean, HR, SpO2 with the alarm-limit
lines) over a 45-minute history of 1 Hz numerics held in the console's ring buffers; redraw
timer at 10 Hz.  Samples of chair k arrive at k/N of each second, as unsynchronised monitors
deliver them, so trend redraws are staggered across chairs.  Target: 16 chairs at 10 fps in
<= 12 % of one core.

The pleth sweep load is gone with the sweep widget (issue 13): no monitor link delivers a
waveform, so the console draws none.

The same load is drawn with matplotlib as a typical user writes it (one FigureCanvasQTAgg per
chair, ``set_data`` + ``draw_idle`` when data change) and the ratio is printed.  Data are fed
straight into ring buffers (no serial, no alarms), so only drawing is measured.

Each configuration runs in a fresh process (no state carried between them): ``--seconds`` of
measurement after a 1.5 s warm-up.  CPU is the process's CPU time over wall time, in % of one
core; frame time is the wall time of one timer tick including the paint it causes (the tick
flushes Qt's posted events, so the paint happens inside it), median and p95.  With ``--runs``
the median of the runs is printed, per figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: Redraw rate (Hz).
FPS = 10.0
#: Target for 16 chairs: (minimum fps, maximum CPU % of one core).
TARGET = (10.0, 12.0)
#: The throwaway prototype's pyqtgraph figures (shared/performance.md table C):
#: fps / CPU % / frame ms, for "ring_opts @10".
PROTOTYPE = {
    1: (10.0, 3.8, 4.1),
    4: (10.0, 7.5, 6.8),
    8: (9.8, 14.9, 14.9),
    16: (8.1, 28.8, 33.1),
}
HISTORY_MIN = 45.0
NIBP_EVERY_S = 300.0
WARMUP_S = 1.5
WINDOW = (1920, 1080)
FloatArray = npt.NDArray[np.float64]


@dataclass
class Result:
    """One configuration's measurement."""

    fps: float
    cpu_pct: float
    frame_ms_p50: float
    frame_ms_p95: float
    frames: int


# -- synthetic patients ------------------------------------------------------------------------
class Patient:
    """One chair's synthetic 1 Hz numerics, on the wall clock."""

    def __init__(self, index: int, count: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed + index)
        self.offset_s = index / count  # chair k's sample arrives at k/N of each second
        self.hr = 70.0 + 10 * self.rng.random()
        self.next_numeric_s = self.offset_s
        #: The cuff cycles are unsynchronised too: the next NIBP is somewhere in 0-5 min.
        self.next_nibp_s = float(self.rng.uniform(0, NIBP_EVERY_S))

    def numeric(self, t_min: float) -> tuple[float, float, float]:
        """HR, SpO2, RR at session minute ``t_min``."""
        hr = self.hr + 5 * math.sin(t_min / 7) + self.rng.normal(0, 1.5)
        spo2 = min(100.0, 97 + self.rng.normal(0, 0.7))
        return hr, spo2, 14 + self.rng.normal(0, 1)

    def nibp(self, t_min: float) -> tuple[float, float, float]:
        """SBP, DBP, MAP at session minute ``t_min`` (rising during the infusion)."""
        sbp = 125 + 0.6 * t_min + self.rng.normal(0, 4)
        dbp = 78 + 0.3 * t_min + self.rng.normal(0, 3)
        return sbp, dbp, (sbp + 2 * dbp) / 3


# -- the workers --------------------------------------------------------------------------------
class Chair:
    """What a worker draws for one chair: subclasses push data into their library's plots."""

    def feed_numerics(self, t_min: float, values: tuple[float, float, float]) -> None:
        raise NotImplementedError

    def feed_nibp(self, t_min: float, values: tuple[float, float, float]) -> None:
        raise NotImplementedError

    def redraw(self, now_min: float) -> None:
        raise NotImplementedError


def _prefill(chair: Chair, patient: Patient) -> None:
    """45 minutes of history, so curves are as long as they are late in a session."""
    for s in range(int(HISTORY_MIN * 60)):
        t_min = s / 60.0
        chair.feed_numerics(t_min, patient.numeric(t_min))
        if s % int(NIBP_EVERY_S) == 0:
            chair.feed_nibp(t_min, patient.nibp(t_min))


def pg_chairs(count: int) -> tuple[Any, list[Chair]]:
    """The console's widgets: TrendPlots over RingBuffers in a grid."""
    from PySide6.QtWidgets import QGridLayout, QVBoxLayout, QWidget

    from console.config import load
    from console.services.chair_service import TREND_CAPACITY
    from console.services.plot_buffer import RingBuffer
    from console.ui.vitals_plot import TrendPlots
    from devices.model import Metric

    policy = load(overrides={"storage.db_url": "sqlite://"}, environ={}).alarm_policy

    class PgChair(Chair):
        def __init__(self) -> None:
            self.trends = {m: RingBuffer(TREND_CAPACITY) for m in Metric}
            self.widget = QWidget()
            layout = QVBoxLayout(self.widget)
            layout.setContentsMargins(2, 2, 2, 2)
            self.plots = TrendPlots(self.trends, policy)
            layout.addWidget(self.plots, 3)

        def feed_numerics(self, t_min: float, values: tuple[float, float, float]) -> None:
            for metric, v in zip((Metric.HR, Metric.SPO2, Metric.RR), values, strict=True):
                self.trends[metric].append(t_min, v)

        def feed_nibp(self, t_min: float, values: tuple[float, float, float]) -> None:
            metrics = (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)
            for metric, v in zip(metrics, values, strict=True):
                self.trends[metric].append(t_min, v)

        def redraw(self, now_min: float) -> None:
            self.plots.refresh(now_min)

    window = QWidget()
    grid = QGridLayout(window)
    grid.setContentsMargins(2, 2, 2, 2)
    grid.setSpacing(4)
    cols = math.ceil(math.sqrt(count))
    chairs: list[Chair] = []
    for i in range(count):
        chair = PgChair()
        grid.addWidget(chair.widget, i // cols, i % cols)
        chairs.append(chair)
    return window, chairs


def mpl_chairs(count: int) -> tuple[Any, list[Chair]]:
    """The same load as a typical matplotlib user draws it: set_data + draw_idle."""
    os.environ.setdefault("QT_API", "pyside6")
    import matplotlib

    matplotlib.use("QtAgg")
    from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
    from matplotlib.figure import Figure
    from PySide6.QtWidgets import QGridLayout, QWidget

    from console.config import load
    from devices.model import Metric

    policy = load(overrides={"storage.db_url": "sqlite://"}, environ={}).alarm_policy
    cols = math.ceil(math.sqrt(count))

    class MplChair(Chair):
        def __init__(self) -> None:
            self.figure = Figure(figsize=(4, 3), dpi=72)
            # Any: matplotlib is optional (the bench extra); typed or not, the same line checks.
            self.canvas: Any = cast(Any, FigureCanvasQTAgg)(self.figure)
            axes = self.figure.subplots(3, 1, sharex=False)
            specs = (
                ((40, 230), (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)),
                ((30, 170), (Metric.HR,)),
                ((80, 101), (Metric.SPO2,)),
            )
            self.data: dict[Metric, tuple[list[float], list[float]]] = {}
            self.lines: dict[Metric, Any] = {}
            for ax, (y_range, metrics) in zip(axes, specs, strict=False):
                ax.set_ylim(*y_range)
                ax.set_xlim(0, 60)
                ax.grid(alpha=0.15)
                for metric in metrics:
                    nibp = metric in (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)
                    (line,) = ax.plot([], [], marker="o" if nibp else None, markersize=3)
                    self.lines[metric] = line
                    self.data[metric] = ([], [])
                    for rule in policy.limit_lines(metric):
                        ax.axhline(rule.limit, linestyle="--", linewidth=0.8)
            self.changed: set[Metric] = set()

        def _append(self, metric: Metric, t_min: float, v: float) -> None:
            xs, ys = self.data[metric]
            xs.append(t_min)
            ys.append(v)
            self.changed.add(metric)

        def feed_numerics(self, t_min: float, values: tuple[float, float, float]) -> None:
            for metric, v in zip((Metric.HR, Metric.SPO2, Metric.RR), values, strict=True):
                if metric in self.lines:
                    self._append(metric, t_min, v)

        def feed_nibp(self, t_min: float, values: tuple[float, float, float]) -> None:
            metrics = (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN)
            for metric, v in zip(metrics, values, strict=True):
                self._append(metric, t_min, v)

        def redraw(self, now_min: float) -> None:
            del now_min
            if not self.changed:
                return
            for metric in self.changed:
                self.lines[metric].set_data(*self.data[metric])
            self.changed.clear()
            self.canvas.draw_idle()

    window = QWidget()
    grid = QGridLayout(window)
    grid.setContentsMargins(2, 2, 2, 2)
    grid.setSpacing(4)
    chairs: list[Chair] = []
    for i in range(count):
        chair = MplChair()
        grid.addWidget(chair.canvas, i // cols, i % cols)
        chairs.append(chair)
    return window, chairs


def run_worker(lib: str, count: int, seconds: float, seed: int) -> Result:
    """Draw ``count`` chairs for ``seconds`` and measure (runs in its own process)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from console.ui.theme import STYLE_SHEET

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setStyleSheet(STYLE_SHEET)
    make: Callable[[int], tuple[Any, list[Chair]]] = pg_chairs if lib == "pg" else mpl_chairs
    window, chairs = make(count)
    patients = [Patient(i, count, seed) for i in range(count)]
    for chair, patient in zip(chairs, patients, strict=True):
        _prefill(chair, patient)
    window.resize(*WINDOW)
    window.show()
    for _ in range(3):
        app.processEvents()

    frame_ms: list[float] = []
    t0 = time.perf_counter()
    state = {"measuring": False, "cpu0": 0.0, "wall0": 0.0}

    def tick() -> None:
        start = time.perf_counter()
        elapsed = start - t0
        now_min = HISTORY_MIN + elapsed / 60.0
        for chair, patient in zip(chairs, patients, strict=True):
            while elapsed >= patient.next_numeric_s:
                t_min = HISTORY_MIN + patient.next_numeric_s / 60.0
                chair.feed_numerics(t_min, patient.numeric(t_min))
                if patient.next_numeric_s >= patient.next_nibp_s:
                    chair.feed_nibp(t_min, patient.nibp(t_min))
                    patient.next_nibp_s += NIBP_EVERY_S
                patient.next_numeric_s += 1.0
            chair.redraw(now_min)
        # Deliver the paints this tick caused (scene -> viewport -> window), so the frame time
        # includes them; three passes cover Qt's chained posted events.
        for _ in range(3):
            app.processEvents()
        if state["measuring"]:
            frame_ms.append((time.perf_counter() - start) * 1000)

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(round(1000 / FPS))
    timer.timeout.connect(tick)
    timer.start()

    def begin() -> None:
        state.update(measuring=True, cpu0=time.process_time(), wall0=time.perf_counter())

    QTimer.singleShot(int(WARMUP_S * 1000), begin)
    QTimer.singleShot(int((WARMUP_S + seconds) * 1000), app.quit)
    app.exec()
    wall = time.perf_counter() - state["wall0"]
    cpu = time.process_time() - state["cpu0"]
    timer.stop()
    window.close()
    frames = len(frame_ms)
    if os.environ.get("PLOT_BENCH_DUMP"):
        sys.stderr.write(" ".join(f"{f:.0f}" for f in frame_ms) + "\n")
    return Result(
        fps=frames / wall,
        cpu_pct=100 * cpu / wall,
        frame_ms_p50=statistics.median(frame_ms) if frame_ms else float("nan"),
        frame_ms_p95=float(np.percentile(frame_ms, 95)) if frame_ms else float("nan"),
        frames=frames,
    )


# -- the driver ---------------------------------------------------------------------------------
def measure(lib: str, count: int, seconds: float, runs: int) -> Result:
    """Median of ``runs`` fresh-process runs of one configuration."""
    results: list[Result] = []
    for run in range(runs):
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                f"{lib},{count},{seconds},{run + 1}",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=seconds * 10 + 120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"worker {lib} {count} failed:\n{out.stderr}")
        results.append(Result(**json.loads(out.stdout.strip().splitlines()[-1])))
    return Result(
        fps=statistics.median(r.fps for r in results),
        cpu_pct=statistics.median(r.cpu_pct for r in results),
        frame_ms_p50=statistics.median(r.frame_ms_p50 for r in results),
        frame_ms_p95=statistics.median(r.frame_ms_p95 for r in results),
        frames=int(statistics.median(r.frames for r in results)),
    )


def _cell(r: Result | None) -> str:
    if r is None:
        return "-"
    return f"{r.fps:.1f} / {r.cpu_pct:.1f} / {r.frame_ms_p50:.1f} ({r.frame_ms_p95:.1f})"


def _cpu_per_frame(r: Result) -> float:
    return r.cpu_pct * 10 / max(r.fps, 1e-9)  # ms of CPU per drawn frame


def main(argv: Sequence[str] | None = None) -> int:
    """Run the matrix and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chairs", default="1,4,8,16", help="chair counts (default 1,4,8,16)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (median)")
    parser.add_argument("--libs", default="pg,mpl", help="pg (the console) and/or mpl")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        lib, count, seconds, seed = args.worker.split(",")
        result = run_worker(lib, int(count), float(seconds), int(seed))
        sys.stdout.write(json.dumps(asdict(result)) + "\n")
        return 0

    counts = [int(c) for c in args.chairs.split(",")]
    libs = args.libs.split(",")
    out = sys.stdout
    out.write(
        f"plot_bench: offscreen {WINDOW[0]}x{WINDOW[1]}, {args.seconds:g} s per run, "
        f"median of {args.runs} run(s), {os.cpu_count()} CPUs\n"
        "cells: fps / CPU % of one core / frame ms p50 (p95)\n"
    )
    failed = False
    out.write(f"\ntrends, redraw timer {FPS:g} Hz\n\n")
    out.write(
        "| chairs | pyqtgraph (console) | matplotlib QtAgg | mpl/pg CPU per frame "
        "| prototype pg |\n|---|---|---|---|---|\n"
    )
    for count in counts:
        res = {lib: measure(lib, count, args.seconds, args.runs) for lib in libs}
        pg, mpl = res.get("pg"), res.get("mpl")
        ratio = f"{_cpu_per_frame(mpl) / _cpu_per_frame(pg):.0f}x" if pg and mpl else "-"
        proto = PROTOTYPE.get(count)
        proto_text = f"{proto[0]} / {proto[1]} / {proto[2]}" if proto else "-"
        out.write(f"| {count} | {_cell(pg)} | {_cell(mpl)} | {ratio} | {proto_text} |\n")
        out.flush()
        if pg is not None and count == 16:
            min_fps, max_cpu = TARGET
            ok = pg.fps >= min_fps * 0.97 and pg.cpu_pct <= max_cpu
            failed |= not ok
            out.write(
                f"\ntarget for 16 chairs: >= {min_fps:g} fps in <= {max_cpu:g} % CPU: "
                f"{'MET' if ok else 'MISSED'} ({pg.fps:.1f} fps, {pg.cpu_pct:.1f} %)\n"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
