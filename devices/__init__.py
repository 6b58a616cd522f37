"""Monitor drivers, wire protocols and the simulator: everything that touches a device.

This package never imports Qt, SQLAlchemy or the console (enforced by import-linter), so it can
run headless in QA tools and be tested from byte tables.
"""

from devices.base import Driver, DriverOutput
from devices.clock import Clock, ScaledClock, SystemClock
from devices.errors import (
    BackendUnavailable,
    DeviceError,
    DeviceInitError,
    DeviceIOError,
    DeviceTimeout,
    ProtocolError,
)
from devices.model import (
    METRIC_UNITS,
    DeviceInfo,
    DeviceState,
    Metric,
    Reading,
    ReadingFlag,
    TechnicalEvent,
    TechnicalEventKind,
)
from devices.registry import ProtocolSpec, driver_class, list_kinds, register_protocol

__all__ = [
    "METRIC_UNITS",
    "BackendUnavailable",
    "Clock",
    "DeviceError",
    "DeviceIOError",
    "DeviceInfo",
    "DeviceInitError",
    "DeviceState",
    "DeviceTimeout",
    "Driver",
    "DriverOutput",
    "Metric",
    "ProtocolError",
    "ProtocolSpec",
    "Reading",
    "ReadingFlag",
    "ScaledClock",
    "SystemClock",
    "TechnicalEvent",
    "TechnicalEventKind",
    "driver_class",
    "list_kinds",
    "register_protocol",
]
