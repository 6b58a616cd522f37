"""The driver contract: a protocol conversation with no I/O of its own.

A driver turns received bytes into readings and says what to send; the runner owns the port and
the thread.  This keeps every driver testable from byte tables (PyMeasure style) and lets the
simulator run the production decoding path.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self

from devices.errors import ProtocolError
from devices.model import DeviceInfo, Metric, Reading, TechnicalEvent


@dataclass(slots=True)
class DriverOutput:
    """What one chunk of received bytes produced."""

    readings: list[Reading] = field(default_factory=list)
    events: list[TechnicalEvent] = field(default_factory=list)
    errors: list[ProtocolError] = field(default_factory=list)
    replies: list[bytes] = field(default_factory=list)


class Driver(abc.ABC):
    """Base class of all monitor drivers.

    Subclasses state their metadata as class attributes (OpenICE ``DeviceType``) so the UI can list
    drivers without importing every protocol module.
    """

    kind: ClassVar[str]
    manufacturer: ClassVar[str]
    model: ClassVar[str]
    default_baud: ClassVar[int]
    #: pyserial parity letter: "N", "E" or "O".
    parity: ClassVar[str] = "N"
    metrics: ClassVar[frozenset[Metric]] = frozenset()

    @property
    def quiet_after_s(self) -> float:
        """Seconds without a valid frame after which the link is considered quiet.

        A property so a driver can derive it from its own settings (DRI: 3 x interval + 2 s).
        """
        return 10.0

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> Self:
        """A new driver configured from a chair's device settings (``[device]`` as a mapping).

        Each driver picks the keys it understands and ignores the rest, so whoever builds a
        chair (the console, ``run``) needs no knowledge of which protocol takes which setting.
        The base builds a driver with no settings (those that have none); a driver with
        settings overrides this.  A mapping, not the console's own type: ``devices`` never
        imports ``console``.
        """
        del settings
        return cls()

    def set_session_mrn(self, mrn: str | None) -> None:
        """The MRN of the session open on this chair (None: no patient session).

        A driver that sees a patient identity on the wire (HL7 PID-3) refuses readings for
        another patient; the others have none to check, so the default does nothing.
        """
        del mrn

    @classmethod
    def info(cls) -> DeviceInfo:
        """Static description of this driver."""
        return DeviceInfo(cls.kind, cls.manufacturer, cls.model, cls.default_baud, cls.metrics)

    @abc.abstractmethod
    def handshake(self) -> list[bytes]:
        """Bytes to send right after the port opens (and after every reconnect)."""

    def poll_requests(self, now: datetime) -> list[bytes]:
        """Bytes to send periodically (keep-alive, poll renewal); none by default."""
        del now
        return []

    def on_quiet(self) -> list[bytes]:
        """Bytes to send when the line has gone quiet; by default repeat the handshake."""
        return self.handshake()

    @abc.abstractmethod
    def feed(self, chunk: bytes, received_at: datetime) -> DriverOutput:
        """Consume received bytes, of any size, and return what they completed."""

    def close(self) -> list[bytes]:
        """Bytes to send before the port is closed (stop transmission, release)."""
        return []
