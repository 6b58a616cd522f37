"""A virtual vital-signs gateway that pushes HL7 ORU^R01 (IHE PCD-01) messages over MLLP.

Two ways to reach the console, as real gateways offer (protocols.md 4.1):

* :class:`Hl7GatewaySim` is a sans-I/O :class:`~devices.simulator.pty_endpoint.VirtualMonitor`
  for a serial line (served on a pty by :func:`start_hl7_on_pty`);
* :class:`Hl7GatewayClient` is a TCP client thread for a console that listens
  (:class:`~devices.mllp_server.MllpListener`): it connects, sends a message every ``interval_s``
  of clock time, waits for the ACK, re-sends an unacknowledged message after reconnecting (so the
  console sees the duplicates real senders produce), and backs off while the port refuses.

Both build their messages with :class:`Hl7MessageSource` from a :class:`PatientModel`: HR, PR
(= HR), SpO2, RR and temperature in every message, NIBP from automatic cuff cycles with the cuff
time in OBX-14, repeated in later messages as gateways do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from devices.clock import Clock, SystemClock
from devices.errors import ProtocolError
from devices.model import Metric, ReadingFlag
from devices.protocols import hl7_pcd01
from devices.protocols.hl7_pcd01 import GatewayIdentity, OruObservation, OruPatient
from devices.simulator.faults import MonitorFaults, corrupt_frame
from devices.simulator.pty_endpoint import PtyEndpoint
from devices.simulator.signals import PatientModel, SessionTimeline

log = logging.getLogger("devices.simulator")

#: A real gateway does not replay what it failed to send; we catch up at most this many messages.
MAX_CATCH_UP_MESSAGES = 120  # enough to ride out a host stall at x300 without dropping data
#: Seconds of session time one cuff measurement takes.
CUFF_MEASUREMENT_S = 30.0
#: Reconnect back-off of the TCP client, in real seconds.
CLIENT_BACKOFF_S: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)


class Hl7MessageSource:
    """Builds the ORU^R01 messages a gateway sends about one simulated patient.

    Attributes:
        messages_built: messages produced so far (also the MSH-10 counter).
    """

    def __init__(
        self,
        patient: PatientModel,
        session_start: datetime,
        *,
        nibp_interval_s: float = 300.0,
        nibp_first_start_s: float = 30.0,
        gateway: GatewayIdentity | None = None,
        patient_info: OruPatient | None = None,
        control_id_prefix: str = "MSG",
    ) -> None:
        self.patient = patient
        self.session_start = session_start
        self.nibp_interval_s = nibp_interval_s
        self.gateway = gateway or GatewayIdentity()
        self.patient_info = patient_info or OruPatient()
        self.control_id_prefix = control_id_prefix
        self._next_cuff_start_s = nibp_first_start_s
        self._nibp: tuple[float, float, float] | None = None
        self._nibp_time: datetime | None = None
        self.messages_built = 0
        self.faults = MonitorFaults()

    def message_at(self, t_s: float) -> tuple[str, bytes]:
        """``(MSH-10, unframed message)`` for session time ``t_s`` (call in time order)."""
        while t_s >= self._next_cuff_start_s + CUFF_MEASUREMENT_S:
            done = self._next_cuff_start_s + CUFF_MEASUREMENT_S
            self._nibp = self.patient.cuff_measurement(done)
            self._nibp_time = self.session_start + timedelta(seconds=done)
            self._next_cuff_start_s += self.nibp_interval_s
        vit = self.patient.vitals_at(t_s)
        faults = self.faults
        now = self.session_start + timedelta(seconds=t_s + faults.clock_offset_s)
        hr = round(vit.hr)
        forced = dict(faults.flags)
        if faults.sensor_off:
            forced[Metric.SPO2] = forced[Metric.PR] = ReadingFlag.INVALID
        observations: list[OruObservation] = [
            hl7_pcd01.observation_for(Metric.HR, hr, now, reference_range="50-120"),
        ]
        if self._nibp is not None:
            for metric, value in zip(
                (Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN), self._nibp, strict=True
            ):
                observations.append(hl7_pcd01.observation_for(metric, value, self._nibp_time))
        observations += [
            hl7_pcd01.observation_for(Metric.SPO2, round(vit.spo2), now, reference_range="90-100"),
            hl7_pcd01.observation_for(Metric.PR, hr, now),
            hl7_pcd01.observation_for(Metric.RR, round(vit.rr), now),
            hl7_pcd01.observation_for(Metric.TEMP, round(vit.temp, 1), now),
        ]
        observations = [_with_flag(o, forced) for o in observations]
        self.messages_built += 1
        control_id = f"{self.control_id_prefix}{self.messages_built:05d}"
        message = hl7_pcd01.encode_oru(
            control_id=control_id,
            message_time=now,
            observations=observations,
            patient=self.patient_info,
            gateway=self.gateway,
        )
        return control_id, message


#: OBX-11 result status a gateway sends for a device-flagged value (protocols.md 4.4).
FLAG_STATUS: dict[ReadingFlag, str] = {
    ReadingFlag.INVALID: "X",
    ReadingFlag.QUESTIONABLE: "P",
}


def _with_flag(obs: OruObservation, forced: dict[Metric, ReadingFlag]) -> OruObservation:
    """The observation as sent when the device flags its metric."""
    metric = _METRIC_OF_CODE.get(obs.code)
    flag = forced.get(metric) if metric is not None else None
    if flag is None:
        return obs
    status = FLAG_STATUS.get(flag, "X")
    return dataclasses.replace(obs, status=status, value=None if status == "X" else obs.value)


_METRIC_OF_CODE: dict[int | str, Metric] = {
    code: metric for metric, (code, *_rest) in hl7_pcd01.METRIC_MDC.items()
}


class Hl7GatewaySim:
    """Serial-line gateway: pushes a framed ORU^R01 every ``interval_s`` and reads the ACKs.

    Like most gateways on a serial line it does not hold back the next message for a missing
    ACK; it records which messages were acknowledged so tests and QA can check the console.

    Attributes:
        acks: ``(MSA-1, MSA-2)`` of every acknowledgement received, in order.
        sent_ids: MSH-10 of every message sent, in order.
    """

    def __init__(self, source: Hl7MessageSource, *, interval_s: float = 10.0) -> None:
        self.faults = source.faults
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.source = source
        self.interval_s = interval_s
        self._framer = hl7_pcd01.MllpFramer()
        self._next_emit_s: float | None = None
        self.acks: list[tuple[str, str]] = []
        self.sent_ids: list[str] = []
        self.bad_replies = 0

    @property
    def acked_ids(self) -> set[str]:
        """MSH-10 of every message acknowledged with AA."""
        return {control_id for code, control_id in self.acks if code == "AA"}

    def session_seconds(self, now: datetime) -> float:
        """Session time of ``now``."""
        return (now - self.source.session_start).total_seconds()

    def receive(self, data: bytes, now: datetime) -> None:
        """Take the console's bytes: MLLP-framed ACKs."""
        del now
        result = self._framer.feed(data)
        self.bad_replies += len(result.errors)
        for message in result.messages:
            try:
                self.acks.append(hl7_pcd01.decode_ack(message))
            except ProtocolError as err:
                self.bad_replies += 1
                log.debug("gateway simulator ignored a bad reply: %s", err)

    def due(self, now: datetime) -> list[bytes]:
        """Framed messages whose time has come (the first one at once)."""
        t_now = self.session_seconds(now)
        if self._next_emit_s is None:
            self._next_emit_s = max(0.0, t_now)
        out: list[bytes] = []
        while self._next_emit_s <= t_now and len(out) < MAX_CATCH_UP_MESSAGES:
            control_id, message = self.source.message_at(self._next_emit_s)
            self._next_emit_s += self.interval_s
            if self.faults.silent:
                continue
            self.sent_ids.append(control_id)
            framed = hl7_pcd01.frame(message)
            how = self.faults.take_corruption()
            if how is not None:
                framed = corrupt_frame(framed, how)
            out.append(framed)
        if self._next_emit_s <= t_now:  # far behind: skip, as a real gateway would
            missed = int((t_now - self._next_emit_s) // self.interval_s) + 1
            self._next_emit_s += missed * self.interval_s
        return out

    def seconds_until_due(self, now: datetime) -> float | None:
        """Session seconds until the next message (0 before the first one)."""
        if self._next_emit_s is None:
            return 0.0
        return max(0.0, self._next_emit_s - self.session_seconds(now))


class Hl7GatewayClient(threading.Thread):
    """TCP gateway: connect, push a message every ``interval_s`` of clock time, wait for its ACK.

    Never a daemon; :meth:`stop` ends it.  Progress is observable through the counters and
    :meth:`wait_for`, so tests wait on conditions instead of sleeping.

    Attributes:
        connects: successful connections.
        refused: failed connection attempts.
        sent_ids: MSH-10 of every message sent (a re-sent message appears again).
        acks: ``(MSA-1, MSA-2)`` of every acknowledgement received.
        ack_timeouts: messages whose ACK did not come within ``ack_timeout_s``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        source: Hl7MessageSource,
        *,
        clock: Clock | None = None,
        interval_s: float = 10.0,
        ack_timeout_s: float = 2.0,
        name: str = "hl7-gateway-sim",
    ) -> None:
        """Prepare a client; :meth:`start` connects.

        Args:
            host: console address (loopback in tests).
            port: console port.
            source: message builder.
            clock: session clock; ``interval_s`` is in its (possibly accelerated) seconds.
            interval_s: clock seconds between messages.
            ack_timeout_s: real seconds to wait for an ACK before reconnecting and re-sending.
            name: thread name.
        """
        super().__init__(name=name, daemon=False)
        self.host = host
        self.port = port
        self.source = source
        self.clock: Clock = clock or SystemClock()
        self.interval_s = interval_s
        self.ack_timeout_s = ack_timeout_s
        self._stop_event = threading.Event()
        self._changed = threading.Condition()
        self._sock: socket.socket | None = None
        self._pending: tuple[str, bytes] | None = None
        self.connects = 0
        self.refused = 0
        self.sent_ids: list[str] = []
        self.acks: list[tuple[str, str]] = []
        self.ack_timeouts = 0

    @property
    def acked_ids(self) -> set[str]:
        """MSH-10 of every message acknowledged with AA."""
        with self._changed:
            return {control_id for code, control_id in self.acks if code == "AA"}

    def wait_for(self, predicate: Callable[[Hl7GatewayClient], bool], timeout_s: float) -> bool:
        """Wait until ``predicate(self)`` holds (checked whenever a counter changes)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Disconnect and end the thread."""
        self._stop_event.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self.is_alive():
            self.join(timeout_s)

    def run(self) -> None:
        attempt = 0
        while not self._stop_event.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
            except OSError:
                self._bump("refused")
                if self._stop_event.wait(CLIENT_BACKOFF_S[min(attempt, len(CLIENT_BACKOFF_S) - 1)]):
                    break
                attempt += 1
                continue
            attempt = 0
            self._sock = sock
            self._bump("connects")
            try:
                self._converse(sock)
            except OSError as err:
                log.debug("%s: connection lost: %s", self.name, err)
            finally:
                self._sock = None
                with contextlib.suppress(OSError):
                    sock.close()
            self._stop_event.wait(CLIENT_BACKOFF_S[0])

    def _converse(self, sock: socket.socket) -> None:
        framer = hl7_pcd01.MllpFramer()
        next_due = self.clock.monotonic()
        while not self._stop_event.is_set():
            wait = next_due - self.clock.monotonic()
            if wait > 0 and self.clock.sleep(wait, self._stop_event):
                return
            if self._pending is None:
                t_s = (self.clock.now() - self.source.session_start).total_seconds()
                self._pending = self.source.message_at(t_s)
                next_due = self.clock.monotonic() + self.interval_s
            control_id, message = self._pending
            sock.sendall(hl7_pcd01.frame(message))
            with self._changed:
                self.sent_ids.append(control_id)
                self._changed.notify_all()
            if not self._await_ack(sock, framer, control_id):
                self._bump("ack_timeouts")
                return  # reconnect; the pending message is sent again
            self._pending = None

    def _await_ack(
        self, sock: socket.socket, framer: hl7_pcd01.MllpFramer, control_id: str
    ) -> bool:
        deadline = time.monotonic() + self.ack_timeout_s
        while not self._stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            sock.settimeout(min(remaining, 0.1))
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            if not data:
                raise ConnectionResetError("console closed the connection")
            for reply in framer.feed(data).messages:
                try:
                    code, acked = hl7_pcd01.decode_ack(reply)
                except ProtocolError as err:
                    log.debug("%s: bad reply: %s", self.name, err)
                    continue
                with self._changed:
                    self.acks.append((code, acked))
                    self._changed.notify_all()
                if acked == control_id:
                    return True
        return False

    def _bump(self, counter: str) -> None:
        with self._changed:
            setattr(self, counter, getattr(self, counter) + 1)
            self._changed.notify_all()


def _source(
    clock: Clock,
    profile: str,
    seed: int,
    timeline: SessionTimeline | None,
    session_start: datetime | None,
    nibp_interval_s: float,
) -> Hl7MessageSource:
    patient = PatientModel(profile, seed=seed, timeline=timeline)
    return Hl7MessageSource(patient, session_start or clock.now(), nibp_interval_s=nibp_interval_s)


def start_hl7_on_pty(
    clock: Clock,
    *,
    profile: str = "routine",
    seed: int = 0,
    timeline: SessionTimeline | None = None,
    session_start: datetime | None = None,
    interval_s: float = 10.0,
    nibp_interval_s: float = 300.0,
    name: str = "sim-hl7",
) -> PtyEndpoint:
    """Start a simulated serial HL7 gateway on a fresh pty; open ``endpoint.path`` to read it.

    The gateway is ``endpoint.monitor`` (an :class:`Hl7GatewaySim`; its ``acks`` list shows
    what the console answered).
    """
    source = _source(clock, profile, seed, timeline, session_start, nibp_interval_s)
    endpoint = PtyEndpoint(Hl7GatewaySim(source, interval_s=interval_s), clock=clock, name=name)
    endpoint.start()
    return endpoint


def start_hl7_client(
    clock: Clock,
    host: str,
    port: int,
    *,
    profile: str = "routine",
    seed: int = 0,
    timeline: SessionTimeline | None = None,
    session_start: datetime | None = None,
    interval_s: float = 10.0,
    nibp_interval_s: float = 300.0,
    name: str = "hl7-gateway-sim",
) -> Hl7GatewayClient:
    """Start a simulated TCP gateway that connects to a console listening on ``host:port``."""
    source = _source(clock, profile, seed, timeline, session_start, nibp_interval_s)
    client = Hl7GatewayClient(host, port, source, clock=clock, interval_s=interval_s, name=name)
    client.start()
    return client
