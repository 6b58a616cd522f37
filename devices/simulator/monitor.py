"""A virtual GE Datex-Ohmeda S/5 / CARESCAPE monitor that speaks DRI on the wire.

Sans-I/O like the codecs: it is fed the bytes the host sends and asked which bytes are due at a
given (simulated) time.  :mod:`devices.simulator.pty_endpoint` carries those bytes over a real
pseudo-terminal so the console reads them through pyserial exactly as from a USB adapter.

Behaviour follows protocols.md 2.9 (simulator side): wait for a valid displayed-values request,
then every ``tx_interval`` seconds emit a PHDB DISPL record with ``r_nbr + 1`` and ``r_time =
now``; stop on a request with interval 0.  NIBP runs as real cuff cycles with the label sequence
seen on a real monitor (``0x12B`` measuring/old -> ``0x02B`` new values -> ``0x00B`` -> ``0x10B``
after 60 s), so the console's NIBP time-stamping is exercised as in the field.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

from devices.model import Metric, ReadingFlag
from devices.protocols import ge_datex
from devices.simulator.faults import MonitorFaults, corrupt_frame
from devices.simulator.signals import PatientModel

log = logging.getLogger("devices.simulator")

#: NIBP group label bits (protocols.md 2.6): adult cuff (3) in AUTO mode (bit 3).
LABEL_ADULT_AUTO = 0x00B
LABEL_MEASURING = 0x020
LABEL_OLD = 0x100
#: How long one cuff inflation/deflation takes, in seconds of session time.
CUFF_MEASUREMENT_S = 30.0
#: A real monitor does not replay what it failed to send; we catch up at most this many records.
MAX_CATCH_UP_RECORDS = 120  # enough to ride out a host stall at x300 without dropping data


@dataclass(frozen=True, slots=True)
class NibpSchedule:
    """Automatic cuff cycle: first start time and the interval between starts (session time)."""

    first_start_s: float = 30.0
    interval_s: float = 300.0


class DatexMonitorSim:
    """Virtual DRI monitor fed by a :class:`PatientModel`."""

    def __init__(
        self,
        patient: PatientModel,
        session_start: datetime,
        *,
        nibp: NibpSchedule | None = None,
        dri_level: int = 10,
    ) -> None:
        self.patient = patient
        self.session_start = session_start
        self.nibp = nibp or NibpSchedule()
        self.dri_level = dri_level
        self._framer = ge_datex.DatexFramer()
        self._interval_s = 0
        self._next_emit_s: float | None = None
        self._r_nbr = 0
        self._nibp_values: tuple[float, float, float] | None = None
        self._nibp_done_at_s: float | None = None
        self._next_cuff_start_s = self.nibp.first_start_s
        self.requests_seen = 0
        self.records_sent = 0
        self.faults = MonitorFaults()

    @property
    def streaming(self) -> bool:
        """True while the host has asked for periodic displayed values."""
        return self._interval_s > 0

    def session_seconds(self, now: datetime) -> float:
        """Session time of ``now``."""
        return (now - self.session_start).total_seconds()

    def receive(self, data: bytes, now: datetime) -> None:
        """Take bytes written by the host; act on complete requests."""
        result = self._framer.feed(data)
        for err in result.errors:
            log.debug("simulator ignored a bad host frame: %s", err)
        for record in result.records:
            request = ge_datex.parse_phdb_request(record)
            if request is None:
                continue
            self.requests_seen += 1
            if request.interval_s <= 0:
                self._interval_s = 0
                self._next_emit_s = None
                continue
            if request.interval_s != self._interval_s or self._next_emit_s is None:
                self._interval_s = request.interval_s
                # On whole session seconds: the same seed then samples the patient at the same
                # instants however long the host took to ask (deterministic replays).
                self._next_emit_s = math.floor(self.session_seconds(now)) + request.interval_s

    def due(self, now: datetime) -> list[bytes]:
        """Framed records whose time has come, in order (bounded catch-up)."""
        if self._next_emit_s is None:
            return []
        t_now = self.session_seconds(now)
        out: list[bytes] = []
        while self._next_emit_s <= t_now and len(out) < MAX_CATCH_UP_RECORDS:
            record = self._record_at(self._next_emit_s)
            self._next_emit_s += self._interval_s
            if self.faults.silent:
                continue  # time passes and the patient changes, but nothing is sent
            how = self.faults.take_corruption()
            out.append(record if how is None else corrupt_frame(record, how))
        if self._next_emit_s <= t_now:  # far behind: skip, as a real monitor would
            missed = int((t_now - self._next_emit_s) // self._interval_s) + 1
            self._next_emit_s += missed * self._interval_s
        return out

    def request_nibp(self, now: datetime) -> bool:
        """Start a cuff measurement now, as the monitor's "NIBP start" key does.

        The automatic cycle restarts from this measurement (the next automatic one follows
        after the interval).  A request while the cuff is already measuring is ignored, as on
        a real monitor.

        Returns:
            True when a measurement was started, False when one was already running.
        """
        t_s = self.session_seconds(now)
        if self._next_cuff_start_s <= t_s < self._next_cuff_start_s + CUFF_MEASUREMENT_S:
            return False
        # One assignment: the pty thread reads it on its next record (no lock needed).
        self._next_cuff_start_s = t_s
        return True

    def seconds_until_due(self, now: datetime) -> float | None:
        """Session seconds until the next record, or None when not streaming."""
        if self._next_emit_s is None:
            return None
        return max(0.0, self._next_emit_s - self.session_seconds(now))

    # -- internals ------------------------------------------------------------------------
    def _nibp_state(self, t_s: float) -> int:
        """Advance the cuff and return the NIBP label for a record at ``t_s``."""
        while t_s >= self._next_cuff_start_s + CUFF_MEASUREMENT_S:
            done = self._next_cuff_start_s + CUFF_MEASUREMENT_S
            self._nibp_values = self.patient.cuff_measurement(done)
            self._nibp_done_at_s = done
            self._next_cuff_start_s += self.nibp.interval_s
        label = LABEL_ADULT_AUTO
        measuring = t_s >= self._next_cuff_start_s
        done_at = self._nibp_done_at_s
        if measuring:
            label |= LABEL_MEASURING | LABEL_OLD
        elif done_at is not None and t_s - done_at < self._interval_s:
            label |= LABEL_MEASURING  # values fresh, flag not yet dropped (real 0x02B record)
        elif done_at is not None and t_s - done_at >= 60.0:
            label |= LABEL_OLD
        return label

    def _record_at(self, t_s: float) -> bytes:
        vit = self.patient.vitals_at(t_s)
        label = self._nibp_state(t_s)
        nibp = self._nibp_values
        self._r_nbr = (self._r_nbr + 1) % 256
        faults = self.faults
        r_time = int(self.session_start.timestamp() + t_s + faults.clock_offset_s)
        flags = dict(faults.flags)
        if faults.sensor_off:
            # What a real S/5 sends with the probe off: SpO2 "no data", PR "not updated" (2.7).
            flags[Metric.SPO2] = ReadingFlag.INVALID
            flags[Metric.PR] = ReadingFlag.NOT_UPDATED
        record = ge_datex.encode_displayed_values_record(
            r_nbr=self._r_nbr,
            r_time=r_time,
            dri_level=self.dri_level,
            hr=round(vit.hr),
            imp_rr=round(vit.rr),
            nibp_sys=nibp[0] if nibp else None,
            nibp_dia=nibp[1] if nibp else None,
            nibp_mean=nibp[2] if nibp else None,
            nibp_label=label,
            spo2=round(vit.spo2, 2),
            pr=round(vit.hr),
            t1=round(vit.temp, 2),
            hr_flag=flags.get(Metric.HR),
            spo2_flag=flags.get(Metric.SPO2),
            pr_flag=flags.get(Metric.PR),
            imp_rr_flag=flags.get(Metric.RR),
            t1_flag=flags.get(Metric.TEMP),
            nibp_sys_flag=flags.get(Metric.NIBP_SYS),
            nibp_dia_flag=flags.get(Metric.NIBP_DIA),
            nibp_mean_flag=flags.get(Metric.NIBP_MEAN),
        )
        self.records_sent += 1
        return ge_datex.frame_record(record)
