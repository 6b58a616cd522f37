"""Driver for GE Datex-Ohmeda S/5 and CARESCAPE monitors over the DRI computer interface.

The conversation is one-sided (protocols.md 2.4, 2.9): ask once for displayed values every
``interval_s`` seconds, then decode whatever streams in until we send the stop request.  All byte
work lives in :mod:`devices.protocols.ge_datex`; this module decides which numbers become
:class:`~devices.model.Reading` objects and when — in particular NIBP, which the monitor repeats
in every record long after the cuff measured it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from devices.base import Driver, DriverOutput
from devices.errors import ProtocolError
from devices.model import METRIC_UNITS, MULTIPARAMETER_METRICS, Metric, Reading
from devices.protocols.ge_datex import (
    NIBP_LABEL_MEASURING,
    NIBP_LABEL_OLD,
    BasicClass,
    DatexFramer,
    DatexValue,
    encode_phdb_request,
    encode_stop_request,
    frame_record,
)
from devices.protocols.ge_datex_fast import decode_phdb_record


@dataclass(frozen=True, slots=True)
class _NibpSeen:
    """What the previous record said about NIBP, to spot the end of a cuff cycle."""

    busy: bool
    values: tuple[DatexValue, DatexValue, DatexValue]


class DatexDriver(Driver):
    """DRI displayed-values client (basic class only, which holds every metric we show)."""

    kind: ClassVar[str] = "ge-datex"
    manufacturer: ClassVar[str] = "GE Healthcare (Datex-Ohmeda)"
    model: ClassVar[str] = "S/5 / CARESCAPE (DRI)"
    default_baud: ClassVar[int] = 19200
    parity: ClassVar[str] = "E"
    metrics: ClassVar[frozenset[Metric]] = MULTIPARAMETER_METRICS

    def __init__(self, interval_s: int = 1, device_id: str = "") -> None:
        """Prepare a conversation.

        Args:
            interval_s: requested transmission interval; 1 s was honoured by a real level-10
                monitor, VSCapture uses 5 s for older ones.
            device_id: copied into every reading.

        Raises:
            ValueError: interval below 1 s (0 would be the stop request) or above 32767 s.
        """
        if not 1 <= interval_s <= 32767:
            raise ValueError(f"interval_s must be 1..32767, got {interval_s}")
        self.interval_s = interval_s
        self.device_id = device_id
        self._framer = DatexFramer()
        self._nibp_prev: _NibpSeen | None = None

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> Self:
        """The configured record interval (``[device] interval_s``); the rest is fixed."""
        return cls(interval_s=int(settings.get("interval_s", 1)))

    @property
    def quiet_after_s(self) -> float:
        """Silence that triggers a re-request: 3·I + 2 seconds (protocols.md 2.9)."""
        return float(3 * self.interval_s + 2)

    @property
    def framer(self) -> DatexFramer:
        """The framer, for its ``good_frames``/``bad_frames`` counters."""
        return self._framer

    def handshake(self) -> list[bytes]:
        """Ask for displayed values (basic class) every ``interval_s`` seconds.

        Called after every (re)connect, so the framer is resynchronised: bytes buffered from the
        old stream have nothing to do with the new one.
        """
        self._framer.reset()
        return [frame_record(encode_phdb_request(self.interval_s))]

    def close(self) -> list[bytes]:
        """Tell the monitor to stop streaming (it has no keep-alive and would go on forever)."""
        return [frame_record(encode_stop_request())]

    def feed(self, chunk: bytes, received_at: datetime) -> DriverOutput:
        """Decode ``chunk``; frame and record errors are returned in ``errors``, never raised."""
        out = DriverOutput()
        framed = self._framer.feed(chunk)
        out.errors.extend(framed.errors)
        for raw in framed.records:
            try:
                # The fast path; benchmarks swap in ge_datex.decode_phdb_record_reference.
                values = decode_phdb_record(raw)
            except ProtocolError as err:
                out.errors.append(err)
                continue
            if values is None or values.basic is None or values.time is None:
                continue  # wave/alarm record, echoed request, or no basic class
            device_time = datetime.fromtimestamp(values.time, tz=UTC)
            out.readings.extend(self._readings(values.basic, device_time, received_at))
        return out

    # -- internals ------------------------------------------------------------------------
    def _reading(
        self, metric: Metric, value: DatexValue, device_time: datetime, received_at: datetime
    ) -> Reading:
        # Positional arguments skip the keyword matching; this runs ~7,000 times per 30-min capture.
        flag = value.flag
        return Reading(
            metric,
            value.value,
            METRIC_UNITS[metric],
            received_at,
            device_time,
            flag is None and value.value is not None,
            (flag,) if flag is not None else (),
            self.device_id,
        )

    def _readings(
        self, basic: BasicClass, device_time: datetime, received_at: datetime
    ) -> list[Reading]:
        """Readings of one basic class; absent modules (status bit 0 clear) give none."""
        picked: list[tuple[Metric, DatexValue]] = []
        if basic.ecg_present:
            picked.append((Metric.HR, basic.ecg_hr))
        if basic.spo2_present:
            picked.append((Metric.PR, basic.pr))
            picked.append((Metric.SPO2, basic.spo2))
        rr = _respiration_rate(basic)
        if rr is not None:
            picked.append((Metric.RR, rr))
        if basic.t1_present:
            picked.append((Metric.TEMP, basic.t1))
        readings = [self._reading(m, v, device_time, received_at) for m, v in picked]
        for metric, value in self._completed_nibp(basic):
            readings.append(self._reading(metric, value, device_time, received_at))
        return readings

    def _completed_nibp(self, basic: BasicClass) -> list[tuple[Metric, DatexValue]]:
        """NIBP values to emit for this record: only once per completed cuff measurement.

        The monitor repeats the last NIBP numbers in every record, so emitting them each time
        would turn one measurement into hundreds.  The label tells us where the cuff is; the real
        30-min capture (``pycollect_db00_30min.raw``) shows, around each automatic cycle::

            0x12B  measuring + old      (cuff inflating, previous numbers still shown)
            0x02B  measuring, new numbers already in the record
            0x00B  done                 <- emit here
            0x10B  older than 60 s      (same numbers; never emit again)

        Rule: emit when the label has neither the measuring bit (5) nor the old bit (8) and
        either this is the first record we see, or the previous record was measuring/old, or the
        numbers changed (one real cycle went ``0x12B`` straight to new numbers with ``0x00B``).
        Numbers that are already "old" when we connect belong to a measurement taken before we
        were listening and are not emitted.  The device time is that of the record in which the
        completion was seen — the monitor does not send the cuff's own time.
        """
        if not basic.nibp_present:
            self._nibp_prev = None
            return []
        values = (basic.nibp_sys, basic.nibp_dia, basic.nibp_mean)
        busy = bool(basic.nibp_label & (NIBP_LABEL_MEASURING | NIBP_LABEL_OLD))
        previous = self._nibp_prev
        self._nibp_prev = _NibpSeen(busy, values)
        if busy:
            return []
        if previous is not None and not previous.busy and previous.values == values:
            return []
        return list(zip((Metric.NIBP_SYS, Metric.NIBP_DIA, Metric.NIBP_MEAN), values, strict=True))


def _respiration_rate(basic: BasicClass) -> DatexValue | None:
    """RR: the CO2 (capnography) rate when valid, else ECG impedance (protocols.md 2.6).

    When neither is valid the marker of the preferred present source is returned so the record
    keeps why there was no rate; None when neither module is present.
    """
    if basic.co2_present and basic.co2_rr.valid:
        return basic.co2_rr
    if basic.ecg_present and basic.imp_rr.valid:
        return basic.imp_rr
    if basic.co2_present:
        return basic.co2_rr
    if basic.ecg_present:
        return basic.imp_rr
    return None
