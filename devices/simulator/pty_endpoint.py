"""Serve a virtual monitor on a real wire: a pseudo-terminal, a serial port, or TCP.

``os.openpty()`` gives a tty pair: the simulator writes monitor bytes on the master side, and the
console opens the slave path with pyserial like any USB-serial adapter.  This is the production
read path, byte for byte; there is no in-process shortcut.  The same loop serves a real serial
port (a null-modem cable to another PC) and a TCP socket (``socket://host:port`` on the console).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from devices.clock import Clock, SystemClock
from devices.pacing import TO_DEVICE, TO_HOST, flow_of

log = logging.getLogger("devices.simulator")


def pty_supported(platform: str | None = None) -> bool:
    """Whether this system has pseudo-terminals (``os.openpty``): not on Windows.

    ``platform`` defaults to ``sys.platform`` at call time (tests set it to ``win32``).
    """
    return (sys.platform if platform is None else platform) != "win32"


class VirtualMonitor(Protocol):
    """The sans-I/O side of a simulated monitor."""

    def receive(self, data: bytes, now: datetime) -> None:
        """Bytes written by the host."""

    def due(self, now: datetime) -> list[bytes]:
        """Bytes due to be sent at ``now``."""

    def seconds_until_due(self, now: datetime) -> float | None:
        """Clock seconds until more bytes are due, or None if idle."""


class WireEndpoint(threading.Thread):
    """Runs a :class:`VirtualMonitor` on one file descriptor, plugged or not.

    Subclasses provide the descriptor (:meth:`_plug`) and say how to close it; the loop, fault
    injection and tick hooks are shared.
    """

    #: Longest real-time wait between two looks at the clock.  The loop also wakes when the
    #: monitor or a scripted event is due, when the host writes, and at once on :meth:`stop`
    #: and :meth:`replug` (a wake-up socket): a longer idle wait costs no reaction time.  It
    #: was 0.05 s: 16 idle simulated monitors then took 2.7 % of a core, now 1.1 %.
    MAX_WAIT_S = 0.25
    #: With a paced clock, hold it this many clock seconds past the next due time, so the
    #: time reached is never a rounding error short of it.
    HOLD_MARGIN_S = 1e-3

    def __init__(
        self, monitor: VirtualMonitor, *, clock: Clock | None = None, name: str = "sim-wire"
    ) -> None:
        super().__init__(name=name, daemon=False)
        self.monitor = monitor
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._fd = -1
        self._stop_event = threading.Event()
        self.bytes_sent = 0
        self.bytes_dropped = 0
        #: Called on the simulator thread at every loop turn, plugged or not (scenario director).
        self.tick_hooks: list[Callable[[], None]] = []
        #: Clock seconds until each hook next needs to run (None: nothing pending); with a
        #: paced clock the time never passes one before the loop has run it.
        self.wake_hooks: list[Callable[[], float | None]] = []
        #: Called with every chunk put on the wire while plugged (what the monitor "sent").
        self.tap: Callable[[bytes], None] | None = None
        self._unplugged_on_purpose = False
        #: What a host opens (a pyserial URL or device path), set by each kind of wire.
        self.path = ""
        #: The wire as the system names it now (a pty's ``/dev/pts/N``; else :attr:`path`).
        self.device_path = ""
        self._flow = flow_of(self.clock)
        #: Written to wake the loop out of its wait (stop, replug); a socket pair, as select()
        #: takes sockets on every platform.
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    # -- cable ------------------------------------------------------------------------------
    @property
    def plugged(self) -> bool:
        """True while bytes can flow."""
        return self._fd >= 0

    def _plug(self) -> int:
        """Open the wire and return its descriptor, or -1 when not (yet) possible."""
        raise NotImplementedError

    def _unplug_fd(self) -> None:
        """Close the wire's descriptor(s)."""
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def unplug(self) -> None:
        """Pull the cable: the client's next read or write fails, as with a real unplug."""
        with self._lock:
            self._unplugged_on_purpose = True
            self._flow.cut(True)
            if self.plugged:
                self._unplug_fd()
                self._fd = -1

    def replug(self) -> None:
        """Plug the cable back."""
        with self._lock:
            self._unplugged_on_purpose = False
            if not self.plugged:
                self._fd = self._plug()
            self._flow.cut(False)
        self._wake()

    def inject(self, data: bytes) -> None:
        """Write raw bytes on the wire (fault injection: garbage, truncated frames).

        With no host reading yet (paced clock) they would only be flushed by its open: dropped.
        """
        with self._lock:
            if self.plugged and self._flow.host_ready():
                self._send(data)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving and close the wire."""
        self._stop_event.set()
        self._wake()
        if self.is_alive():
            self.join(timeout_s)
        self._flow.hold(self.name, None)
        self.unplug()
        self._cleanup()
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    def _wake(self) -> None:
        """Cut the loop's wait short (its next turn looks at the stop flag and the wire)."""
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
            self._wake_w.send(b"w")

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(64):
                pass

    def _cleanup(self) -> None:
        """Release anything beyond the descriptor (paths, listening sockets)."""

    def _extra_fds(self) -> list[int]:
        """Descriptors to wake on besides the wire (a listening socket)."""
        return []

    def _on_extra_readable(self) -> None:
        """One of :meth:`_extra_fds` is readable."""

    # -- loop -------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._serve()
        except Exception:  # pragma: no cover - a simulator bug must be visible, not silent
            log.exception("%s: simulator crashed", self.name)
            raise

    def _serve(self) -> None:
        while not self._stop_event.is_set():
            self._run_hooks()
            now = self.clock.now()
            until = self._pace(now)
            wait = max(
                0.0,
                self.MAX_WAIT_S
                if until is None
                else min(self.MAX_WAIT_S, until / self.clock.speed),
            )
            fd = self._fd
            if fd >= 0 and not self._flow.host_ready():
                # Paced clock, nobody reading yet: what we sent now would be flushed by the
                # host's open, and the clock stands still until it has the port.
                self._stop_event.wait(0.002)
                continue
            wake = self._wake_r.fileno()
            watch = ([fd] if fd >= 0 else []) + self._extra_fds()
            if not watch:  # unplugged: time passes, nothing is heard or sent
                with contextlib.suppress(OSError, ValueError):
                    if select.select([wake], [], [], wait or self.MAX_WAIT_S)[0]:
                        self._drain_wake()
                self._run_hooks()  # a replug due now comes before what the monitor has due
                if not self.plugged:
                    self.monitor.due(self.clock.now())
                continue
            try:
                readable, _, _ = select.select([*watch, wake], [], [], wait)
            except (OSError, ValueError):  # closed under us by unplug()
                continue
            if wake in readable:
                self._drain_wake()
            if any(r not in (fd, wake) for r in readable):
                self._on_extra_readable()
            # Scripted events due now (an unplug) come before the records due at the same time.
            self._run_hooks()
            now = self.clock.now()
            data = b""
            with self._lock:
                if self._fd != fd:
                    continue  # unplugged or replaced while we waited
                if fd < 0:
                    self.monitor.due(now)
                    continue
                if fd in readable:
                    try:
                        data = self._read(fd)
                    except OSError as err:
                        if not isinstance(err, BlockingIOError | ConnectionError) and (
                            err.errno not in (errno.EAGAIN, errno.EIO, errno.ECONNRESET)
                        ):
                            raise
                    if data:
                        self.monitor.receive(data, now)
                    elif self._peer_gone_on_empty_read():
                        self._unplug_fd()
                        self._fd = -1
                        continue
                for chunk in self.monitor.due(now):
                    self._send(chunk)
            if data:
                # Answered and re-held first: only then may the clock move past the request.
                self._pace(now)
                self._flow.delivered(TO_DEVICE, len(data))

    def _run_hooks(self) -> None:
        for hook in self.tick_hooks:
            hook()

    def _pace(self, now: datetime) -> float | None:
        """Clock seconds until the monitor or a hook is due; held there with a paced clock."""
        waits = [self.monitor.seconds_until_due(now)]
        waits += [hook() for hook in self.wake_hooks]
        pending = [w for w in waits if w is not None]
        until = min(pending) if pending else None
        if until is None:
            self._flow.hold(self.name, None)
        else:
            self._flow.hold_at(self.name, now + timedelta(seconds=until + self.HOLD_MARGIN_S))
        return until

    def _peer_gone_on_empty_read(self) -> bool:
        """Whether an empty read means the other side left (TCP) or nothing (pty)."""
        return False

    def _read(self, fd: int) -> bytes:
        """What the host wrote (``fd`` is readable).  A descriptor here; a socket's own
        ``recv`` where descriptors are not files (Windows)."""
        return os.read(fd, 4096)

    def _write(self, fd: int, chunk: bytes) -> int:
        """Put ``chunk`` on the wire without blocking; returns the bytes written."""
        return os.write(fd, chunk)

    def _send(self, chunk: bytes) -> None:
        """Write without blocking; a monitor whose host does not read just loses bytes."""
        if self.tap is not None:
            self.tap(chunk)
        self._flow.sent(TO_HOST, len(chunk))
        try:
            written = self._write(self._fd, chunk)
        except (BlockingIOError, ConnectionError):  # a full buffer, a host gone
            written = 0
        self.bytes_sent += written
        self.bytes_dropped += len(chunk) - written
        self._flow.delivered(TO_HOST, len(chunk) - written)  # dropped: never arrives


class PtyEndpoint(WireEndpoint):
    """A virtual monitor on the master side of a pty.

    :attr:`path` is a stable symlink to the current slave, like ``/dev/ttyUSB0`` for a USB
    adapter: :meth:`unplug` closes the pty (the client's reads fail as on a pulled cable) and
    :meth:`replug` makes a new one behind the same path.  The slave side stays open here too, so
    the master never reads EIO while no client has the port open.
    """

    def __init__(
        self, monitor: VirtualMonitor, *, clock: Clock | None = None, name: str = "sim-pty"
    ) -> None:
        super().__init__(monitor, clock=clock, name=name)
        self._link_dir = tempfile.mkdtemp(prefix="infusion-sim-")
        #: Stable device path to open; points at the current pty slave.
        self.path = os.path.join(self._link_dir, "ttySIM0")
        self._slave = -1
        self.device_path = ""
        self._fd = self._plug()

    def _plug(self) -> int:
        import tty  # POSIX only, as is a pty: imported here so the package loads on Windows

        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.device_path = os.ttyname(slave)
        tmp = self.path + ".new"
        os.symlink(self.device_path, tmp)
        os.replace(tmp, self.path)
        self._slave = slave
        return master

    def _unplug_fd(self) -> None:
        # The path goes first, as udev removes /dev/ttyUSB0 when an adapter is pulled: a client
        # must not reopen a dead pty number that another program may be given next.
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        for fd in (self._fd, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._slave = -1

    def _cleanup(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self._link_dir)


class SerialEndpoint(WireEndpoint):
    """A virtual monitor on a real serial port (a null-modem cable to the console's PC).

    On POSIX the loop waits on the port's descriptor.  Where a port has none (pyserial's
    Windows ports, ``COM5`` as one end of a com0com pair; URL handlers), a pump thread reads the
    port into a socket pair the loop can wait on (``select`` takes sockets everywhere), and
    writes go to the port itself.  ``bridge=True`` forces that path (tests run it on Linux).
    """

    #: Seconds one blocking read of the pump waits, so it notices an unplug soon.
    PUMP_READ_S = 0.05

    def __init__(
        self,
        monitor: VirtualMonitor,
        url: str,
        baudrate: int,
        *,
        parity: str = "N",
        clock: Clock | None = None,
        name: str = "sim-serial",
        bridge: bool | None = None,
    ) -> None:
        super().__init__(monitor, clock=clock, name=name)
        import serial

        self._port = serial.serial_for_url(url, baudrate=baudrate, parity=parity, timeout=0)
        self.path = self.device_path = url
        self._bridged = not hasattr(self._port, "fileno") if bridge is None else bridge
        self._outer: socket.socket | None = None
        if self._bridged:
            self._port.timeout = self.PUMP_READ_S
        self._fd = self._plug()

    def _plug(self) -> int:
        if not self._port.is_open:
            self._port.open()
        if not self._bridged:
            return int(self._port.fileno())
        inner, outer = socket.socketpair()
        outer.setblocking(False)
        self._outer = outer
        threading.Thread(
            target=self._pump, args=(inner,), name=f"{self.name}-pump", daemon=True
        ).start()
        return outer.fileno()

    def _pump(self, inner: socket.socket) -> None:
        """Port to socket pair until the port closes (unplug, stop, a pulled adapter)."""
        import serial

        with inner:
            while True:
                try:
                    data = self._port.read(self._port.in_waiting or 1)
                    if data:
                        inner.sendall(data)
                # Closed under us (pyserial's Windows port loses its handle: TypeError).
                except (serial.SerialException, OSError, TypeError, AttributeError):
                    return

    def _read(self, fd: int) -> bytes:
        if self._outer is None:
            return os.read(fd, 4096)
        return self._outer.recv(4096)

    def _write(self, fd: int, chunk: bytes) -> int:
        if self._outer is None:
            return os.write(fd, chunk)
        return int(self._port.write(chunk) or 0)

    def _peer_gone_on_empty_read(self) -> bool:
        # Bridged: the pump closed its end, so the port is gone (a pulled USB adapter).
        return self._outer is not None

    def _unplug_fd(self) -> None:
        with contextlib.suppress(OSError):
            self._port.close()
        if self._outer is not None:
            self._outer.close()
            self._outer = None


class TcpEndpoint(WireEndpoint):
    """A virtual monitor behind a TCP port, one client at a time (``socket://host:port``).

    Like a serial device server: a new client takes over from the previous one.
    """

    def __init__(
        self,
        monitor: VirtualMonitor,
        port: int,
        *,
        host: str = "127.0.0.1",
        clock: Clock | None = None,
        name: str = "sim-tcp",
    ) -> None:
        super().__init__(monitor, clock=clock, name=name)
        self._server = socket.create_server((host, port))
        self._server.setblocking(False)
        self._client: socket.socket | None = None
        self.port = int(self._server.getsockname()[1])
        self.path = self.device_path = f"socket://{host}:{self.port}"

    def _plug(self) -> int:
        return self._client.fileno() if self._client is not None else -1

    def _extra_fds(self) -> list[int]:
        return [] if self._unplugged_on_purpose else [self._server.fileno()]

    def _on_extra_readable(self) -> None:
        try:
            client, _addr = self._server.accept()
        except BlockingIOError:
            return
        client.setblocking(False)
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = client
            self._fd = client.fileno()

    def _peer_gone_on_empty_read(self) -> bool:
        return True

    def _read(self, fd: int) -> bytes:
        # recv, not os.read: on Windows a socket is no file descriptor.
        return self._client.recv(4096) if self._client is not None else b""

    def _write(self, fd: int, chunk: bytes) -> int:
        return self._client.send(chunk) if self._client is not None else 0

    def _unplug_fd(self) -> None:
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.close()
            self._client = None

    def _cleanup(self) -> None:
        self._server.close()
