"""One thread per device: open, converse, stream, watch for silence, reconnect.

The runner owns the port; the driver owns the protocol.  Everything the runner learns goes to an
injected :class:`LinkSink` (devices never imports the console), called on the runner thread: the
console's sink runs the Qt-free alarm pipeline right there, so alarms are detected even while the
GUI thread is busy painting.

State machine (OpenICE-style)::

    CONNECTING --open ok--> CONNECTED --valid frame--> STREAMING
        ^   |                   |                         |
        |   +--open failed--> DISCONNECTED <--I/O error---+
        |                         |                       |
        +------back-off-----------+        no frame for quiet_after_s
                                                          v
                                                        QUIET --valid frame--> STREAMING
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import serial

from devices.base import Driver, DriverOutput
from devices.clock import Clock, SystemClock
from devices.errors import DeviceInitError, ProtocolError
from devices.model import DeviceState, Reading, TechnicalEvent, TechnicalEventKind
from devices.pacing import TO_DEVICE, TO_HOST, flow_of
from devices.plausibility import screen
from devices.port_watch import is_local_path, wait_for_port
from devices.transport import open_transport

log = logging.getLogger("devices.runner")

#: Reconnect back-off in seconds of real time (an unplugged adapter does not come back faster
#: because the simulation runs accelerated).
BACKOFF_S: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
#: Never declare a line quiet sooner than this in real time, whatever the clock speed: at x600 a
#: few milliseconds of scheduler jitter would otherwise look like a dead monitor.
MIN_QUIET_REAL_S = 0.5
#: At most this many frame errors are logged with a hex dump per connection; all are counted.
MAX_LOGGED_FRAME_ERRORS = 20


class LinkSink(Protocol):
    """Receiver of everything a link produces; called on the runner thread."""

    def on_readings(self, readings: list[Reading]) -> None:
        """New readings decoded from the device."""

    def on_event(self, event: TechnicalEvent) -> None:
        """A technical event (connected, disconnected, quiet, frame_error, ...)."""

    def on_state(self, state: DeviceState) -> None:
        """The link changed state."""


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Where and how to reach one device."""

    url: str
    baudrate: int
    parity: str = serial.PARITY_NONE
    rtscts: bool = False
    device_id: str = ""


class DeviceRunner(threading.Thread):
    """Runs one driver over one link until :meth:`stop` is called.

    Never a daemon: the owner joins it on shutdown so the port is closed and the monitor is told
    to stop transmitting.
    """

    def __init__(
        self,
        driver: Driver,
        link: LinkConfig,
        sink: LinkSink,
        *,
        clock: Clock | None = None,
        name: str = "runner",
        opener: Callable[[LinkConfig], serial.SerialBase] | None = None,
    ) -> None:
        super().__init__(name=name, daemon=False)
        self.driver = driver
        self.link = link
        self.sink = sink
        self.clock: Clock = clock or SystemClock()
        # A paced clock (headless runs) stands still while we are behind; a no-op otherwise.
        self._flow = flow_of(self.clock)
        self._opener = opener or _open_link
        self._stop_event = threading.Event()
        self._port: serial.SerialBase | None = None
        self._port_lock = threading.Lock()
        self.state = DeviceState.CONNECTING
        self.frame_errors = 0

    # -- public -----------------------------------------------------------------------------
    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to finish and wait for it."""
        self._stop_event.set()
        with self._port_lock:
            port = self._port
        if port is not None:
            # Not every URL handler implements cancel_read; the read time-out then ends it.
            with contextlib.suppress(OSError, AttributeError):
                port.cancel_read()
        if self.is_alive():
            self.join(timeout_s)

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop_event.is_set()

    # -- thread -----------------------------------------------------------------------------
    def run(self) -> None:
        attempt = 0
        while not self._stop_event.is_set():
            self._set_state(DeviceState.CONNECTING)
            try:
                port = self._opener(self.link)
            except DeviceInitError as err:
                self._event(TechnicalEventKind.DISCONNECTED, str(err))
                self._set_state(DeviceState.DISCONNECTED)
                if self._backoff(attempt):
                    break
                attempt += 1
                continue
            with self._port_lock:
                self._port = port
            try:
                streamed = self._converse(port)
            except OSError as err:  # SerialException is an OSError; EIO when unplugged
                self._event(TechnicalEventKind.DISCONNECTED, f"{self.link.url}: {err}")
                self._set_state(DeviceState.DISCONNECTED)
                streamed = False
            finally:
                with self._port_lock:
                    self._port = None
                self._flow.link_down()
                self._close_port(port)
            attempt = 0 if streamed else attempt + 1
            if not self._stop_event.is_set() and self._backoff(attempt):
                break
        self._set_state(DeviceState.STOPPED)

    def _converse(self, port: serial.SerialBase) -> bool:
        """Talk to the device until stopped or the link breaks; True if any frame was good."""
        self._event(TechnicalEventKind.CONNECTED, self.link.url)
        self._set_state(DeviceState.CONNECTED)
        self._write(port, self.driver.handshake())
        self._flow.link_up()
        streamed = False
        logged_errors = 0
        last_good = self.clock.monotonic()
        last_good_real = _real_monotonic()
        quiet_after = self.driver.quiet_after_s
        while not self._stop_event.is_set():
            chunk = port.read(port.in_waiting or 1)
            now = self.clock.now()
            if chunk:
                try:
                    out = self.driver.feed(chunk, now)
                except Exception as bug:  # a decoder bug: surface it, keep the chair alive
                    log.exception("%s: driver failed on %s", self.name, chunk[:64].hex(" "))
                    out = DriverOutput(errors=[ProtocolError(f"decoder bug: {bug!r}", chunk)])
                screen(out, chunk)
                if out.replies:
                    self._write(port, out.replies)
                for err in out.errors:
                    self.frame_errors += 1
                    if logged_errors < MAX_LOGGED_FRAME_ERRORS:
                        logged_errors += 1
                        log.warning(
                            "%s: frame error #%d: %s raw=%s",
                            self.name,
                            self.frame_errors,
                            err,
                            err.raw[:64].hex(" "),
                        )
                    self.sink.on_event(
                        TechnicalEvent(
                            TechnicalEventKind.FRAME_ERROR,
                            now,
                            str(err),
                            self.link.device_id,
                            self.frame_errors,
                        )
                    )
                for event in out.events:
                    self.sink.on_event(event)
                if out.readings:
                    streamed = True
                    last_good = self.clock.monotonic()
                    last_good_real = _real_monotonic()
                    if self.state is not DeviceState.STREAMING:
                        self._set_state(DeviceState.STREAMING)
                    try:
                        self.sink.on_readings(out.readings)
                    except Exception:  # a bug downstream must not stop the link
                        log.exception("%s: the reading sink failed; link continues", self.name)
                self._flow.delivered(TO_HOST, len(chunk))
            self._write(port, self.driver.poll_requests(now))
            silent = self.clock.monotonic() - last_good
            if (
                self.state is not DeviceState.QUIET
                and silent > quiet_after
                and _real_monotonic() - last_good_real > MIN_QUIET_REAL_S
            ):
                self._event(TechnicalEventKind.QUIET, f"no valid data for {silent:.0f} s")
                self._set_state(DeviceState.QUIET)
                self._write(port, self.driver.on_quiet())
                last_good = self.clock.monotonic()  # re-arm: retry the handshake each period
                last_good_real = _real_monotonic()
            elif self.state is DeviceState.QUIET and silent > quiet_after:
                self._write(port, self.driver.on_quiet())
                last_good = self.clock.monotonic()
                last_good_real = _real_monotonic()
        with contextlib.suppress(OSError):  # the far end may be gone: nothing left to tell it
            self._write(port, self.driver.close())
        return streamed

    # -- helpers ----------------------------------------------------------------------------
    def _write(self, port: serial.SerialBase, messages: list[bytes]) -> None:
        for message in messages:
            self._flow.sent(TO_DEVICE, len(message))
            port.write(message)

    def _backoff(self, attempt: int) -> bool:
        delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
        if is_local_path(self.link.url):  # an unplugged adapter: reopen the moment it is back
            return wait_for_port(self.link.url, delay, self._stop_event)
        return self._stop_event.wait(delay)

    def _close_port(self, port: serial.SerialBase) -> None:
        try:
            port.close()
        except OSError as err:
            log.debug("%s: close failed: %s", self.name, err)

    def _set_state(self, state: DeviceState) -> None:
        if state is self.state:
            return
        self.state = state
        self.sink.on_state(state)

    def _event(self, kind: TechnicalEventKind, detail: str) -> None:
        self.sink.on_event(TechnicalEvent(kind, self.clock.now(), detail, self.link.device_id))


def _open_link(link: LinkConfig) -> serial.SerialBase:
    return open_transport(link.url, link.baudrate, parity=link.parity, rtscts=link.rtscts)


def _real_monotonic() -> float:
    return time.monotonic()
