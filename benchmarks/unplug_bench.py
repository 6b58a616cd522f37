"""Unplug benchmark: unplug-to-alarm and replug-to-data per protocol, through real ptys.

Usage::

    python benchmarks/unplug_bench.py [--runs 5] [--hold 11] [--protocols datex,intellivue,...]

Each trial serves a simulated monitor on a pty (the production path: pty -> pyserial -> runner ->
driver -> the console's alarm pipeline), pulls the cable (the pty is closed and its path
removed, as udev removes ``/dev/ttyUSB0``), holds it out for ``--hold`` seconds and plugs it
back in behind the same path.  Two figures per protocol, median of ``--runs`` trials:

- **unplug -> alarm**: from the unplug to the communication-lost ONSET leaving the alarm engine;
- **replug -> data**: from the replug to the first usable reading reaching the pipeline.

The same run also measures a **reference**: a second monitor of the same protocol, unplugged and
replugged at the same instants, read the way the console read before issue 12 item 14 — the
alarm only from silence (the link's DISCONNECTED state withheld from the engine, fixed 10 s
threshold) and the runner's plain exponential back-off (0.25 s doubling to 8 s).  The ratio
reference / console is printed, with the machine's load average, so a figure can be judged
against the load it was taken under.

An HL7 gateway pushes on its own schedule (every 10 s here, as the simulator's default): no
reader can get data from it sooner than its next push, so its replug -> data is bounded by
that interval; ``replug -> open`` (the port reopened, CONNECTED) shows the console's own part.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.domain.alarm_events import AlarmEvent, AlarmEventKind, TechnicalAlarmKind
from console.domain.alarm_profiles import ThresholdProfile
from console.domain.pipeline import ChairOutputs, ChairPipeline
from devices.clock import SystemClock
from devices.model import DeviceState, Reading, TechnicalEvent, TechnicalEventKind
from devices.registry import driver_class
from devices.runner import DeviceRunner, LinkConfig
from devices.simulator.hl7_gateway_sim import start_hl7_on_pty
from devices.simulator.intellivue_monitor import start_intellivue_on_pty
from devices.simulator.launch import SIM_MONITORS, start_datex_on_pty
from devices.simulator.masimo_monitor import start_masimo_on_pty
from devices.simulator.pty_endpoint import PtyEndpoint

STARTERS: dict[str, Callable[..., PtyEndpoint]] = {
    "datex": start_datex_on_pty,
    "intellivue": start_intellivue_on_pty,
    "masimo": start_masimo_on_pty,
    "hl7": start_hl7_on_pty,
}


class PlainBackoffRunner(DeviceRunner):
    """The reference: the runner's back-off before it watched the device path."""

    def _backoff(self, attempt: int) -> bool:
        from devices.runner import BACKOFF_S

        return self._stop_event.wait(BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])


class SilenceOnlySink:
    """The reference sink: the pipeline never hears DISCONNECTED, only silence raises the alarm."""

    def __init__(self, pipeline: ChairPipeline) -> None:
        self.pipeline = pipeline

    def on_readings(self, readings: list[Reading]) -> None:
        self.pipeline.on_readings(readings)

    def on_event(self, event: TechnicalEvent) -> None:
        self.pipeline.on_event(event)

    def on_state(self, state: DeviceState) -> None:
        if state is not DeviceState.DISCONNECTED:
            self.pipeline.on_state(state)


@dataclass
class Watch:
    """Real times of what one link produced."""

    data: list[float] = field(default_factory=list)
    alarms: list[float] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def outputs(self) -> ChairOutputs:
        return ChairOutputs(self._readings, self._alarms, self._technical, lambda s: None)

    def _readings(self, readings: list[Reading]) -> None:
        if any(r.usable for r in readings):
            with self.cond:
                self.data.append(time.monotonic())
                self.cond.notify_all()

    def _alarms(self, events: list[AlarmEvent]) -> None:
        for ev in events:
            if (
                ev.kind is AlarmEventKind.ONSET
                and ev.technical_kind is TechnicalAlarmKind.COMM_LOST
            ):
                with self.cond:
                    self.alarms.append(time.monotonic())
                    self.cond.notify_all()

    def _technical(self, event: TechnicalEvent) -> None:
        if event.kind is TechnicalEventKind.CONNECTED:
            with self.cond:
                self.opened.append(time.monotonic())
                self.cond.notify_all()

    def first_after(self, which: str, t: float, timeout_s: float) -> float | None:
        """Seconds from ``t`` to the first ``which`` time after it, None on time-out."""
        with self.cond:
            self.cond.wait_for(lambda: any(x > t for x in getattr(self, which)), timeout_s)
            later = [x for x in getattr(self, which) if x > t]
        return later[0] - t if later else None


@dataclass
class Link:
    endpoint: PtyEndpoint
    runner: DeviceRunner
    pipeline: ChairPipeline
    watch: Watch

    def stop(self) -> None:
        self.pipeline.stop_ticking()
        self.runner.stop()
        self.endpoint.stop()


def start_link(protocol: str, reference: bool, seed: int) -> Link:
    clock = SystemClock()
    kind = SIM_MONITORS[protocol][1]
    cls = driver_class(kind)
    endpoint = STARTERS[protocol](clock, seed=seed)
    watch = Watch()
    pipeline = ChairPipeline(ThresholdProfile(), [watch.outputs()])
    driver = cls()
    if not reference:
        pipeline.engine.link_gap_s = driver.quiet_after_s
    link = LinkConfig(endpoint.path, cls.default_baud, cls.parity, device_id=protocol)
    runner_cls = PlainBackoffRunner if reference else DeviceRunner
    sink = SilenceOnlySink(pipeline) if reference else pipeline
    runner = runner_cls(driver, link, sink, clock=clock, name=f"bench-{protocol}-{reference}")
    runner.start()
    pipeline.start_ticking(clock, name=f"ticker-{protocol}-{reference}")
    return Link(endpoint, runner, pipeline, watch)


@dataclass
class Trial:
    alarm: float | None
    data: float | None
    opened: float | None


def trial(protocol: str, hold_s: float, seed: int) -> tuple[Trial, Trial]:
    """One unplug/replug of a console link and a reference link, at the same instants."""
    links = [start_link(protocol, reference, seed) for reference in (False, True)]
    try:
        for link in links:
            if link.watch.first_after("data", 0.0, 30.0) is None:
                raise RuntimeError(f"{protocol}: no data before the unplug")
        unplugged = time.monotonic()
        for link in links:
            link.endpoint.unplug()
        alarms = [link.watch.first_after("alarms", unplugged, hold_s) for link in links]
        time.sleep(max(0.0, unplugged + hold_s - time.monotonic()))
        replugged = time.monotonic()
        for link in links:
            link.endpoint.replug()
        opened = [link.watch.first_after("opened", replugged, 30.0) for link in links]
        data = [link.watch.first_after("data", replugged, 30.0) for link in links]
    finally:
        for link in links:
            link.stop()
    return Trial(alarms[0], data[0], opened[0]), Trial(alarms[1], data[1], opened[1])


def median(xs: list[float | None]) -> float | None:
    values = [x for x in xs if x is not None]
    return statistics.median(values) if len(values) == len(xs) and values else None


def fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{x:5.2f}"


def ratio(ref: float | None, ours: float | None) -> str:
    if ref is None or ours is None or ours <= 0:
        return "   -"
    return f"{ref / ours:4.0f}x" if ref / ours >= 10 else f"{ref / ours:4.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="trials per protocol (median)")
    parser.add_argument(
        "--hold", type=float, default=11.0, help="seconds unplugged (> the 10 s reference alarm)"
    )
    parser.add_argument("--protocols", default="datex,intellivue,masimo,hl7")
    args = parser.parse_args()
    protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = set(protocols) - set(STARTERS)
    if unknown or args.runs < 1 or args.hold <= 0:
        sys.stderr.write(f"unplug_bench: bad arguments (unknown protocols: {sorted(unknown)})\n")
        raise SystemExit(2)
    load_before = os.getloadavg()
    results: dict[str, list[tuple[Trial, Trial]]] = {p: [] for p in protocols}

    def run(protocol: str) -> None:  # protocols run side by side; their trials one after another
        for i in range(args.runs):
            results[protocol].append(trial(protocol, args.hold, seed=i))

    threads = [threading.Thread(target=run, args=(p,), name=f"bench-{p}") for p in protocols]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    load_after = os.getloadavg()
    out = sys.stdout.write
    out(
        f"Unplug/replug through real ptys, median of {args.runs}, hold {args.hold:g} s, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, load average "
        f"{load_before[0]:.2f} before / {load_after[0]:.2f} after "
        f"({time.monotonic() - started:.0f} s)\n"
    )
    out(
        "reference = the same monitor read as before issue 12 item 14 (alarm from 10 s of "
        "silence only; plain back-off to 8 s)\n\n"
    )
    out(
        "| protocol   | unplug->alarm s | reference s | ratio | replug->open s | replug->data s "
        "| reference s | ratio |\n"
    )
    out("|---|---|---|---|---|---|---|---|\n")
    for protocol in protocols:
        ours = [t[0] for t in results[protocol]]
        ref = [t[1] for t in results[protocol]]
        a, a_ref = median([t.alarm for t in ours]), median([t.alarm for t in ref])
        d, d_ref = median([t.data for t in ours]), median([t.data for t in ref])
        o = median([t.opened for t in ours])
        out(
            f"| {protocol:<10} | {fmt(a)} | {fmt(a_ref)} | {ratio(a_ref, a)} | {fmt(o)} "
            f"| {fmt(d)} | {fmt(d_ref)} | {ratio(d_ref, d)} |\n"
        )
    out(
        "\nhl7: the gateway pushes every 10 s; replug->data waits for its next push whoever "
        "reads it.\n"
    )


if __name__ == "__main__":
    main()
