"""Serve a virtual monitor on a real pseudo-terminal.

``os.openpty()`` gives a tty pair: the simulator writes monitor bytes on the master side, and the
console opens the slave path (``/dev/pts/N``) with pyserial like any USB-serial adapter.  This is
the production read path, byte for byte; there is no in-process shortcut.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import threading
import tty
from datetime import datetime
from typing import Protocol

from devices.clock import Clock, SystemClock

log = logging.getLogger("devices.simulator")


class VirtualMonitor(Protocol):
    """The sans-I/O side of a simulated monitor."""

    def receive(self, data: bytes, now: datetime) -> None:
        """Bytes written by the host."""

    def due(self, now: datetime) -> list[bytes]:
        """Bytes due to be sent at ``now``."""

    def seconds_until_due(self, now: datetime) -> float | None:
        """Clock seconds until more bytes are due, or None if idle."""


class PtyEndpoint(threading.Thread):
    """Runs a :class:`VirtualMonitor` on the master side of a pty.

    The slave side stays open here too, so the master never reads EIO while no client has the
    port open (the client may open, close and reopen it like a real serial line).
    """

    #: Longest real-time wait between two looks at the clock.
    MAX_WAIT_S = 0.05

    def __init__(
        self, monitor: VirtualMonitor, *, clock: Clock | None = None, name: str = "sim-pty"
    ) -> None:
        super().__init__(name=name, daemon=False)
        self.monitor = monitor
        self.clock: Clock = clock or SystemClock()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._stop_event = threading.Event()
        self.bytes_sent = 0
        self.bytes_dropped = 0

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and close both ends of the pty."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout_s)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def run(self) -> None:
        try:
            self._serve()
        except Exception:  # pragma: no cover - a simulator bug must be visible, not silent
            log.exception("%s: simulator crashed", self.name)
            raise

    def _serve(self) -> None:
        while not self._stop_event.is_set():
            now = self.clock.now()
            until = self.monitor.seconds_until_due(now)
            wait = (
                self.MAX_WAIT_S if until is None else min(self.MAX_WAIT_S, until / self.clock.speed)
            )
            readable, _, _ = select.select([self._master], [], [], max(0.0, wait))
            now = self.clock.now()
            if readable:
                try:
                    data = os.read(self._master, 4096)
                except OSError as err:
                    if err.errno not in (errno.EAGAIN, errno.EIO):
                        raise
                    data = b""
                if data:
                    self.monitor.receive(data, now)
            for chunk in self.monitor.due(now):
                self._send(chunk)

    def _send(self, chunk: bytes) -> None:
        """Write without blocking; a monitor whose host does not read just loses bytes."""
        try:
            written = os.write(self._master, chunk)
        except BlockingIOError:
            written = 0
        self.bytes_sent += written
        self.bytes_dropped += len(chunk) - written
