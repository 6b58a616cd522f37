"""Opening a link: the pyserial URL is the whole device configuration.

``/dev/ttyUSB0``, ``COM3``, ``socket://127.0.0.1:7001``, ``spy:///dev/ttyUSB0`` (hex dump while
debugging) and ``rfc2217://host:port`` all go through :func:`serial.serial_for_url`, exactly as a
USB-serial adapter would, so the simulator's pty exercises the production path.
"""

from __future__ import annotations

import logging
import os
import sys

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
    except (OSError, ValueError) as err:  # SerialException is an OSError
        raise DeviceInitError(f"cannot open {url!r}: {err}") from err
    except Exception as err:
        if not _is_termios_error(err):
            raise
        raise DeviceInitError(f"cannot open {url!r}: {err}") from err
    return port


def _is_termios_error(err: BaseException) -> bool:
    """A port's settings refused by the POSIX terminal layer (``termios.error``).

    Why not ``import termios``: it does not exist on Windows, and importing it here stopped the
    whole console from starting there (issue 15).  pyserial's POSIX backend, the only one
    that can raise it, has imported the module already.
    """
    termios = sys.modules.get("termios")
    return termios is not None and isinstance(err, termios.error)
