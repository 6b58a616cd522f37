"""MllpListener over TCP loopback: gateway simulators and hostile clients against a real socket.

Everything stays on 127.0.0.1 with an OS-chosen port; tests wait on conditions, never on sleeps.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from devices.clock import ScaledClock
from devices.drivers.hl7_gateway import Hl7Driver
from devices.errors import DeviceInitError
from devices.mllp_server import MllpListener
from devices.model import DeviceState, Metric, TechnicalEventKind
from devices.protocols.hl7_pcd01 import MllpFramer, decode_ack, frame
from devices.simulator.hl7_gateway_sim import Hl7GatewayClient, start_hl7_client
from tests.devices.sinks import RecordingSink

HOST = "127.0.0.1"


@pytest.fixture
def clock() -> ScaledClock:
    """Session time at x50: a gateway pushing every 5 s sends every 0.1 s of real time."""
    return ScaledClock(50)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def listener(sink: RecordingSink, clock: ScaledClock) -> Iterator[MllpListener]:
    server = MllpListener(HOST, 0, sink, clock=clock, device_id="hl7-site")
    server.start()
    yield server
    server.stop()


def _client(clock: ScaledClock, port: int, seed: int = 0) -> Hl7GatewayClient:
    return start_hl7_client(clock, HOST, port, seed=seed, interval_s=5.0, name=f"gw-{seed}")


def _events(sink: RecordingSink, kind: TechnicalEventKind) -> list[str]:
    return [e.detail for e in sink.events if e.kind is kind]


def _read_replies(sock: socket.socket, count: int) -> list[tuple[str, str]]:
    framer = MllpFramer()
    replies: list[tuple[str, str]] = []
    sock.settimeout(5.0)
    while len(replies) < count:
        data = sock.recv(4096)
        assert data, "listener closed the connection"
        replies += [decode_ack(m) for m in framer.feed(data).messages]
    return replies


def test_gateway_messages_arrive_and_every_one_is_acknowledged(
    listener: MllpListener, sink: RecordingSink, clock: ScaledClock
) -> None:
    assert listener.port > 0
    client = _client(clock, listener.port)
    try:
        assert client.wait_for(lambda c: len(c.acked_ids) >= 5, timeout_s=10)
        assert sink.wait_for(lambda s: len(s.values(Metric.HR)) >= 5)
    finally:
        client.stop()
    assert sink.wait_for(lambda s: bool(_events(s, TechnicalEventKind.DISCONNECTED)))
    # Every message was acknowledged, except perhaps the one in flight when the client stopped.
    assert set(client.sent_ids[:-1]) <= client.acked_ids
    assert {code for code, _ in client.acks} == {"AA"}
    connected = _events(sink, TechnicalEventKind.CONNECTED)
    assert len(connected) == 1
    assert connected[0].startswith("127.0.0.1:")
    assert _events(sink, TechnicalEventKind.DISCONNECTED)[0].startswith(connected[0])
    assert all(r.device_id == "hl7-site" for r in sink.readings)
    assert sink.states[:3] == [
        DeviceState.CONNECTED,
        DeviceState.STREAMING,
        DeviceState.DISCONNECTED,
    ]
    assert listener.frame_errors == 0


def test_several_gateways_at_once(
    listener: MllpListener, sink: RecordingSink, clock: ScaledClock
) -> None:
    clients = [_client(clock, listener.port, seed) for seed in (1, 2, 3)]
    try:
        for client in clients:
            assert client.wait_for(lambda c: len(c.acked_ids) >= 3, timeout_s=10)
        assert sink.wait_for(lambda s: len(_events(s, TechnicalEventKind.CONNECTED)) == 3)
        assert len(listener.peers) == 3
    finally:
        for client in clients:
            client.stop()
    peers = _events(sink, TechnicalEventKind.CONNECTED)
    assert len(set(peers)) == 3


@pytest.mark.expected_log(
    "devices.mllp", r": frame error #\d+: not an HL7 message: does not start with MSH"
)
@pytest.mark.expected_log(
    "devices.mllp", r": frame error #\d+: segment \d+ is not an HL7 segment: '!!'"
)
def test_listener_survives_garbage_and_a_client_that_dies_mid_message(
    listener: MllpListener, sink: RecordingSink, clock: ScaledClock
) -> None:
    good = _client(clock, listener.port, seed=5)
    try:
        assert good.wait_for(lambda c: len(c.acked_ids) >= 2, timeout_s=10)

        with socket.create_connection((HOST, listener.port), timeout=5) as rogue:
            rogue.sendall(b"\x00\xff random bytes \r\n" + frame(b"this is not HL7"))
            rogue.sendall(frame(b"MSH|^~\\&|X|Y|Z|W|20240101||ORU^R01|RG1|P|2.6\r!!\r"))
            assert _read_replies(rogue, 2) == [("AR", ""), ("AE", "RG1")]

        with socket.create_connection((HOST, listener.port), timeout=5) as dying:
            dying.sendall(b"\x0bMSH|^~\\&|VSGW|CLINIC|KETCONSOLE|CLINIC|2024")  # ... and gone
        assert sink.wait_for(
            lambda s: any("mid-message" in d for d in _events(s, TechnicalEventKind.DISCONNECTED))
        )

        acked = len(good.acked_ids)
        assert good.wait_for(lambda c: len(c.acked_ids) >= acked + 3, timeout_s=10)
    finally:
        good.stop()
    assert listener.is_alive()
    assert listener.frame_errors == 2
    assert len(_events(sink, TechnicalEventKind.FRAME_ERROR)) == 2


def test_gateway_waits_for_a_listener_and_reconnects_after_it_restarts(
    sink: RecordingSink, clock: ScaledClock
) -> None:
    with socket.socket() as probe:  # a free port that nobody listens on yet
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    client = _client(clock, port, seed=7)
    try:
        assert client.wait_for(lambda c: c.refused >= 2, timeout_s=10)
        first = MllpListener(HOST, port, sink, clock=clock)
        first.start()
        try:
            assert client.wait_for(lambda c: len(c.acked_ids) >= 2, timeout_s=10)
        finally:
            first.stop()
        assert not first.is_alive()
        refused = client.refused
        assert client.wait_for(lambda c: c.refused > refused, timeout_s=10)
        second = MllpListener(HOST, port, sink, clock=clock)
        second.start()
        try:
            acked = len(client.acked_ids)
            assert client.wait_for(lambda c: len(c.acked_ids) >= acked + 2, timeout_s=10)
        finally:
            second.stop()
    finally:
        client.stop()
    assert client.connects >= 2
    assert sink.states[-1] is DeviceState.STOPPED


def test_stop_closes_connections_and_a_busy_port_fails_at_once(
    sink: RecordingSink, clock: ScaledClock
) -> None:
    server = MllpListener(HOST, 0, sink, clock=clock)
    with pytest.raises(DeviceInitError, match=str(server.port)):
        MllpListener(HOST, server.port, RecordingSink())
    server.start()
    idle = socket.create_connection((HOST, server.port), timeout=5)
    try:
        assert sink.wait_for(lambda s: bool(_events(s, TechnicalEventKind.CONNECTED)))
        server.stop()
        assert not server.is_alive()
        idle.settimeout(5)
        assert idle.recv(10) == b""  # the listener closed our connection
    finally:
        idle.close()
    assert sink.states[-1] is DeviceState.STOPPED


def test_a_listener_that_never_started_releases_its_port(sink: RecordingSink) -> None:
    server = MllpListener(HOST, 0, sink)
    port = server.port

    server.stop()

    again = MllpListener(HOST, port, sink)
    again.stop()


def test_custom_driver_factory_is_used_per_connection(
    sink: RecordingSink, clock: ScaledClock
) -> None:
    made: list[Hl7Driver] = []

    def factory() -> Hl7Driver:
        driver = Hl7Driver("custom", application="SITEAPP")
        made.append(driver)
        return driver

    server = MllpListener(HOST, 0, sink, clock=clock, driver_factory=factory)
    server.start()
    client = _client(clock, server.port)
    try:
        assert client.wait_for(lambda c: len(c.acked_ids) >= 2, timeout_s=10)
    finally:
        client.stop()
        server.stop()
    assert len(made) == 2  # one to read quiet_after_s, one for the connection
    assert made[1].messages_ok >= 2
    assert all(r.device_id == "custom" for r in sink.readings)
