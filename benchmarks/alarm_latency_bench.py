"""Alarm latency with N chairs live: last byte of a frame on the pty -> engine -> painted banner.

Usage::

    QT_QPA_PLATFORM=offscreen python benchmarks/alarm_latency_bench.py [--chairs 16] [--seconds 60]

Every chair is a real ChairService (pty -> pyserial -> runner -> DRI driver -> alarm pipeline ->
storage writer and DeviceBridge) with its real ChairPanel shown (trends, numerics, banner), all
in one offscreen window, as on the ward.  A writer thread per chair sends normal DRI records
once a second and, every few seconds, a cuff result with SBP 210 (a HIGH alarm at once, no
confirmation needed); the benchmark then acknowledges the latched alarm so the next trial
starts clean.  Two latencies are printed, p50/p99/max over all trials:

- engine: from the write of the frame's last byte to the ONSET event leaving the alarm engine
  (runner thread);
- banner: from the same write to the first paint of the chair's banner showing the alarm.

Targets (issue 5): p99 under 15 ms to the engine and under 60 ms to the painted banner.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import tty
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QWidget

from console.config import load
from console.domain.alarms import AlarmEvent, AlarmEventKind
from console.domain.pipeline import ChairOutputs
from console.services.chair_service import ChairService
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.storage.writer import StorageWriter
from console.ui.chair_panel import PLOT_REFRESH_MS, ChairPanel
from console.ui.theme import STYLE_SHEET
from devices.clock import SystemClock
from devices.protocols import ge_datex

MEASURING, FRESH, OLD = 0x12B, 0x00B, 0x10B


def record(seq: int, sbp: float | None, label: int) -> bytes:
    """A framed DRI displayed-values record."""
    body = ge_datex.encode_displayed_values_record(
        r_nbr=seq % 256,
        r_time=int(time.time()),
        dri_level=10,
        hr=72,
        imp_rr=14,
        nibp_sys=sbp,
        nibp_dia=None if sbp is None else 80,
        nibp_mean=None if sbp is None else 110,
        nibp_label=label,
        spo2=97,
        pr=72,
    )
    return ge_datex.frame_record(body)


class BannerPaintWatch(QObject):
    """Records when a chair's alarm display (banner or overview tile) is first painted."""

    def __init__(self, label: QLabel) -> None:
        super().__init__(label)
        self.label = label
        self.armed_at: float | None = None
        self.painted: list[float] = []
        label.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            event.type() == QEvent.Type.Paint
            and self.armed_at is not None
            and "SBP" in self.label.text()
        ):
            self.painted.append(time.perf_counter() - self.armed_at)
            self.armed_at = None
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chairs", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--trial-every", type=float, default=4.0, help="seconds between trials")
    parser.add_argument(
        "--view",
        choices=["panels", "overview"],
        default="panels",
        help="panels: every chair's full view in one window (worst case); overview: the "
        "console's own window (build_app) with its overview grid, the tile as the banner",
    )
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setStyleSheet(STYLE_SHEET)
    tmp = tempfile.mkdtemp(prefix="alarm-bench-")
    engine = make_engine(f"sqlite:///{tmp}/bench.sqlite3")
    repo = SessionRepository(engine)
    repo.ensure_schema()
    writer = StorageWriter(engine)
    writer.start()

    ptys, chairs, watches = [], [], []
    engine_lat: list[float] = []
    armed: dict[int, float] = {}
    lock = threading.Lock()
    for _ in range(args.chairs):
        master, slave = os.openpty()
        tty.setraw(slave)
        ptys.append((master, slave))
    keep: list[object] = []  # widgets and the console app, kept alive for the run
    if args.view == "overview":
        from console.app import build_app

        cfg = Path(tmp) / "chairs.toml"
        cfg.write_text(
            "".join(
                f'[[chairs]]\nname = "Chair {i + 1}"\nkind = "ge-datex"\n'
                f'url = "{os.ttyname(slave)}"\n\n'
                for i, (_m, slave) in enumerate(ptys)
            )
        )
        console = build_app(
            load(cfg, {"storage.db_url": f"sqlite:///{tmp}/bench.sqlite3"}, environ={}),
            journal_dir=Path(tmp) / "journal",
            sound=False,
        )
        console.window.resize(1920, 1080)
        console.window.show()
        chairs = list(console.chairs)
        overview = console.window.overview
        assert overview is not None
        watches = [BannerPaintWatch(tile.alarm) for tile in overview.tiles]
        keep.append(console)
    else:
        window = QWidget()
        grid = QGridLayout(window)
        for i, (_m, slave) in enumerate(ptys):
            settings = load(
                overrides={
                    "storage.db_url": f"sqlite:///{tmp}/bench.sqlite3",
                    "device.kind": "ge-datex",
                    "device.url": os.ttyname(slave),
                    "chair.name": f"Chair {i + 1}",
                },
                environ={},
            )
            chair = ChairService(settings, writer=writer, repository=repo, clock=SystemClock())
            panel = ChairPanel(chair)
            # As the console's window does: chairs redraw their trends in different frames.
            panel.redraw_offset_ms = int(i * PLOT_REFRESH_MS / args.chairs)
            grid.addWidget(panel, i // 4, i % 4)
            chairs.append(chair)
            watches.append(BannerPaintWatch(panel.banner))
        window.resize(1920, 1080)
        window.show()
        keep.append(window)
        for chair in chairs:
            chair.start()
    for i, chair in enumerate(chairs):

        def on_alarms(events: list[AlarmEvent], i: int = i) -> None:
            now = time.perf_counter()
            for ev in events:
                if ev.kind is AlarmEventKind.ONSET and ev.key.startswith("NIBP_SYS"):
                    with lock:
                        t0 = armed.pop(i, None)
                    if t0 is not None:
                        engine_lat.append(now - t0)

        chair.pipeline.outputs.append(
            ChairOutputs(lambda rs: None, on_alarms, lambda ev: None, lambda st: None)
        )

    stop = threading.Event()
    to_acknowledge: list[int] = []

    def feed(i: int) -> None:
        master = ptys[i][0]
        seq = 0
        next_trial = time.perf_counter() + 3.0 + i * args.trial_every / args.chairs
        while not stop.is_set():
            seq += 1
            now = time.perf_counter()
            if now >= next_trial:
                os.write(master, record(seq, 120, MEASURING))
                time.sleep(0.05)
                frame = record(seq + 1, 210, FRESH)
                os.write(master, frame)
                t_write = time.perf_counter()
                with lock:
                    armed[i] = t_write
                watches[i].armed_at = t_write
                next_trial += args.trial_every
                # End the condition with a normal cuff result, so the next trial is a new onset.
                stop.wait(1.0)
                os.write(master, record(seq + 2, 120, MEASURING))
                time.sleep(0.05)
                os.write(master, record(seq + 3, 120, FRESH))
                seq += 3
                stop.wait(0.5)
                to_acknowledge.append(i)  # the GUI loop clears the latched alarm
            else:
                os.write(master, record(seq, 120, OLD))
            stop.wait(1.0)

    feeders = [threading.Thread(target=feed, args=(i,), daemon=True) for i in range(args.chairs)]
    for f in feeders:
        f.start()
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        app.processEvents()
        while to_acknowledge:  # clear the latched alarm so the next trial is a new onset
            chairs[to_acknowledge.pop()].alarms.acknowledge_all("bench")
        time.sleep(0.002)
    stop.set()
    for f in feeders:
        f.join()
    if args.view == "overview":
        console.shutdown()
    else:
        for chair in chairs:
            chair.stop()
    writer.stop()
    engine.dispose()
    for master, slave in ptys:
        os.close(master)
        os.close(slave)

    banner_lat = [x for w in watches for x in w.painted]

    def line(name: str, xs: list[float]) -> str:
        if not xs:
            return f"{name:<8} no samples"
        ms = sorted(x * 1000 for x in xs)
        p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
        return (
            f"{name:<8} n={len(ms):<4} p50 {statistics.median(ms):6.2f} ms  "
            f"p99 {p99:6.2f} ms  max {ms[-1]:6.2f} ms"
        )

    sys.stdout.write(
        f"Alarm latency, {args.chairs} chairs live, view={args.view}, {args.seconds:g} s, "
        f"{datetime.now(UTC):%Y-%m-%d}\n"
    )
    sys.stdout.write(line("engine", engine_lat) + "   (target p99 < 15 ms)\n")
    sys.stdout.write(line("banner", banner_lat) + "   (target p99 < 60 ms)\n")


if __name__ == "__main__":
    main()
