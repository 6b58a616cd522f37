"""Start-up: from launching the console to the first paint of its window, with N chairs.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/startup_bench.py [--chairs 16] [--runs 5] [--load N]

Each run starts a fresh interpreter that runs the console's own entry point
(``console.cli.main`` with ``--chairs N`` simulated chairs, a new SQLite file, so the schema is
created as on a first start) and stops at the first paint of the main window.  The time counted
is wall time from the parent's spawn to that paint: interpreter start, imports, configuration,
the schema, the chairs' construction and the window's layout, as a nurse waits for them.

The same-run **reference** is a plain PySide6 program started the same way: a QApplication,
the console's style sheet and a maximized window of N labels in a grid.  It pays the
interpreter, Qt's start and a first paint, and none of the console's work; the console's time
is printed as a ratio to it.  ``--load N`` runs N busy processes throughout
(benchmarks/load_reference.py).  Target (issue 14): first paint with 16 chairs at most 2.5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_reference import LoadReport, busy_processes, child_env  # noqa: E402

#: What a child prints: the wall time (time.time()) of the first paint.
PAINTED = "first-paint "


def _child_console(chairs: int, db_dir: str) -> int:
    """Run the console's entry point until its main window is first painted."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(sys.argv[:1])

    class FirstPaint(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.done = False

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
            if not self.done and event.type() == QEvent.Type.Paint:
                window = obj.window() if hasattr(obj, "window") else None
                if isinstance(window, QMainWindow):
                    self.done = True
                    sys.stdout.write(f"{PAINTED}{time.time():.6f}\n")
                    sys.stdout.flush()
                    QTimer.singleShot(0, app.quit)
            return False

    watch = FirstPaint()
    app.installEventFilter(watch)
    from console.cli import main

    db = f"sqlite:///{db_dir}/startup.sqlite3"
    return main(["--chairs", str(chairs), "--db", db, "--log-level", "ERROR"])


def _child_reference(chairs: int) -> int:
    """A plain PySide6 window of ``chairs`` labels: the interpreter, Qt and one paint."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QMainWindow, QWidget

    from console.ui.theme import STYLE_SHEET

    app = QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE_SHEET)
    window = QMainWindow()
    central = QWidget()
    grid = QGridLayout(central)
    for i in range(chairs):
        grid.addWidget(QLabel(f"Chair {i + 1}\nHR 72  SpO2 97\nNIBP 120/80"), i // 4, i % 4)
    window.setCentralWidget(central)

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                sys.stdout.write(f"{PAINTED}{time.time():.6f}\n")
                sys.stdout.flush()
                app.removeEventFilter(self)
                QTimer.singleShot(0, app.quit)
            return False

    watch = FirstPaint()
    app.installEventFilter(watch)
    window.showMaximized()
    return app.exec()


def time_child(kind: str, chairs: int) -> float:
    """Seconds from spawn to the child's first paint."""
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        env = child_env(tmp)
        start = time.time()
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--chairs", str(chairs), "--dir", tmp],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    painted = [line for line in done.stdout.splitlines() if line.startswith(PAINTED)]
    if not painted:
        raise RuntimeError(f"{kind} never painted (exit {done.returncode}): {done.stderr[-800:]}")
    return float(painted[0][len(PAINTED) :]) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chairs", type=int, default=16)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the runs")
    parser.add_argument("--child", choices=["console", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "console":
        raise SystemExit(_child_console(args.chairs, args.dir))
    if args.child == "reference":
        raise SystemExit(_child_reference(args.chairs))

    console_s: list[float] = []
    reference_s: list[float] = []
    with busy_processes(args.load):
        report = LoadReport.begin(args.load)
        for _ in range(args.runs):  # interleaved: both see the same moments of the machine
            reference_s.append(time_child("reference", args.chairs))
            console_s.append(time_child("console", args.chairs))
        report.end()
    console_med, reference_med = statistics.median(console_s), statistics.median(reference_s)
    sys.stdout.write(
        f"Start-up to first paint, {args.chairs} chairs, {args.runs} runs\n{report.line()}\n"
        f"console   median {console_med:.2f} s  (runs {', '.join(f'{x:.2f}' for x in console_s)})"
        "   target <= 2.5 s with 16 chairs\n"
        f"reference median {reference_med:.2f} s  (plain PySide6 window of {args.chairs} labels)\n"
        f"console / reference {console_med / reference_med:.2f}\n"
    )
    summary = {
        "chairs": args.chairs,
        "runs": args.runs,
        "load": args.load,
        "console_first_paint_s": round(console_med, 3),
        "reference_first_paint_s": round(reference_med, 3),
        "ratio": round(console_med / reference_med, 2),
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
