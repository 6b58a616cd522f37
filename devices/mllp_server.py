"""TCP server for HL7 gateways that connect to the console (``--listen HOST:PORT``).

Either side of an MLLP link may be the TCP client (protocols.md 4.1); when the gateway is, the
console listens.  :class:`MllpListener` accepts any number of gateways at once, runs one
:class:`~devices.drivers.hl7_gateway.Hl7Driver` per connection on its own thread (a slow or
stuck gateway never holds up another), writes every ACK back, and reports to the same
:class:`~devices.runner.LinkSink` interface as :class:`~devices.runner.DeviceRunner`.  Sink calls
are serialised by a lock, so a sink written for one runner thread works here unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable

from devices.clock import Clock, SystemClock
from devices.drivers.hl7_gateway import Hl7Driver
from devices.errors import DeviceInitError
from devices.mllp_guard import ConnectionTimeouts, LogThrottle, eviction_victim, expired
from devices.model import DeviceState, Reading, TechnicalEvent, TechnicalEventKind
from devices.plausibility import screen
from devices.runner import MAX_LOGGED_FRAME_ERRORS, MIN_QUIET_REAL_S, LinkSink

log = logging.getLogger("devices.mllp")

#: How often (real seconds) blocked threads look at the stop flag and the quiet watchdog.
POLL_S = 0.1
#: Longest a write of an ACK may block on a gateway that stopped reading.
WRITE_TIMEOUT_S = 2.0
#: Bytes asked for per recv(); a PCD-01 message is ~1.5 KB.
RECV_SIZE = 65536


class MllpListener(threading.Thread):
    """Accepts MLLP connections and runs an HL7 driver per gateway until :meth:`stop`.

    The socket is bound in the constructor, so a busy port fails at once with
    :class:`DeviceInitError` and :attr:`port` is known before :meth:`start` (bind port 0 in
    tests and read the port chosen by the OS).  Never a daemon: the owner joins it.

    State reported to the sink: CONNECTING while no gateway is connected yet, CONNECTED when one
    is, STREAMING once readings arrive, QUIET when none arrived for the driver's
    ``quiet_after_s``, DISCONNECTED when the last gateway has gone, STOPPED at the end.

    Attributes:
        host: the address bound.
        port: the TCP port bound (the OS's choice when 0 was asked for).
        frame_errors: frames and messages rejected, over all connections.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sink: LinkSink,
        *,
        driver_factory: Callable[[], Hl7Driver] | None = None,
        clock: Clock | None = None,
        device_id: str = "",
        max_connections: int = 16,
        timeouts: ConnectionTimeouts | None = None,
        name: str = "mllp-listener",
    ) -> None:
        """Bind the server socket.

        Args:
            host: address to listen on (``127.0.0.1`` for a gateway on the same machine).
            port: TCP port, 0 for any free port.
            sink: receiver of readings, events and states.
            driver_factory: makes the driver of each connection; default ``Hl7Driver(device_id)``.
            clock: time source for received-at stamps, ACK times and the quiet watchdog.
            device_id: copied into events (and readings, with the default factory).
            max_connections: at this many, a newcomer replaces the connection with the least
                progress, or is closed at once when all delivered messages recently
                (:mod:`devices.mllp_guard`); both are logged at most once a minute.
            timeouts: idle and mid-message time-outs of each connection.
            name: thread name; connection threads append the peer address.

        Raises:
            DeviceInitError: the address cannot be bound (port in use, no such interface).
        """
        super().__init__(name=name, daemon=False)
        self.sink = sink
        self.clock: Clock = clock or SystemClock()
        self.device_id = device_id
        self.max_connections = max_connections
        self.timeouts = timeouts or ConnectionTimeouts()
        self._refusals = LogThrottle(log, logging.WARNING)
        self._evictions = LogThrottle(log, logging.INFO)
        self._driver_factory = driver_factory or (lambda: Hl7Driver(device_id))
        try:
            self._server = socket.create_server((host, port))
        except OSError as err:
            raise DeviceInitError(f"cannot listen on {host}:{port}: {err}") from err
        self._server.setblocking(False)
        bound = self._server.getsockname()
        self.host: str = str(bound[0])
        self.port: int = int(bound[1])
        self._stop_event = threading.Event()
        self._sink_lock = threading.RLock()
        self._conn_lock = threading.Lock()
        self._connections: list[_Connection] = []
        self.state = DeviceState.CONNECTING
        self.frame_errors = 0
        self._logged_errors = 0
        self._quiet_after_s = self._driver_factory().quiet_after_s
        self._last_good = self.clock.monotonic()
        self._last_good_real = time.monotonic()

    # -- public -----------------------------------------------------------------------------
    @property
    def address(self) -> str:
        """``host:port`` actually bound."""
        return f"{self.host}:{self.port}"

    @property
    def peers(self) -> list[str]:
        """Addresses of the gateways connected now."""
        with self._conn_lock:
            return [c.peer for c in self._connections if c.is_alive()]

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close the server and every connection, and wait for all threads."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout_s)
        else:  # never started: release the port anyway
            self._close_server()

    # -- thread -----------------------------------------------------------------------------
    def run(self) -> None:
        self._set_state(DeviceState.CONNECTING)
        selector = selectors.DefaultSelector()
        selector.register(self._server, selectors.EVENT_READ)
        try:
            while not self._stop_event.is_set():
                if selector.select(POLL_S):
                    self._accept()
                self._reap()
                self._watch_quiet()
        finally:
            selector.close()
            self._close_server()
            with self._conn_lock:
                connections = list(self._connections)
            for connection in connections:
                connection.close()
            for connection in connections:
                connection.join()
            self._set_state(DeviceState.STOPPED)

    def _accept(self) -> None:
        try:
            sock, address = self._server.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as err:
            log.warning("%s: accept failed: %s", self.name, err)
            return
        peer = f"{address[0]}:{address[1]}"
        with self._conn_lock:
            live = [c for c in self._connections if c.is_alive() and not c.closing]
        if len(live) >= self.max_connections:
            victim = eviction_victim(live, time.monotonic(), self.timeouts)
            if victim is None:
                self._refusals.log(
                    "%s: refusing %s, %d gateways connected and delivering",
                    self.name,
                    peer,
                    len(live),
                )
                sock.close()
                return
            self._evictions.log(
                "%s: %s replaces %s, which delivered nothing recently", self.name, peer, victim.peer
            )
            victim.close("replaced by a new connection at the limit")
        connection = _Connection(self, sock, peer, self._driver_factory())
        with self._conn_lock:
            self._connections.append(connection)
        connection.start()

    def _reap(self) -> None:
        with self._conn_lock:
            finished = [c for c in self._connections if not c.is_alive() and c.started]
            self._connections = [c for c in self._connections if c not in finished]
        for connection in finished:
            connection.join()

    def _watch_quiet(self) -> None:
        with self._sink_lock:
            if self.state not in (DeviceState.CONNECTED, DeviceState.STREAMING):
                return
            silent = self.clock.monotonic() - self._last_good
            if silent > self._quiet_after_s and time.monotonic() - self._last_good_real > (
                MIN_QUIET_REAL_S
            ):
                self._event(TechnicalEventKind.QUIET, f"no valid data for {silent:.0f} s")
                self._set_state(DeviceState.QUIET)

    def _close_server(self) -> None:
        with contextlib.suppress(OSError):
            self._server.close()

    # -- called by connections (any thread) -----------------------------------------------------
    def _connected(self, peer: str) -> None:
        with self._sink_lock:
            self._event(TechnicalEventKind.CONNECTED, peer)
            if self.state is not DeviceState.STREAMING:
                self._last_good = self.clock.monotonic()
                self._last_good_real = time.monotonic()
                self._set_state(DeviceState.CONNECTED)

    def _disconnected(self, peer: str, reason: str) -> None:
        with self._sink_lock:
            self._event(TechnicalEventKind.DISCONNECTED, f"{peer}: {reason}")
            with self._conn_lock:
                others = [c for c in self._connections if c.peer != peer and c.is_alive()]
            if not others and not self._stop_event.is_set():
                self._set_state(DeviceState.DISCONNECTED)

    def _readings(self, readings: list[Reading]) -> None:
        with self._sink_lock:
            self._last_good = self.clock.monotonic()
            self._last_good_real = time.monotonic()
            if self.state is not DeviceState.STREAMING:
                self._set_state(DeviceState.STREAMING)
            self.sink.on_readings(readings)

    def _forward(self, event: TechnicalEvent) -> None:
        with self._sink_lock:
            self.sink.on_event(event)

    def _frame_error(self, peer: str, err: Exception, raw: bytes) -> None:
        with self._sink_lock:
            self.frame_errors += 1
            if self._logged_errors < MAX_LOGGED_FRAME_ERRORS:
                self._logged_errors += 1
                log.warning(
                    "%s: %s: frame error #%d: %s raw=%s",
                    self.name,
                    peer,
                    self.frame_errors,
                    err,
                    raw[:64].hex(" "),
                )
            self.sink.on_event(
                TechnicalEvent(
                    TechnicalEventKind.FRAME_ERROR,
                    self.clock.now(),
                    f"{peer}: {err}",
                    self.device_id,
                    self.frame_errors,
                )
            )

    def _set_state(self, state: DeviceState) -> None:
        with self._sink_lock:
            if state is self.state:
                return
            self.state = state
            self.sink.on_state(state)

    def _event(self, kind: TechnicalEventKind, detail: str) -> None:
        with self._sink_lock:
            self.sink.on_event(TechnicalEvent(kind, self.clock.now(), detail, self.device_id))

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop_event.is_set()


class _Connection(threading.Thread):
    """One gateway's connection: read, decode, acknowledge, until it closes or we stop.

    Closed early by :func:`~devices.mllp_guard.expired` (idle, or a message that never ends) and
    by the listener when a newcomer needs the slot; the progress times below decide both.
    """

    def __init__(
        self, listener: MllpListener, sock: socket.socket, peer: str, driver: Hl7Driver
    ) -> None:
        super().__init__(name=f"{listener.name}-{peer}", daemon=False)
        self.listener = listener
        self.sock = sock
        self.peer = peer
        self.driver = driver
        self.started = False
        self.closing = False
        self._close_reason = ""
        self.last_good_at: float | None = None
        self.last_progress_at = time.monotonic()
        self._partial_since: float | None = None

    def start(self) -> None:
        self.started = True
        super().start()

    def close(self, reason: str = "") -> None:
        """Wake a blocked recv() by shutting the socket down (the thread then exits)."""
        if reason and not self.closing:
            self._close_reason = reason
        self.closing = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def _track(self, ok_before: int, now: float) -> None:
        """Update the progress times after a chunk was fed."""
        if self.driver.messages_ok > ok_before:
            self.last_good_at = now
        if self.driver.framer.buffered:
            if self._partial_since is None:
                self._partial_since = now
        else:
            self._partial_since = None

    def run(self) -> None:
        listener = self.listener
        reason = "closed by the gateway"
        self.sock.settimeout(POLL_S)
        self.driver.handshake()
        listener._connected(self.peer)
        try:
            while not listener.stopping:
                try:
                    chunk = self.sock.recv(RECV_SIZE)
                except TimeoutError:
                    why = expired(
                        listener.timeouts,
                        time.monotonic(),
                        self.last_progress_at,
                        self._partial_since,
                    )
                    if why is not None:
                        reason = why
                        break
                    continue
                except OSError as err:
                    reason = self._close_reason or f"read failed: {err}"
                    break
                if not chunk:
                    reason = self._close_reason or reason
                    if self.driver.framer.buffered:
                        reason = f"closed mid-message ({self.driver.framer.buffered} bytes lost)"
                    break
                ok_before = self.driver.messages_ok
                out = self.driver.feed(chunk, listener.clock.now())
                screen(out, chunk)
                now = time.monotonic()
                if out.replies:
                    self.last_progress_at = now
                self._track(ok_before, now)
                why = expired(listener.timeouts, now, self.last_progress_at, self._partial_since)
                if out.replies:
                    try:
                        self.sock.settimeout(WRITE_TIMEOUT_S)
                        for reply in out.replies:
                            self.sock.sendall(reply)
                        self.sock.settimeout(POLL_S)
                    except OSError as err:
                        reason = f"write failed: {err}"
                        break
                for error in out.errors:
                    listener._frame_error(self.peer, error, error.raw)
                for event in out.events:
                    listener._forward(event)
                if out.readings:
                    listener._readings(out.readings)
                if why is not None:  # a trickle of bytes: each recv() succeeds, none completes
                    reason = why
                    break
            else:
                reason = "listener stopped"
        finally:
            with contextlib.suppress(OSError):
                self.sock.close()
            listener._disconnected(self.peer, reason)
