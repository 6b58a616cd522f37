"""Noticing that an unplugged serial adapter is back, instead of waiting out a back-off.

When a USB-serial adapter is pulled, its device node (``/dev/ttyUSB0``) disappears; when it is
plugged back in, udev creates it again.  The runner used to retry on a back-off of up to 8 s,
so data came back up to 10 s after the cable did (issue 12 item 14).  For a local device path,
:func:`wait_for_port` instead looks at the path every :data:`POLL_S` and returns as soon as it
exists again or now names a different device (a pty re-created behind the same symlink).
URLs (``socket://``, ``rfc2217://``) have no path to watch and keep the plain back-off.

Polling ``os.stat`` 20 times a second costs nothing measurable and needs no inotify library,
which would not see a symlink's target change anyway.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Final

#: How often (real seconds) the device path is looked at while waiting.
POLL_S: Final = 0.05

#: What identifies the device behind a path: (device of the node, inode, device number).
PortIdentity = tuple[int, int, int]


def is_local_path(url: str) -> bool:
    """True for a device path (``/dev/ttyUSB0``, a symlink to a pty), False for any URL."""
    return "://" not in url and os.path.isabs(url)


def port_identity(path: str) -> PortIdentity | None:
    """Identity of the device ``path`` leads to (symlinks followed), or None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_rdev)


def wait_for_port(path: str, delay_s: float, stop: threading.Event) -> bool:
    """Wait before reopening ``path``; True when ``stop`` was set meanwhile.

    While the path is missing, waits for it to come back however long that takes (the link
    is reported DISCONNECTED meanwhile, so nothing is hidden) and returns at once when it does.
    While it exists, waits ``delay_s`` (the back-off) but returns early if it starts naming a
    different device.
    """
    before = port_identity(path)
    deadline = time.monotonic() + delay_s
    while True:
        left = deadline - time.monotonic()
        if before is not None and left <= 0:
            return False
        if stop.wait(POLL_S if before is None else min(POLL_S, left)):
            return True
        now = port_identity(path)
        if now is not None and now != before:
            return False
