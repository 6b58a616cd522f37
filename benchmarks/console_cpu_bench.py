"""CPU the whole console uses with N live chairs at x1, against a plain reader of the same bytes.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/console_cpu_bench.py [--chairs 16] [--seconds 60]
        [--warmup 15] [--runs 3] [--load N]

Each run starts the console's own entry point in a fresh process (``main.py --chairs N``,
simulated monitors at x1, a new SQLite file, the overview on screen, offscreen), lets it settle
for ``--warmup`` seconds, then reads the process's CPU time (``/proc``, Linux) over
``--seconds``.  Printed: the share of one core for the whole process and for its GUI (main)
thread.

The same-run **reference** is a plain program started the same way: the same N simulated
monitors (same protocols and seeds, on ptys at x1) read by N plain pyserial threads that throw
the bytes away: no decoding, no alarms, no storage, no GUI.  It is what acquiring the same bytes
costs at least; the console's CPU is printed as a ratio to it.  ``--load N`` runs N busy
processes throughout (benchmarks/load_reference.py).

Targets (issue 14): 16 chairs at most 10 % of one core; 32 chairs at most 20 %.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_reference import LoadReport, busy_processes, child_env  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of process ``pid`` (or of its thread ``tid``)."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid is not None else f"/proc/{pid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def _child_reference(chairs: int) -> None:
    """N simulated monitors on ptys, each read by a plain pyserial thread; runs until killed."""
    import serial

    from console.config import SIM_PROTOCOLS
    from devices.clock import SystemClock
    from devices.simulator.launch import start_simulator

    clock = SystemClock()
    for i in range(chairs):
        sim = start_simulator(
            clock, protocol=SIM_PROTOCOLS[i % len(SIM_PROTOCOLS)], seed=1 + i, name=f"sim-{i}"
        )
        port = serial.Serial(sim.path, timeout=0.5)

        def read(port: serial.Serial = port) -> None:
            while True:
                port.read(port.in_waiting or 1)

        threading.Thread(target=read, daemon=True).start()
    threading.Event().wait()


def measure(kind: str, chairs: int, warmup_s: float, seconds: float) -> tuple[float, float]:
    """(% of one core for the process, % for its main thread) over ``seconds``."""
    with tempfile.TemporaryDirectory(prefix="cpu-bench-") as tmp:
        env = child_env(tmp)
        if kind == "console":
            db = f"sqlite:///{tmp}/cpu.sqlite3"
            cmd = [sys.executable, str(ROOT / "main.py"), "--chairs", str(chairs)]
            cmd += ["--db", db, "--log-level", "ERROR"]
        else:
            cmd = [sys.executable, __file__, "--child-reference", "--chairs", str(chairs)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            time.sleep(warmup_s)
            if proc.poll() is not None:
                err = proc.stderr.read().decode()[-800:] if proc.stderr else ""
                raise RuntimeError(f"{kind} exited with {proc.returncode}: {err}")
            t0, p0, m0 = time.monotonic(), cpu_seconds(proc.pid), cpu_seconds(proc.pid, proc.pid)
            time.sleep(seconds)
            t1, p1, m1 = time.monotonic(), cpu_seconds(proc.pid), cpu_seconds(proc.pid, proc.pid)
        finally:
            proc.kill()
            proc.wait(timeout=30)
    wall = t1 - t0
    return 100.0 * (p1 - p0) / wall, 100.0 * (m1 - m0) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chairs", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the runs")
    parser.add_argument("--child-reference", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_reference:
        _child_reference(args.chairs)
        return

    console: list[tuple[float, float]] = []
    reference: list[float] = []
    with busy_processes(args.load):
        report = LoadReport.begin(args.load)
        for _ in range(args.runs):
            reference.append(measure("reference", args.chairs, args.warmup, args.seconds)[0])
            console.append(measure("console", args.chairs, args.warmup, args.seconds))
        report.end()
    total = statistics.median(c[0] for c in console)
    gui = statistics.median(c[1] for c in console)
    ref = statistics.median(reference)
    target = 10.0 if args.chairs <= 16 else 20.0
    sys.stdout.write(
        f"Console CPU, {args.chairs} chairs at x1, {args.seconds:g} s after {args.warmup:g} s, "
        f"{args.runs} runs (medians)\n{report.line()}\n"
        f"console   {total:5.1f} % of one core (GUI thread {gui:4.1f} %)   runs "
        + ", ".join(f"{c[0]:.1f}" for c in console)
        + f"   target <= {target:g} %\n"
        f"reference {ref:5.1f} % (the same simulated monitors read by plain pyserial threads)\n"
        f"console / reference {total / ref:.2f}\n"
    )
    summary = {
        "chairs": args.chairs,
        "load": args.load,
        "console_cpu_pct": round(total, 1),
        "gui_thread_cpu_pct": round(gui, 1),
        "reference_cpu_pct": round(ref, 1),
        "ratio": round(total / ref, 2),
    }
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
