"""Building a chair's driver from its ``[device]`` settings, and telling it the patient.

Each driver class says itself which settings it takes (:meth:`devices.base.Driver.from_config`:
Datex the record interval; HL7 the push interval, the accepted message types and the bed), so
the console and ``run`` build every driver the same way without naming any protocol, and a new
protocol needs no change here.
"""

from __future__ import annotations

from dataclasses import asdict

from console.config import DeviceConfig
from devices.base import Driver


def build_driver(cls: type[Driver], device: DeviceConfig) -> Driver:
    """A new driver of class ``cls`` configured from ``device``.

    The settings cross into ``devices`` as a plain mapping: ``devices`` never imports the
    console's configuration types.
    """
    return cls.from_config(asdict(device))


def tell_session_mrn(driver: Driver | None, mrn: str | None) -> None:
    """Give the chair's driver the MRN of its open session (None: no patient session).

    An HL7 driver then refuses messages naming another patient (PID-3).  Other drivers have no
    patient identity on the wire and ignore it (:meth:`devices.base.Driver.set_session_mrn`).
    """
    if driver is not None:
        driver.set_session_mrn(mrn)
