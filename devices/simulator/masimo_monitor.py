"""A virtual Masimo Radical-7 / Rad-8 that writes ASCII 1 trend lines (protocols.md 3.5).

Sans-I/O like :class:`~devices.simulator.monitor.DatexMonitorSim`: the pty endpoint asks which
bytes are due at a (simulated) time and carries them to the console.  The monitor ignores what
the host writes, as the real one does, and emits one CR LF terminated line per second from a
:class:`PatientModel`, with PR = the model's heart rate.  :meth:`MasimoMonitorSim.set_sensor_off`
reproduces a sensor slipping off a finger: dashes and ``EXC=000020`` until it is put back.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from devices.clock import Clock
from devices.model import Metric, ReadingFlag
from devices.protocols import masimo_ascii
from devices.simulator.faults import Corruption, MonitorFaults
from devices.simulator.pty_endpoint import PtyEndpoint
from devices.simulator.signals import PatientModel, SessionTimeline

#: A real monitor does not replay what it failed to send; we catch up at most this many lines.
MAX_CATCH_UP_LINES = 120  # enough to ride out a host stall at x300 without dropping data
#: Serial number the simulated monitor reports (10 digits, 3.2).
DEFAULT_SERIAL = "0000123456"


class MasimoMonitorSim:
    """Virtual Masimo monitor fed by a :class:`PatientModel`.

    Attributes:
        lines_sent: lines produced so far.
        bytes_received: host bytes ignored so far (the real port is output-only).
    """

    def __init__(
        self,
        patient: PatientModel,
        session_start: datetime,
        *,
        interval_s: float = 1.0,
        serial_number: str = DEFAULT_SERIAL,
        radical7: bool = True,
    ) -> None:
        """Create a monitor.

        Args:
            patient: source of the vitals.
            session_start: wall time of session second 0; the device clock shows
                ``session_start + t`` (naive, as the monitor has no time zone).
            interval_s: seconds between lines (1 s on real monitors).
            serial_number: 10-character ``SN=`` value.
            radical7: emit Radical-7 lines (with ``PVI=``) rather than Rad-8 lines.
        """
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.patient = patient
        self.session_start = session_start
        self.interval_s = interval_s
        self.serial_number = serial_number
        self.radical7 = radical7
        self._next_emit_s: float | None = None
        self._sensor_off = False
        self.lines_sent = 0
        self.bytes_received = 0
        self.faults = MonitorFaults()

    @property
    def sensor_off(self) -> bool:
        """True while the simulated sensor is off the patient."""
        return self._sensor_off

    def set_sensor_off(self, on: bool) -> None:
        """Take the sensor off the patient (``True``) or put it back (``False``).

        While off, lines carry dashes and ``EXC=000020`` (sensor off), as on a real Rad-8.
        """
        self._sensor_off = on

    def session_seconds(self, now: datetime) -> float:
        """Session time of ``now``."""
        return (now - self.session_start).total_seconds()

    def receive(self, data: bytes, now: datetime) -> None:
        """Ignore host bytes: the Masimo serial port is output only (3.1)."""
        del now
        self.bytes_received += len(data)

    def due(self, now: datetime) -> list[bytes]:
        """Lines whose time has come, in order (bounded catch-up, like a real monitor)."""
        t_now = self.session_seconds(now)
        if self._next_emit_s is None:
            self._next_emit_s = max(0.0, t_now)
        out: list[bytes] = []
        while self._next_emit_s <= t_now and len(out) < MAX_CATCH_UP_LINES:
            line = self.line_at(self._next_emit_s)
            self._next_emit_s += self.interval_s
            if self.faults.silent:
                continue
            how = self.faults.take_corruption()
            if how is Corruption.CHECKSUM:
                # ASCII output has no check: a bit error garbles a field name, and the strict
                # parser must reject the line rather than misread it.
                at = line.find(b"BPM=")
                line = line[:at] + b"B\xd0M=" + line[at + 4 :] if at >= 0 else line
            elif how is Corruption.TRUNCATE:
                line = line[: len(line) // 2]  # no CR LF: it runs into the next line
            out.append(line)
        if self._next_emit_s <= t_now:  # far behind: skip, as a real monitor would
            missed = math.floor((t_now - self._next_emit_s) / self.interval_s) + 1
            self._next_emit_s += missed * self.interval_s
        return out

    def seconds_until_due(self, now: datetime) -> float | None:
        """Session seconds until the next line (0 before the first one)."""
        if self._next_emit_s is None:
            return 0.0
        return max(0.0, self._next_emit_s - self.session_seconds(now))

    def line_at(self, t_s: float) -> bytes:
        """The line the monitor prints at session time ``t_s`` (consumes the model's noise)."""
        vit = self.patient.vitals_at(t_s)
        faults = self.faults
        device_time = (self.session_start + timedelta(seconds=t_s + faults.clock_offset_s)).replace(
            tzinfo=None
        )
        self.lines_sent += 1
        forced = faults.flags.get(Metric.SPO2) or faults.flags.get(Metric.PR)
        if self._sensor_off or faults.sensor_off or forced is ReadingFlag.INVALID:
            spo2 = pr = pi = pvi = None
            exc = masimo_ascii.EXC_SENSOR_OFF
        else:
            spo2 = round(vit.spo2)
            pr = round(vit.hr)
            # Perfusion index and PVI drift slowly with breathing; they are not console metrics
            # but make the lines look like a real monitor's.
            pi = round(3.0 + 0.6 * math.sin(t_s / 47.0) + 0.1 * math.sin(t_s / 3.1), 2)
            pvi = round(12 + 3 * math.sin(t_s / 61.0))
            exc = masimo_ascii.EXC_MASIMO_SET
            if forced is not None:  # questionable: the monitor's low-perfusion exception
                exc |= masimo_ascii.EXC_LOW_PERFUSION
        if self.radical7:
            return masimo_ascii.encode_radical7_line(
                device_time=device_time,
                serial_number=self.serial_number,
                spo2=spo2,
                pr=pr,
                pi=pi,
                pvi=pvi,
                exc=exc,
            )
        return masimo_ascii.encode_line(
            device_time=device_time,
            serial_number=self.serial_number,
            spo2=spo2,
            pr=pr,
            pi=pi,
            exc=exc,
        )


def start_masimo_on_pty(
    clock: Clock,
    *,
    profile: str = "routine",
    seed: int = 0,
    timeline: SessionTimeline | None = None,
    session_start: datetime | None = None,
    name: str = "sim-masimo",
) -> PtyEndpoint:
    """Start a simulated Masimo monitor on a fresh pty; open ``endpoint.path`` to read it.

    The monitor is ``endpoint.monitor`` (a :class:`MasimoMonitorSim`), e.g. for
    ``endpoint.monitor.set_sensor_off(True)`` in fault scenarios.
    """
    patient = PatientModel(profile, seed=seed, timeline=timeline)
    monitor = MasimoMonitorSim(patient, session_start or clock.now())
    endpoint = PtyEndpoint(monitor, clock=clock, name=name)
    endpoint.start()
    return endpoint
