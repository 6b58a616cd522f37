"""The MLLP listener cannot be locked out by idle or slow clients (issue 12 item 10).

The campaign connected 16 slow or idle clients (a gateway rebooted without FIN, a port
scanner) and a well-formed gateway then got 0 of 20 messages acknowledged; the refusal log wrote
one WARNING per refused connection (2,014 lines).  Everything runs on TCP loopback with an
OS-chosen port, bounded in client count and time.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from devices.mllp_guard import ConnectionTimeouts, LogThrottle
from devices.mllp_server import MllpListener
from devices.model import Metric, TechnicalEventKind
from devices.protocols.hl7_pcd01 import MllpFramer, decode_ack, encode_oru, frame, observation_for
from tests.devices.sinks import RecordingSink

HOST = "127.0.0.1"
T0 = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)


def _message(n: int) -> bytes:
    return frame(
        encode_oru(
            control_id=f"MSG{n:05d}",
            message_time=T0,
            observations=[observation_for(Metric.HR, 70 + n % 5, T0)],
        )
    )


def _send_and_time_ack(sock: socket.socket, n: int, framer: MllpFramer) -> float | None:
    """Send message ``n``; seconds until its AA came back, None when none within 2 s."""
    started = time.monotonic()
    sock.sendall(_message(n))
    deadline = started + 2.0
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except TimeoutError:
            return None
        if not data:
            return None
        for ack in framer.feed(data).messages:
            if decode_ack(ack) == ("AA", f"MSG{n:05d}"):
                return time.monotonic() - started
    return None


@contextlib.contextmanager
def _listener(sink: RecordingSink, **kwargs: object) -> Iterator[MllpListener]:
    server = MllpListener(HOST, 0, sink, device_id="hl7-site", **kwargs)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


class _Trickle(threading.Thread):
    """Sends one byte per second on each of its sockets (a slow-loris gateway)."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        super().__init__(name="trickle", daemon=False)
        self.sockets = sockets
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.join(5)

    def run(self) -> None:
        payload = _message(99_999)
        i = 0
        while not self.stopped.is_set():
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.send(payload[i % len(payload) : i % len(payload) + 1])
            i += 1
            self.stopped.wait(1.0)


def test_idle_and_slow_clients_cannot_lock_out_a_well_formed_gateway() -> None:
    sink = RecordingSink()
    opened: list[socket.socket] = []
    with _listener(sink) as listener:  # the defaults: 16 connections, 10 s / 300 s time-outs
        address = (HOST, listener.port)
        try:
            idle = [socket.create_connection(address, timeout=5) for _ in range(24)]
            slow = [socket.create_connection(address, timeout=5) for _ in range(16)]
            opened += idle + slow
            trickle = _Trickle(slow)
            trickle.start()
            try:
                assert sink.wait_for(
                    lambda s: sum(e.kind is TechnicalEventKind.CONNECTED for e in s.events) >= 40
                )
                gateway = socket.create_connection(address, timeout=5)
                opened.append(gateway)
                framer = MllpFramer()
                delays = [_send_and_time_ack(gateway, n, framer) for n in range(20)]
            finally:
                trickle.stop()
        finally:
            for sock in opened:
                sock.close()
    acked = [d for d in delays if d is not None]
    assert len(acked) >= 19, delays
    assert len(sink.values(Metric.HR)) >= 19


def test_idle_and_unfinished_connections_time_out_while_a_pushing_gateway_stays() -> None:
    sink = RecordingSink()
    timeouts = ConnectionTimeouts(idle_s=1.0, message_s=0.5)
    with _listener(sink, timeouts=timeouts) as listener:
        address = (HOST, listener.port)
        with (
            socket.create_connection(address, timeout=5) as idle,
            socket.create_connection(address, timeout=5) as unfinished,
            socket.create_connection(address, timeout=5) as gateway,
        ):
            unfinished.sendall(_message(1)[:40])
            framer = MllpFramer()
            started = time.monotonic()
            for n in range(8):  # pushes every 0.25 s for 2 s: never idle for 1 s
                assert _send_and_time_ack(gateway, n, framer) is not None
                time.sleep(0.25)
            idle.settimeout(3)
            unfinished.settimeout(3)
            assert idle.recv(10) == b""  # closed by the listener
            assert unfinished.recv(10) == b""
            assert time.monotonic() - started < 5
            assert _send_and_time_ack(gateway, 100, framer) is not None
    details = [e.detail for e in sink.events if e.kind is TechnicalEventKind.DISCONNECTED]
    assert any("message not complete within 0.5 s" in d for d in details)
    assert any("no complete message for 1 s" in d for d in details)


def test_refusals_are_logged_once_a_minute_not_once_per_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = RecordingSink()
    with _listener(sink, max_connections=1) as listener:
        address = (HOST, listener.port)
        with socket.create_connection(address, timeout=5) as gateway:
            assert _send_and_time_ack(gateway, 1, MllpFramer()) is not None  # delivering: kept
            with caplog.at_level(logging.INFO, logger="devices.mllp"):
                for _ in range(200):
                    with socket.create_connection(address, timeout=5) as scanner:
                        scanner.settimeout(5)
                        assert scanner.recv(10) == b""  # refused: closed at once
            assert _send_and_time_ack(gateway, 2, MllpFramer()) is not None
    refusals = [r for r in caplog.records if "refusing" in r.getMessage()]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.WARNING


def test_log_throttle_counts_what_it_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    throttle = LogThrottle(
        logging.getLogger("devices.test"), logging.WARNING, 60, monotonic=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING, logger="devices.test"):
        for i in range(100):
            now[0] = i
            throttle.log("refusing %s", i)
    assert [r.getMessage() for r in caplog.records] == [
        "refusing 0",
        "refusing 60 (59 more like this in the last 60 s)",
    ]
