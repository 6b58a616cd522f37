"""Driver for Masimo Radical-7 / Rad-8 / Rad-97 pulse oximeters on their serial ASCII 1 output.

The monitor only talks (protocols.md 3.1, 3.5): there is nothing to send, no handshake and no
keep-alive.  The driver turns each trend line into an SpO2 and a pulse-rate reading and reports
the sensor coming off the patient as a technical event, once per episode, so the console can show
"sensor off" instead of a stream of dashes.  All byte work lives in
:mod:`devices.protocols.masimo_ascii`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from typing import ClassVar

from devices.base import Driver, DriverOutput
from devices.errors import ProtocolError
from devices.model import (
    METRIC_UNITS,
    Metric,
    Reading,
    ReadingFlag,
    TechnicalEvent,
    TechnicalEventKind,
)
from devices.plausibility import is_plausible, mark_implausible
from devices.protocols.masimo_ascii import (
    EXC_NO_SENSOR_DATA,
    MasimoFramer,
    MasimoRecord,
    exc_invalidates,
    exc_names,
    parse_line,
)
from devices.protocols.masimo_sanity import MasimoLineCheck

log = logging.getLogger("devices.masimo")


class MasimoDriver(Driver):
    """Listener for the ASCII 1 trend lines (one per second)."""

    kind: ClassVar[str] = "masimo-radical"
    manufacturer: ClassVar[str] = "Masimo"
    model: ClassVar[str] = "Radical-7 / Rad-8 / Rad-97 (serial ASCII 1)"
    default_baud: ClassVar[int] = 9600
    metrics: ClassVar[frozenset[Metric]] = frozenset({Metric.SPO2, Metric.PR})

    def __init__(self, device_id: str = "", *, device_tz: tzinfo = UTC) -> None:
        """Prepare a listener.

        Args:
            device_id: copied into every reading and event.
            device_tz: time zone of the monitor's clock, which the line does not state (3.2).
                UTC by default, as for the other drivers; set the clinic's zone if the monitor
                clock runs on local time so device and host times can be compared.
        """
        self.device_id = device_id
        self.device_tz = device_tz
        self._framer = MasimoFramer()
        self._check = MasimoLineCheck()
        self._synced = False
        self._sensor_off: bool | None = None
        self.lines_parsed = 0

    @property
    def quiet_after_s(self) -> float:
        """Five seconds: lines come every 1-2 s, so several missing lines mean a dead link.

        protocols.md 3.5 suggests 3 s; 5 s tolerates a monitor busy with a menu without
        crying wolf, and is still well inside the console's "communication lost" budget.
        """
        return 5.0

    @property
    def framer(self) -> MasimoFramer:
        """The line framer, for its counters."""
        return self._framer

    @property
    def sensor_off(self) -> bool | None:
        """Whether the last line said the sensor is off; None before the first line."""
        return self._sensor_off

    def handshake(self) -> list[bytes]:
        """Nothing to send; a new byte stream starts, so forget any partial line."""
        self._framer.reset()
        self._check.reset()
        self._synced = False
        self._sensor_off = None
        return []

    def on_quiet(self) -> list[bytes]:
        """Nothing to send: the monitor cannot be asked for anything."""
        return []

    def feed(self, chunk: bytes, received_at: datetime) -> DriverOutput:
        """Decode ``chunk``; malformed lines are returned in ``errors``, never raised.

        The first line after (re)connecting is usually the tail of a line the monitor was in the
        middle of sending (3.6); when it does not parse it is dropped without an error.
        """
        out = DriverOutput()
        framed = self._framer.feed(chunk)
        out.errors.extend(framed.errors)
        for line in framed.lines:
            try:
                record = parse_line(line)
            except ProtocolError as err:
                if not self._synced:
                    log.debug("dropped a partial first line: %r", line[:64])
                    self._synced = True
                    continue
                out.errors.append(err)
                continue
            self._synced = True
            damaged = self._check.check_serial(record.serial_number)
            if damaged is not None:  # no checksum: the serial number is the line's witness
                out.errors.append(ProtocolError(damaged, line))
                continue
            self.lines_parsed += 1
            self._track_sensor(record, received_at, out)
            out.readings.extend(self._readings(record, received_at, line, out))
        return out

    # -- internals ------------------------------------------------------------------------
    def _track_sensor(self, record: MasimoRecord, received_at: datetime, out: DriverOutput) -> None:
        """Emit SENSOR_OFF when the sensor goes off (not again while it stays off)."""
        off = record.no_sensor_data
        if off and self._sensor_off is not True:
            names = ", ".join(exc_names(record.exc_bits & EXC_NO_SENSOR_DATA))
            out.events.append(
                TechnicalEvent(
                    TechnicalEventKind.SENSOR_OFF,
                    received_at,
                    f"Masimo EXC=0x{record.exc_bits:X}: {names}",
                    self.device_id,
                )
            )
        self._sensor_off = off

    def _readings(
        self, record: MasimoRecord, received_at: datetime, line: bytes, out: DriverOutput
    ) -> list[Reading]:
        """SpO2 and PR of one line; a value that fails the line sanity check is kept invalid."""
        device_time = record.device_time.replace(tzinfo=self.device_tz)
        flags = record.flags
        invalid = exc_invalidates(record.exc_bits)
        readings = []
        for metric, field, value in (
            (Metric.SPO2, "SPO2", record.spo2),
            (Metric.PR, "BPM", record.pr),
        ):
            reading_flags = flags
            if value is None and not reading_flags:
                reading_flags = (ReadingFlag.INVALID,)  # dashes with no exception bit to say why
            reading = Reading(
                metric=metric,
                value=value,
                unit=METRIC_UNITS[metric],
                received_at=received_at,
                device_time=device_time,
                valid=value is not None and not invalid,
                flags=reading_flags,
                device_id=self.device_id,
            )
            if reading.valid and value is not None and is_plausible(metric, value):
                # Out-of-range values are the plausibility gate's; they are no reference here.
                jumped = self._check.check_step(field, value, device_time)
                if jumped is not None:
                    out.errors.append(ProtocolError(jumped, line))
                    reading = mark_implausible(reading)
            elif not reading.valid:
                self._check.check_step(field, None, device_time)
            readings.append(reading)
        return readings
