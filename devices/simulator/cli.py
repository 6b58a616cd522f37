"""``python -m devices simulate``: a standalone virtual monitor for QA and demos.

With ``--pty`` the first line on stdout is the device path to open (e.g. with ``python -m
devices decode --port PATH`` or the console's ``--port``); then one JSON line per scenario event
as it happens, and a last line when the scenario is over.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from devices.clock import ScaledClock
from devices.registry import driver_class
from devices.simulator.launch import SIM_MONITORS, driver_kind, make_scenario_monitor, protocols
from devices.simulator.pty_endpoint import (
    PtyEndpoint,
    SerialEndpoint,
    TcpEndpoint,
    WireEndpoint,
    pty_supported,
)
from devices.simulator.scenario import (
    ScenarioDirector,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
)

#: ``--speed max``: as fast as timing stays consistent.  The console and simulator share the
#: clock, but a stall of our own threads (GC, a busy core: ~65 ms seen) is simulated silence
#: multiplied by the speed; at x1000 that looked like a lost monitor, at x300 it stays below the
#: alarm delays.  Explicit speeds up to 1000 are still accepted.
MAX_SPEED_ACCEPTED = 1000.0
MAX_SPEED = 300.0
NO_PTY = (
    "--pty needs pseudo-terminals, which Windows does not have: use --tcp PORT (the console "
    "opens socket://127.0.0.1:PORT) or --port COMn (one end of a com0com pair)"
)


def parse_speed(text: str) -> float:
    """``1``..``1000`` or ``max``."""
    if text == "max":
        return MAX_SPEED
    try:
        speed = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"speed must be a number or 'max', not {text!r}") from None
    if not 0 < speed <= MAX_SPEED_ACCEPTED:
        raise argparse.ArgumentTypeError(
            f"speed must be in (0, {MAX_SPEED_ACCEPTED:g}] or 'max' (x{MAX_SPEED:g})"
        )
    return speed


def add_simulate_parser(sub: Any) -> None:
    """Register ``simulate`` on the ``python -m devices`` sub-parsers."""
    sim = sub.add_parser(
        "simulate",
        help="run a virtual monitor that emits a real protocol's bytes",
        description="A standalone virtual monitor playing a scripted scenario. Built-in "
        f"scenarios: {', '.join(builtin_scenarios())}.",
    )
    sim.add_argument("--protocol", required=True, help=f"one of: {', '.join(protocols())}")
    sim.add_argument("--scenario", required=True, help="built-in scenario name or a .toml file")
    sim.add_argument("--speed", type=parse_speed, default=1.0, help="1..1000 or 'max'")
    sim.add_argument("--seed", type=int, default=1, help="patient seed (default 1)")
    where = sim.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--pty",
        action="store_true",
        help="serve on a new pseudo-terminal and print its path (Linux, macOS; not Windows)",
    )
    where.add_argument(
        "--port",
        metavar="URL",
        help="serve on this serial port: /dev/ttyUSB1 (a null-modem cable), or on Windows "
        "COMn, one end of a com0com pair whose other end the console opens",
    )
    where.add_argument(
        "--tcp",
        type=int,
        metavar="PORT",
        help="serve on TCP 127.0.0.1:PORT (every platform; 0: a free port); the console "
        "opens socket://127.0.0.1:PORT",
    )
    sim.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace, out: TextIO) -> int:
    """Play the scenario until its end (or Ctrl-C)."""
    from devices.cli import UsageError

    if args.pty and not pty_supported():
        raise UsageError(NO_PTY)
    if args.protocol not in SIM_MONITORS:
        raise UsageError(
            f"the simulator does not speak {args.protocol!r}; one of: {', '.join(protocols())}"
        )
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as err:
        raise UsageError(str(err)) from None
    clock = ScaledClock(args.speed)
    start = clock.now()
    try:
        monitor = make_scenario_monitor(args.protocol, scenario, args.seed, start)
    except ValueError as err:
        raise UsageError(str(err)) from None
    endpoint: WireEndpoint
    try:
        if args.pty:
            endpoint = PtyEndpoint(monitor, clock=clock)
        elif args.tcp is not None:
            endpoint = TcpEndpoint(monitor, args.tcp, clock=clock)
        else:
            cls = driver_class(driver_kind(args.protocol))
            endpoint = SerialEndpoint(
                monitor, args.port, cls.default_baud, parity=cls.parity, clock=clock
            )
    except (OSError, ValueError, OverflowError) as err:  # OverflowError: --tcp 99999
        raise UsageError(f"cannot open the wire: {err}") from None
    director = ScenarioDirector(
        scenario, monitor, endpoint, lambda: (clock.now() - start).total_seconds()
    )
    endpoint.tick_hooks.append(director.step)
    out.write(f"{endpoint.path}\n")
    out.flush()
    endpoint.start()
    reported = 0
    try:
        while (clock.now() - start).total_seconds() < scenario.duration_s:
            time.sleep(0.1)
            for t, what in director.log[reported:]:
                out.write(json.dumps({"session_s": round(t, 1), "scenario_event": what}) + "\n")
            reported = len(director.log)
            out.flush()
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.stop()
    out.write(json.dumps({"scenario": scenario.name, "finished": True}) + "\n")
    out.flush()
    return 0


def main() -> None:  # pragma: no cover - convenience for `python -m devices.simulator.cli`
    from devices.cli import main as devices_main

    sys.exit(devices_main(["simulate", *sys.argv[1:]]))
