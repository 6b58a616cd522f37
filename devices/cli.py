"""Field-service and QA command line: ``python -m devices decode|ports|simulate``.

``decode`` opens a monitor exactly as the console does (same drivers, same runner thread) and
prints one JSON object per line, so a technician can check a cable and a QA script can diff the
output.  The output format is a contract (field names and event names never change)::

    {"time": ISO-8601 host time, "device_time": ISO-8601 or null, "parameter": P,
     "value": number or null, "unit": U, "valid": bool, "flags": [...]}
    {"time": ..., "event": "connected" | "disconnected" | "quiet" | "frame_error" | "sensor_off",
     "detail": "..."}

Bad input (unknown protocol, a port that cannot be opened) gets one line on stderr and exit code
2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TextIO

from devices.base import Driver
from devices.cli_parser import OneLineParser
from devices.errors import BackendUnavailable, DeviceInitError
from devices.model import DeviceState, Reading, TechnicalEvent
from devices.registry import (
    ProtocolSpec,
    driver_class,
    load_target,
    protocol_names,
    protocol_spec,
)
from devices.runner import DeviceRunner, LinkConfig
from devices.transport import open_transport

EXIT_OK = 0
EXIT_USAGE = 2


class UsageError(Exception):
    """A bad argument: reported on one line, exit code 2."""


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def reading_json(reading: Reading) -> str:
    """The decode tool's line for a reading."""
    return json.dumps(
        {
            "time": _iso(reading.received_at),
            "device_time": _iso(reading.device_time),
            "parameter": reading.metric.value,
            "value": reading.value,
            "unit": reading.unit,
            "valid": reading.valid,
            "flags": [f.value for f in reading.flags],
        }
    )


def event_json(event: TechnicalEvent) -> str:
    """The decode tool's line for a technical event."""
    detail = event.detail
    if event.count:
        detail = f"{detail} (count {event.count})" if detail else f"count {event.count}"
    return json.dumps({"time": _iso(event.at), "event": event.kind.value, "detail": detail})


class JsonLinesSink:
    """LinkSink that prints JSON lines and counts readings; safe from several threads."""

    def __init__(self, out: TextIO, max_readings: int | None = None) -> None:
        self.out = out
        self.max_readings = max_readings
        self.readings = 0
        self.done = threading.Event()
        self._lock = threading.Lock()

    def on_readings(self, readings: list[Reading]) -> None:
        with self._lock:
            for reading in readings:
                if self.done.is_set():
                    return
                self.out.write(reading_json(reading) + "\n")
                self.readings += 1
                if self.max_readings is not None and self.readings >= self.max_readings:
                    self.done.set()
            self.out.flush()

    def on_event(self, event: TechnicalEvent) -> None:
        with self._lock:
            if not self.done.is_set():
                self.out.write(event_json(event) + "\n")
                self.out.flush()

    def on_state(self, state: DeviceState) -> None:
        del state  # states are visible through the events; not part of the output contract


def _protocol(name: str) -> tuple[ProtocolSpec, type[Driver]]:
    """The registered protocol ``name`` and its driver class."""
    try:
        spec = protocol_spec(name)
    except KeyError:
        raise UsageError(
            f"unknown protocol {name!r}; choose one of: {', '.join(protocol_names())}"
        ) from None
    try:
        return spec, driver_class(spec.kind)
    except BackendUnavailable as err:
        raise UsageError(str(err)) from None


def _listening() -> str:
    """The protocols ``decode --listen`` serves (those whose monitor connects to us)."""
    return " or ".join(p for p in protocol_names() if protocol_spec(p).listener is not None)


def _parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--listen wants HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _wait(sink: JsonLinesSink, seconds: float | None) -> None:
    deadline = None if seconds is None else time.monotonic() + seconds
    while not sink.done.is_set():
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return
        sink.done.wait(0.2 if remaining is None else min(0.2, remaining))


def run_decode(args: argparse.Namespace, out: TextIO) -> int:
    """``decode``: print what a monitor says until --seconds or --count is reached."""
    spec, cls = _protocol(args.protocol)
    sink = JsonLinesSink(out, args.count)
    if args.listen:
        if spec.listener is None:
            raise UsageError(
                f"--listen is only for --protocol {_listening()} (the console is the server)"
            )
        host, port = _parse_listen(args.listen)
        try:
            listener = load_target(spec.listener)(host, port, sink)
        except OSError as err:
            raise UsageError(f"cannot listen on {host}:{port}: {err}") from None
        listener.start()
        try:
            _wait(sink, args.seconds)
        except KeyboardInterrupt:
            pass
        finally:
            listener.stop()
        return EXIT_OK
    if not args.port:
        raise UsageError(f"--port URL is required (or --listen HOST:PORT for {_listening()})")
    parity = args.parity or cls.parity
    link = LinkConfig(args.port, args.baud or cls.default_baud, parity, args.rtscts)
    # Fail fast on a port that cannot be opened at all: a typo should not look like a retry loop.
    try:
        open_transport(link.url, link.baudrate, parity=link.parity, rtscts=link.rtscts).close()
    except DeviceInitError as err:
        raise UsageError(str(err)) from None
    runner = DeviceRunner(cls(), link, sink, name=f"decode-{args.protocol}")
    runner.start()
    try:
        _wait(sink, args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
    return EXIT_OK


def run_ports(args: argparse.Namespace, out: TextIO) -> int:
    """``ports``: list serial ports, one JSON object per line."""
    del args
    from serial.tools import list_ports

    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        out.write(
            json.dumps(
                {
                    "device": port.device,
                    "description": port.description,
                    "hwid": port.hwid,
                    "manufacturer": port.manufacturer,
                    "serial_number": port.serial_number,
                }
            )
            + "\n"
        )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m devices`` command line."""
    parser = OneLineParser(
        prog="python -m devices",
        description="Infusion Console device tools: decode a monitor's output, list serial "
        "ports, run a simulated monitor.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dec = sub.add_parser(
        "decode",
        help="print a monitor's readings and link events as JSON lines",
        description="Open a monitor with the console's own driver and print one JSON object "
        "per reading or technical event.",
    )
    dec.add_argument("--protocol", required=True, help=f"one of: {', '.join(protocol_names())}")
    where = dec.add_mutually_exclusive_group()
    where.add_argument(
        "--port",
        metavar="URL",
        help="pyserial URL: /dev/ttyUSB0, COM3, socket://host:port, spy:///dev/ttyUSB0, "
        "rfc2217://host:port",
    )
    where.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"{_listening()} only: accept connections here and acknowledge each message",
    )
    dec.add_argument("--baud", type=int, metavar="N", help="baud rate (default: the protocol's)")
    dec.add_argument(
        "--parity", choices=["N", "E", "O"], help="parity (default: the protocol's: datex E)"
    )
    dec.add_argument("--rtscts", action="store_true", help="RTS/CTS hardware flow control")
    stop = dec.add_mutually_exclusive_group()
    stop.add_argument("--seconds", type=float, metavar="S", help="stop after S seconds")
    stop.add_argument("--count", type=int, metavar="N", help="stop after N readings")
    dec.set_defaults(func=run_decode)

    ports = sub.add_parser("ports", help="list serial ports as JSON lines")
    ports.set_defaults(func=run_ports)

    from devices.simulator.cli import add_simulate_parser

    add_simulate_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``python -m devices``; returns the exit code."""
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line usage error
        return int(exc.code or 0)
    func: Callable[[argparse.Namespace, TextIO], int] = args.func
    try:
        if getattr(args, "count", None) is not None and args.count <= 0:
            raise UsageError("--count must be positive")
        seconds = getattr(args, "seconds", None)
        if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
            raise UsageError("--seconds must be a positive number")
        return func(args, out)
    except UsageError as err:
        sys.stderr.write(f"{parser.prog} {args.command}: error: {err}\n")
        return EXIT_USAGE
    except BrokenPipeError:  # `| head` closed the pipe: not an error
        return EXIT_OK
