"""Protocol benchmark: decode throughput per protocol, and link latency with 16 links live.

Usage::

    python benchmarks/protocol_bench.py [--runs 5] [--links 16] [--seconds 10] [--rate 10]
        [--load N]

1. Decode throughput: each driver is fed a stream its simulated monitor produced (the same
   bytes a real monitor sends), in 4 KiB chunks, and the median of ``--runs`` runs is printed in
   MB/s and frames/s, with the ratio to what 16 monitors produce (target: >= 1000x).
   Datex, IntelliVue and HL7 are also decoded with their fast paths swapped for the reference
   decoders they are tested against (tests/devices/test_fast_paths.py and
   test_fast_paths_datex.py), in the same run, and the ratio
   fast/reference is printed: what the fast paths buy on this machine, free of its load.
   Every protocol's frames/s is also printed per unit of a fixed pure-Python workload timed in
   the same run (frames decoded in the time that workload takes,
   benchmarks/load_reference.py): a figure that moves with the code, not with the machine's
   load.  ``--load N`` runs N busy processes throughout.
2. Link latency: ``--links`` DeviceRunners read ``--links`` ptys at once (the console's thread
   layout).  A writer per pty sends complete DRI frames at ``--rate`` per second; the latency is
   from the moment the frame's last byte was written to the moment its readings reach the sink
   (p50, p99; target p99 < 15 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import threading
import time
import tty
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.load_reference import LoadReport, busy_processes, fixed_workload_ms
from devices.base import Driver
from devices.clock import SystemClock
from devices.drivers import ge_datex as ge_datex_driver
from devices.drivers import hl7_gateway
from devices.model import DeviceState, Reading, TechnicalEvent
from devices.protocols import ge_datex, hl7_pcd01
from devices.protocols import philips_intellivue as piv
from devices.protocols.philips_intellivue import data_export, framing
from devices.registry import driver_class
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.launch import SIM_MONITORS, make_monitor
from devices.simulator.monitor import NibpSchedule
from devices.simulator.signals import PatientModel

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: Messages per second one monitor of each protocol sends (for the "x real time" ratio).
MONITOR_RATE = {"datex": 1.0, "intellivue": 1.0, "masimo": 1.0, "hl7": 0.1}


def monitor_stream(protocol: str, seconds: int) -> tuple[bytes, list[bytes]]:
    """Bytes a simulated monitor of ``protocol`` sends in ``seconds``, after its handshake.

    Returns the monitor-to-host stream and the host's own messages (which a conversation-driven
    driver such as IntelliVue must see answered first).
    """
    kind = SIM_MONITORS[protocol][1]
    driver = driver_class(kind)()
    monitor = make_monitor(protocol, PatientModel("routine", seed=1), START, NibpSchedule())
    stream = bytearray()
    t = START
    host_out = list(driver.handshake())
    for msg in host_out:
        monitor.receive(msg, t)
    for _ in range(seconds * 10):
        t += timedelta(seconds=0.1)
        for chunk in monitor.due(t):
            stream += chunk
            # Let the real driver answer, so conversation-driven monitors keep talking.
            out = driver.feed(chunk, t)
            for reply in out.replies:
                monitor.receive(reply, t)
        for msg in driver.poll_requests(t):
            monitor.receive(msg, t)
    return bytes(stream), host_out


@contextlib.contextmanager
def reference_paths(protocol: str) -> Iterator[None]:
    """Decode ``protocol`` with the reference decoders in place of its fast paths."""
    table: dict[str, list[tuple[object, str, object]]] = {
        "datex": [
            (ge_datex, "frame_sum8", ge_datex.checksum),
            (ge_datex_driver, "decode_phdb_record", ge_datex.decode_phdb_record_reference),
        ],
        "intellivue": [
            (piv, "decode_poll_numeric_rows", piv.decode_poll_numeric_rows_reference),
            (data_export, "_decode_data_export", piv.decode_data_export_reference),
            (framing, "crc16_x25_running", piv.crc16_x25_reference),
            (piv.AbsoluteTime, "to_datetime", piv.AbsoluteTime.to_datetime_reference),
        ],
        "hl7": [(hl7_gateway, "decode_message", hl7_pcd01.decode_message_reference)],
    }
    patches = table[protocol]
    with contextlib.ExitStack() as stack:
        for target, name, replacement in patches:
            stack.enter_context(mock.patch.object(target, name, replacement))
        yield


def decode_throughput(protocol: str, runs: int) -> tuple[float, float, int, float]:
    """(MB/s, frames/s, bytes, x-real-time for 16 monitors) as medians of ``runs``."""
    seconds = 600
    stream, _host = monitor_stream(protocol, seconds)
    kind = SIM_MONITORS[protocol][1]
    rates_mb, rates_f = [], []
    frames = 0
    for _ in range(runs):
        driver: Driver = driver_class(kind)()
        driver.handshake()
        # Replay the conversation state: feed once untimed so the driver is associated.
        t0 = time.perf_counter()
        n_readings = 0
        for i in range(0, len(stream), 4096):
            out = driver.feed(stream[i : i + 4096], START)
            n_readings += len(out.readings)
        dt = time.perf_counter() - t0
        frames = int(seconds * MONITOR_RATE[protocol])
        rates_mb.append(len(stream) / dt / 1e6)
        rates_f.append(frames / dt)
    f_med = statistics.median(rates_f)
    return statistics.median(rates_mb), f_med, len(stream), f_med / (16 * MONITOR_RATE[protocol])


class LatencySink:
    """Collects, per link, when each frame's readings arrived."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self._lock = threading.Lock()

    def on_readings(self, readings: list[Reading]) -> None:
        now = time.perf_counter()
        with self._lock:
            for r in readings:
                if r.device_time is not None:
                    self.arrived.setdefault(int(r.device_time.timestamp()), now)

    def on_event(self, event: TechnicalEvent) -> None:
        del event

    def on_state(self, state: DeviceState) -> None:
        del state


def link_latency(links: int, seconds: float, rate: float) -> tuple[list[float], int, int]:
    """Latencies (ms) of every frame over ``links`` live pty links; also (sent, received)."""
    ptys = []
    for _ in range(links):
        master, slave = os.openpty()
        tty.setraw(slave)
        ptys.append((master, slave, os.ttyname(slave)))
    sinks = [LatencySink() for _ in range(links)]
    cls = driver_class("ge-datex")
    runners = [
        DeviceRunner(
            cls(),
            LinkConfig(path, 19200, "N"),
            sink,
            clock=SystemClock(),
            name=f"runner-bench-{i}",
        )
        for i, ((_m, _s, path), sink) in enumerate(zip(ptys, sinks, strict=True))
    ]
    for r in runners:
        r.start()
    time.sleep(0.5)  # let every runner open its port and send its request
    sent: list[dict[int, float]] = [{} for _ in range(links)]
    stop = threading.Event()

    def writer(i: int) -> None:
        master = ptys[i][0]
        seq = 1_000_000 + i * 100_000
        period = 1.0 / rate
        nxt = time.perf_counter() + (i / links) * period  # stagger the links
        while not stop.is_set():
            now = time.perf_counter()
            if now < nxt:
                time.sleep(min(nxt - now, 0.01))
                continue
            record = ge_datex.encode_displayed_values_record(
                r_nbr=seq % 256,
                r_time=seq,
                dri_level=10,
                hr=70,
                imp_rr=14,
                nibp_sys=None,
                nibp_dia=None,
                nibp_mean=None,
                nibp_label=0x10B,
                spo2=98,
                pr=70,
            )
            frame = ge_datex.frame_record(record)
            os.write(master, frame)
            sent[i][seq] = time.perf_counter()
            seq += 1
            nxt += period

    writers = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(links)]
    for w in writers:
        w.start()
    time.sleep(seconds)
    stop.set()
    for w in writers:
        w.join()
    time.sleep(0.5)
    for r in runners:
        r.stop()
    for master, slave, _p in ptys:
        os.close(master)
        os.close(slave)
    lat, n_sent, n_recv = [], 0, 0
    for i in range(links):
        for seq, t_write in sent[i].items():
            n_sent += 1
            t_arrive = sinks[i].arrived.get(seq)
            if t_arrive is not None:
                n_recv += 1
                lat.append((t_arrive - t_write) * 1000)
    return lat, n_sent, n_recv


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--links", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="frames/s per link")
    parser.add_argument("--only", choices=["decode", "latency"], default=None)
    parser.add_argument("--load", type=int, default=0, help="busy processes beside the runs")
    args = parser.parse_args()
    with busy_processes(args.load):
        report = LoadReport.begin(args.load)
        run(args)
        report.end()
    sys.stdout.write(report.line() + "\n")


def run(args: argparse.Namespace) -> None:
    """The benchmark proper (under the load :func:`main` set up)."""
    out: Callable[[str], object] = sys.stdout.write
    if args.only != "latency":
        out(f"Decode throughput (median of {args.runs} runs, 4 KiB chunks, 10 min of data)\n")
        out(
            f"{'protocol':<11} {'MB/s':>8} {'frames/s':>10} {'x 16 monitors':>14} "
            f"{'frames per reference':>21}\n"
        )
        for protocol in ("datex", "intellivue", "masimo", "hl7"):
            mb, fps, _n, ratio = decode_throughput(protocol, args.runs)
            per_reference = fps * fixed_workload_ms() / 1000.0  # timed right after: same load
            out(f"{protocol:<11} {mb:>8.2f} {fps:>10.0f} {ratio:>13.0f}x {per_reference:>21.0f}\n")
            if protocol in ("datex", "intellivue", "hl7"):
                with reference_paths(protocol):
                    ref_mb, ref_fps, _n, ref_ratio = decode_throughput(protocol, args.runs)
                out(
                    f"{'  reference':<11} {ref_mb:>8.2f} {ref_fps:>10.0f} {ref_ratio:>13.0f}x"
                    f"   fast/reference {fps / ref_fps:.2f}\n"
                )
    if args.only != "decode":
        lat, n_sent, n_recv = link_latency(args.links, args.seconds, args.rate)
        out(
            f"\nLink latency, {args.links} pty links, {args.rate:g} frames/s each, "
            f"{args.seconds:g} s: sent {n_sent}, delivered {n_recv}\n"
        )
        if lat:
            out(
                f"write->reading ms: p50 {_pct(lat, 50):.2f}  p99 {_pct(lat, 99):.2f}  "
                f"max {max(lat):.2f}\n"
            )


if __name__ == "__main__":
    main()
