"""``python -m devices simulate`` where there are no pseudo-terminals (Windows, issue 15).

Windows has no pty, and its sockets and serial ports are no file descriptors (``os.read``
fails on them).  The simulator there serves on ``--tcp PORT`` and ``--port COMn`` (one end of
a com0com pair), and ``--pty`` is refused in one line.  Nothing here ran on Windows: the
platform is simulated (``sys.platform``), and the descriptor calls are made to fail as they
would there, so the TCP and serial paths are shown to need none.
"""

from __future__ import annotations

import errno
import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from devices import cli as devices_cli
from devices.simulator import pty_endpoint
from devices.simulator.pty_endpoint import SerialEndpoint, TcpEndpoint, pty_supported

ROOT = Path(__file__).resolve().parents[2]
ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
SIMULATE = ["simulate", "--protocol", "datex", "--scenario", "routine"]
DECODE = ["decode", "--protocol", "datex"]


class EchoMonitor:
    """Says HELLO once, then answers every byte it is sent in upper case."""

    def __init__(self) -> None:
        self.received = b""
        self._out = [b"HELLO"]

    def receive(self, data: bytes, now: datetime) -> None:
        self.received += data
        self._out.append(data.upper())

    def due(self, now: datetime) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def seconds_until_due(self, now: datetime) -> float | None:
        return 0.0 if self._out else None


class _NoDescriptorIO:
    """The ``os`` module as the endpoints see it on Windows: ``read``/``write`` refuse a
    socket or a COM port (they are no C file descriptors there); the rest is ``os``."""

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)

    @staticmethod
    def read(*_args: object) -> bytes:
        raise OSError(errno.EBADF, "not a file descriptor (as on Windows)")

    @staticmethod
    def write(*_args: object) -> int:
        raise OSError(errno.EBADF, "not a file descriptor (as on Windows)")


@pytest.fixture
def no_descriptor_io(monkeypatch: pytest.MonkeyPatch) -> None:
    """The endpoints' ``os.read``/``os.write`` fail (only theirs: pyserial keeps its own)."""
    monkeypatch.setattr(pty_endpoint, "os", _NoDescriptorIO())


def _read_until(read: object, wanted: bytes, timeout_s: float = 10.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout_s
    while wanted not in got and time.monotonic() < deadline:
        try:
            got += read()  # type: ignore[operator]
        except (BlockingIOError, TimeoutError):
            time.sleep(0.01)
    return got


def test_pty_is_refused_on_windows_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert not pty_supported()
    assert devices_cli.main([*SIMULATE, "--pty"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "--pty needs pseudo-terminals, which Windows does not have" in lines[0]
    assert "--tcp PORT" in lines[0]
    assert "--port COMn" in lines[0]
    assert "com0com" in lines[0]


@pytest.mark.parametrize(("platform", "has_pty"), [("linux", True), ("darwin", True)])
def test_posix_systems_keep_the_pty(platform: str, has_pty: bool) -> None:
    assert pty_supported(platform) is has_pty


def test_windows_help_offers_tcp_and_com_ports(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(SystemExit):
        devices_cli.build_parser().parse_args(["simulate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--tcp PORT serve on TCP 127.0.0.1:PORT" in out
    assert "COMn, one end of a com0com pair" in out
    assert "not Windows" in out


@pytest.fixture
def tcp_endpoint(no_descriptor_io: None) -> Iterator[tuple[TcpEndpoint, EchoMonitor]]:
    monitor = EchoMonitor()
    endpoint = TcpEndpoint(monitor, 0)
    endpoint.start()
    try:
        yield endpoint, monitor
    finally:
        endpoint.stop()


def test_tcp_serves_without_file_descriptors(
    tcp_endpoint: tuple[TcpEndpoint, EchoMonitor],
) -> None:
    endpoint, monitor = tcp_endpoint
    assert endpoint.path == f"socket://127.0.0.1:{endpoint.port}"
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as client:
        client.settimeout(0.2)
        # (HELLO was due before anyone connected: a monitor with no host loses it.)
        client.sendall(b"ping")
        assert b"PING" in _read_until(lambda: client.recv(100), b"PING")
    assert monitor.received == b"ping"


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="a pty stands in for the com0com pair")
def test_a_serial_port_without_a_descriptor_is_served_through_the_pump(
    no_descriptor_io: None,
) -> None:
    """The Windows path (a pump thread and a socket pair) on a pty pair: the simulator opens
    one end as pyserial would open COM5, the test is the console on the other end."""
    import tty  # POSIX only, as the pty standing in for the pair

    master, slave = os.openpty()
    tty.setraw(slave)
    monitor = EchoMonitor()
    endpoint = SerialEndpoint(monitor, os.ttyname(slave), 9600, bridge=True)
    endpoint.start()
    try:
        assert b"HELLO" in _read_until(lambda: _master_read(master), b"HELLO")
        os.write(master, b"ping")
        assert b"PING" in _read_until(lambda: _master_read(master), b"PING")
        assert monitor.received == b"ping"
    finally:
        endpoint.stop()
        os.close(master)
        os.close(slave)


def _master_read(fd: int) -> bytes:
    return os.read(fd, 100) if select.select([fd], [], [], 0.1)[0] else b""


@pytest.mark.slow
def test_simulate_on_tcp_then_decode_it() -> None:
    """``simulate --tcp 0`` prints ``socket://127.0.0.1:PORT``; ``decode`` reads it (the
    path a Windows PC without com0com uses; bounded: 40 readings, 60 s at most)."""
    sim = subprocess.Popen(
        [sys.executable, "-m", "devices", *SIMULATE, "--speed", "60", "--tcp", "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=ENV,
    )
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:")
        decoded = subprocess.run(
            [sys.executable, "-m", "devices", *DECODE, "--port", url, "--count", "40"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            env=ENV,
            check=False,
        )
    finally:
        sim.terminate()
        sim.wait(timeout=10)
        assert sim.stdout is not None
        sim.stdout.close()
    assert decoded.returncode == 0, decoded.stderr
    readings = [json.loads(line) for line in decoded.stdout.splitlines()]
    assert len([r for r in readings if "parameter" in r]) == 40
    assert any(r.get("parameter") == "HR" for r in readings)


def test_the_consoles_simulated_chair_uses_a_loopback_port_on_windows(
    monkeypatch: pytest.MonkeyPatch, no_descriptor_io: None
) -> None:
    """The console's built-in simulator (``[device] kind = "sim"``, ``run --scenario``) is
    served on a pty; on Windows on a free loopback TCP port, read through the same driver."""
    from devices.clock import ScaledClock
    from devices.drivers.ge_datex import DatexDriver
    from devices.model import Metric
    from devices.runner import DeviceRunner, LinkConfig
    from devices.simulator.launch import start_simulator
    from tests.devices.sinks import RecordingSink

    monkeypatch.setattr(sys, "platform", "win32")
    clock = ScaledClock(60)
    sim = start_simulator(clock, protocol="datex", scenario="routine", seed=2)
    sink = RecordingSink()
    link = LinkConfig(sim.path, DatexDriver.default_baud, DatexDriver.parity, device_id="w")
    runner = DeviceRunner(DatexDriver(interval_s=1), link, sink, clock=clock, name="runner-w")
    runner.start()
    try:
        assert isinstance(sim.endpoint, TcpEndpoint)
        assert sim.path.startswith("socket://127.0.0.1:")
        assert sink.wait_for(lambda s: len(s.values(Metric.HR)) >= 10, timeout_s=20)
    finally:
        runner.stop()
        sim.stop()
    assert runner.frame_errors == 0
