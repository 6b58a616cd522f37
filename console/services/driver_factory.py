"""Building a chair's driver from its ``[device]`` settings, and telling it the patient.

One place knows which driver takes which setting (Datex: the record interval; HL7: the push
interval, the accepted message types and the bed location), so the chair service builds the
driver and derives its communication-lost budget the same way every time.
"""

from __future__ import annotations

from console.config import DeviceConfig
from devices.base import Driver
from devices.drivers.ge_datex import DatexDriver
from devices.drivers.hl7_gateway import Hl7Driver


def build_driver(cls: type[Driver], device: DeviceConfig) -> Driver:
    """A new driver of class ``cls`` configured from ``device``."""
    if cls is DatexDriver:
        return DatexDriver(interval_s=device.interval_s)
    if cls is Hl7Driver:
        return Hl7Driver(
            push_interval_s=device.push_interval_s,
            accepted_types=device.hl7_accept,
            location=device.hl7_location,
        )
    return cls()  # the other drivers take no settings


def tell_session_mrn(driver: Driver | None, mrn: str | None) -> None:
    """Give an HL7 driver the MRN of the chair's open session (None: no patient session).

    The driver then refuses messages naming another patient (PID-3).  Other drivers have no
    patient identity on the wire and ignore it.
    """
    if isinstance(driver, Hl7Driver):
        driver.set_session_mrn(mrn)
