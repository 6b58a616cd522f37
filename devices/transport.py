"""Opening a link: the pyserial URL is the whole device configuration.

``/dev/ttyUSB0``, ``COM3``, ``socket://127.0.0.1:7001``, ``spy:///dev/ttyUSB0`` (hex dump while
debugging) and ``rfc2217://host:port`` all go through :func:`serial.serial_for_url`, exactly as a
USB-serial adapter would, so the simulator's pty exercises the production path.
"""

from __future__ import annotations

import serial

from devices.errors import DeviceInitError

#: Read timeout: short, so a stop request or the watchdog is noticed promptly.
READ_TIMEOUT_S = 0.05


def open_transport(
    url: str,
    baudrate: int,
    *,
    parity: str = serial.PARITY_NONE,
    rtscts: bool = False,
    timeout_s: float = READ_TIMEOUT_S,
) -> serial.SerialBase:
    """Open ``url`` and return a configured pyserial port.

    Raises:
        DeviceInitError: the port does not exist, is busy, or the URL is malformed.
    """
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
    except (OSError, ValueError) as err:  # SerialException subclasses OSError
        raise DeviceInitError(f"cannot open {url!r}: {err}") from err
    return port
