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
import tempfile
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

    :attr:`path` is a stable symlink to the current slave, like ``/dev/ttyUSB0`` for a USB
    adapter: :meth:`unplug` closes the pty (the client's reads fail as on a pulled cable) and
    :meth:`replug` makes a new one behind the same path.
    """

    #: Longest real-time wait between two looks at the clock.
    MAX_WAIT_S = 0.05

    def __init__(
        self, monitor: VirtualMonitor, *, clock: Clock | None = None, name: str = "sim-pty"
    ) -> None:
        super().__init__(name=name, daemon=False)
        self.monitor = monitor
        self.clock: Clock = clock or SystemClock()
        self._link_dir = tempfile.mkdtemp(prefix="infusion-sim-")
        #: Stable device path to open; points at the current pty slave.
        self.path = os.path.join(self._link_dir, "ttySIM0")
        self._lock = threading.Lock()
        self._master = self._slave = -1
        self.device_path = ""
        self._open_pty()
        self._stop_event = threading.Event()
        self.bytes_sent = 0
        self.bytes_dropped = 0

    # -- cable ------------------------------------------------------------------------------
    @property
    def plugged(self) -> bool:
        """True while a pty is behind :attr:`path`."""
        return self._master >= 0

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.device_path = os.ttyname(slave)
        tmp = self.path + ".new"
        os.symlink(self.device_path, tmp)
        os.replace(tmp, self.path)
        self._master, self._slave = master, slave

    def unplug(self) -> None:
        """Pull the cable: close both pty ends; the client's next read or write fails."""
        with self._lock:
            if not self.plugged:
                return
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._master = self._slave = -1

    def replug(self) -> None:
        """Plug the cable back: a new pty behind the same :attr:`path`."""
        with self._lock:
            if not self.plugged:
                self._open_pty()

    def inject(self, data: bytes) -> None:
        """Write raw bytes on the wire (fault injection: garbage, truncated frames)."""
        with self._lock:
            if self.plugged:
                self._send(data)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving, close the pty and remove the device path."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout_s)
        self.unplug()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self._link_dir)

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
            wait = max(
                0.0,
                self.MAX_WAIT_S
                if until is None
                else min(self.MAX_WAIT_S, until / self.clock.speed),
            )
            master = self._master
            if master < 0:  # unplugged: time passes, nothing is heard or sent
                self._stop_event.wait(wait or self.MAX_WAIT_S)
                self.monitor.due(self.clock.now())
                continue
            try:
                readable, _, _ = select.select([master], [], [], wait)
            except (OSError, ValueError):  # closed under us by unplug()
                continue
            now = self.clock.now()
            with self._lock:
                if self._master != master:
                    continue  # unplugged or replaced while we waited
                if readable:
                    try:
                        data = os.read(master, 4096)
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
