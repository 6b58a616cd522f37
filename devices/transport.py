"""Opening a link: the pyserial URL is the whole device configuration.

``/dev/ttyUSB0``, ``COM3``, ``socket://127.0.0.1:7001``, ``spy:///dev/ttyUSB0`` (hex dump while
debugging) and ``rfc2217://host:port`` all go through :func:`serial.serial_for_url`, exactly as a
USB-serial adapter would, so the simulator's pty exercises the production path.
"""

from __future__ import annotations

import logging
import os
import termios

import serial

from devices.errors import DeviceInitError

log = logging.getLogger("devices.transport")

#: Read timeout: short, so a stop request or the watchdog is noticed promptly.
READ_TIMEOUT_S = 0.05


def is_pseudo_terminal(url: str) -> bool:
    """True when ``url`` is (a symlink to) a Unix98 pseudo-terminal slave."""
    if "://" in url:
        return False
    try:
        return os.path.realpath(url).startswith("/dev/pts/")
    except OSError:
        return False


def open_transport(
    url: str,
    baudrate: int,
    *,
    parity: str = serial.PARITY_NONE,
    rtscts: bool = False,
    timeout_s: float = READ_TIMEOUT_S,
) -> serial.SerialBase:
    """Open ``url`` and return a configured pyserial port.

    A pseudo-terminal (the simulator's port) has no UART: Linux refuses some parity settings
    on it with EINVAL, and parity means nothing there, so a pty is always opened 8N1.

    Raises:
        DeviceInitError: the port does not exist, is busy, or the URL is malformed.
    """
    if parity != serial.PARITY_NONE and is_pseudo_terminal(url):
        log.debug("%s is a pseudo-terminal: parity %s not applied", url, parity)
        parity = serial.PARITY_NONE
    try:
        port = serial.serial_for_url(
            url,
            baudrate=baudrate,
            parity=parity,
            bytesize=serial.EIGHTBITS,
            stopbits=serial.STOPBITS_ONE,
            rtscts=rtscts,
            timeout=timeout_s,
            write_timeout=1.0,
            exclusive=True if url.startswith("/dev/") else None,
        )
    except (OSError, ValueError, termios.error) as err:  # SerialException is an OSError
        raise DeviceInitError(f"cannot open {url!r}: {err}") from err
    return port
