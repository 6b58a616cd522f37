"""Value types that cross the boundary between device code and the console.

Everything here is a frozen dataclass or a str-Enum so readings can be handed between threads
without locks and compared in tests by value.  Units are UCUM strings, as in the HL7/IEEE 11073
world the monitors come from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Metric(enum.StrEnum):
    """The parameters the console knows about.

    The string values are the ``parameter`` names of the decode tool's JSON output and of the
    database, so they must never be renamed.
    """

    HR = "HR"
    PR = "PR"
    SPO2 = "SPO2"
    RR = "RR"
    NIBP_SYS = "NIBP_SYS"
    NIBP_DIA = "NIBP_DIA"
    NIBP_MEAN = "NIBP_MEAN"
    TEMP = "TEMP"


#: UCUM unit of each metric, as decoded from every supported protocol.
METRIC_UNITS: dict[Metric, str] = {
    Metric.HR: "/min",
    Metric.PR: "/min",
    Metric.SPO2: "%",
    Metric.RR: "/min",
    Metric.NIBP_SYS: "mm[Hg]",
    Metric.NIBP_DIA: "mm[Hg]",
    Metric.NIBP_MEAN: "mm[Hg]",
    Metric.TEMP: "Cel",
}

NIBP_METRICS: frozenset[Metric] = frozenset({Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN})

#: What the multi-parameter monitor drivers (GE DRI, IntelliVue, HL7 PCD-01) read, stated once:
#: their metadata listed the same eight metrics three times, which would drift apart the day
#: one of them learns a new parameter.  Listed, not ``frozenset(Metric)``: a new metric joins
#: a driver's metadata only when that driver decodes it.
MULTIPARAMETER_METRICS: frozenset[Metric] = frozenset(
    {Metric.HR, Metric.PR, Metric.SPO2, Metric.RR, *NIBP_METRICS, Metric.TEMP}
)


class ReadingFlag(enum.StrEnum):
    """Why a device says a value is not plain valid patient data (kept verbatim in the record)."""

    INVALID = "invalid"
    NOT_UPDATED = "not_updated"
    DISCONTINUITY = "discontinuity"
    UNDER_RANGE = "under_range"
    OVER_RANGE = "over_range"
    NOT_CALIBRATED = "not_calibrated"
    QUESTIONABLE = "questionable"
    DEMO = "demo"
    SENSOR_OFF = "sensor_off"
    MEASURING = "measuring"
    OLD = "old"
    #: Outside physiological bounds, or failed the line's own sanity check: set by the console's
    #: plausibility gate, never by a device (a bit flip, a sign error; issue 12).
    IMPLAUSIBLE = "implausible"


@dataclass(frozen=True, slots=True)
class Reading:
    """One numeric from a monitor.

    ``valid`` is False whenever the device flagged the value; such readings are stored for the
    record but never shown or alarmed on as patient data.  ``value`` is None when the device sent
    a marker instead of a number.
    """

    metric: Metric
    value: float | None
    unit: str
    received_at: datetime
    device_time: datetime | None = None
    valid: bool = True
    flags: tuple[ReadingFlag, ...] = ()
    device_id: str = ""

    @property
    def usable(self) -> bool:
        """True when the value may be displayed and evaluated against alarm limits."""
        return self.valid and self.value is not None


class DeviceState(enum.StrEnum):
    """Connection state of one device link (OpenICE-style explicit state machine)."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    STREAMING = "streaming"
    QUIET = "quiet"
    DISCONNECTED = "disconnected"
    STOPPED = "stopped"


class TechnicalEventKind(enum.StrEnum):
    """Technical events a link reports beside readings (decode tool ``event`` values)."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    QUIET = "quiet"
    FRAME_ERROR = "frame_error"
    SENSOR_OFF = "sensor_off"
    #: An HL7 message named another patient than the chair's open session (not applied).
    WRONG_PATIENT = "wrong_patient"


@dataclass(frozen=True, slots=True)
class TechnicalEvent:
    """Something that happened to the link or device rather than to the patient."""

    kind: TechnicalEventKind
    at: datetime
    detail: str = ""
    device_id: str = ""
    count: int = 0


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """Static description of a driver, readable without opening a port."""

    kind: str
    manufacturer: str
    model: str
    default_baud: int
    metrics: frozenset[Metric] = field(default_factory=frozenset)
