"""The one error tree of the device layer (after python-can's documented hierarchy).

Callers catch ``DeviceError`` to handle anything a device or link can do wrong; pyserial's
exceptions are translated with ``raise ... from err`` so the cause stays in the traceback.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every error raised by the device layer."""


class BackendUnavailable(DeviceError):  # noqa: N818 - python-can's name, kept on purpose
    """The driver kind is unknown or its optional dependency is missing."""


class DeviceInitError(DeviceError):
    """The port could not be opened or the device refused the conversation."""


class DeviceIOError(DeviceError):
    """Reading or writing the link failed (cable unplugged, adapter vanished)."""


class DeviceTimeout(DeviceError):  # noqa: N818 - design.md's error tree names it so
    """The device stayed silent longer than the protocol allows."""


class ProtocolError(DeviceError):
    """A frame could not be understood: bad checksum, bad length, unknown layout.

    A protocol error never stops a link: it is counted, logged with the raw bytes and skipped.

    Attributes:
        raw: the offending bytes as received, for the log's hex dump.
    """

    def __init__(self, message: str, raw: bytes = b"") -> None:
        super().__init__(message)
        self.raw = raw
