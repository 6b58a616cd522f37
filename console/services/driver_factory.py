"""Building a chair's driver from its ``[device]`` settings.

One place knows which driver takes which setting (Datex: the record interval; HL7: the push
interval), so the chair service and the headless ``run`` build the same driver and derive the
same communication-lost budget from it.
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
        return Hl7Driver(push_interval_s=device.push_interval_s)
    return cls()  # the other drivers take no settings
