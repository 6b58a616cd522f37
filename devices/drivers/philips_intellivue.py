"""Driver for Philips IntelliVue monitors over the MIB/RS232 Data Export interface.

Unlike DRI, IntelliVue is a conversation (protocols.md 1.13): associate, answer the monitor's MDS
create event, ask for numerics with an extended poll that lapses after ``TIME_PD_POLL``, renew it
before it does, and release at the end.  This module is that client state machine; all byte work
lives in :mod:`devices.protocols.philips_intellivue` (hand-rolled: no maintained Python library
speaks IntelliVue MIB).

Client states::

    WAIT_AARE --0E--> WAIT_MDS_CREATE --MDS create event / reply + first poll--> ASSOCIATED
        |  0C/19/timeout       | timeout (abort)                         | 19 abort, 09 release
        v                      v                                          v
      BACKOFF ----------- (3 s) ---------> association request again  <---+

The runner's quiet-line watchdog covers the "no valid frame for 5 s" rule: :meth:`on_quiet`
aborts whatever the monitor thinks is going on and associates afresh.
"""

from __future__ import annotations

import enum
import logging
from datetime import UTC, datetime, timedelta, tzinfo
from typing import ClassVar

from devices.base import Driver, DriverOutput
from devices.errors import ProtocolError
from devices.model import (
    METRIC_UNITS,
    MULTIPARAMETER_METRICS,
    NIBP_METRICS,
    Metric,
    Reading,
    ReadingFlag,
    TechnicalEvent,
    TechnicalEventKind,
)
from devices.protocols import philips_intellivue as piv
from devices.protocols.philips_intellivue import (
    AbsoluteTime,
    AssociationMessage,
    ClockMapping,
    DataExportMessage,
    FloatSpecial,
    IntelliVueFramer,
    NuObsTuple,
    PollNumericRows,
)

log = logging.getLogger("devices.philips_intellivue")

#: How long to wait for the association result before asking again (1.13).
AARE_TIMEOUT_S = 5.0
#: How long to wait for the MDS create event after the association result (1.13).
MDS_CREATE_TIMEOUT_S = 10.0
#: Pause after a refused or aborted association before asking again (1.13: 2-5 s).
BACKOFF_S = 3.0
#: Send something at least this often while associated: the monitor drops a silent client
#: after 10 s in the worst case (1.12 recommendation: "any cheap message if nothing was sent for
#: 5 s").
KEEP_ALIVE_S = 5.0
#: Silence, in seconds, after which the link is declared lost (1.12: numerics come every 1 s).
QUIET_AFTER_S = 5.0
#: The monitor's free-running clock reference we answer the MDS create event with; VSC-MP sends
#: this constant and real monitors accept it (1.7).
MDS_RESULT_CURRENT_TIME = 0x000ABD00
#: Decoded AbsoluteTimes remembered per driver; a poll stamps all its objects with one time and
#: NIBP repeats its measurement time, so a few entries serve nearly every lookup.
_ABS_TIME_CACHE_SIZE = 64
#: Decoded values remembered per driver (see :meth:`IntelliVueDriver._decode`); vital signs
#: repeat the same few hundred (metric, value, state, unit) combinations.
_VALUE_CACHE_SIZE = 1024


class Phase(enum.StrEnum):
    """Where the client conversation stands (protocols.md 1.13)."""

    WAIT_AARE = "wait_aare"
    WAIT_MDS_CREATE = "wait_mds_create"
    ASSOCIATED = "associated"
    BACKOFF = "backoff"
    RELEASING = "releasing"


#: What a NuObsValue gives a reading of one metric: (value in the metric's unit, valid, flags,
#: unit code not convertible).
_Decoded = tuple[float | None, bool, tuple[ReadingFlag, ...], bool]


class IntelliVueDriver(Driver):
    """IntelliVue Data Export client for numerics (HR, PR, SpO2, RR, NIBP, temperature)."""

    kind: ClassVar[str] = "philips-intellivue"
    manufacturer: ClassVar[str] = "Philips"
    model: ClassVar[str] = "IntelliVue MP/MX/X2 (MIB/RS232 Data Export)"
    default_baud: ClassVar[int] = 115200
    metrics: ClassVar[frozenset[Metric]] = MULTIPARAMETER_METRICS

    def __init__(
        self,
        device_id: str = "",
        poll_period_s: float = 60.0,
        renew_before_s: float = 50.0,
        *,
        keep_alive_s: float = KEEP_ALIVE_S,
        monitor_tz: tzinfo = UTC,
    ) -> None:
        """Prepare a conversation.

        Args:
            device_id: copied into every reading and event.
            poll_period_s: TIME_PD_POLL of the extended numerics poll: how long the monitor keeps
                sending results if we stop renewing (1.12 recommends 60 s).
            renew_before_s: renew the poll this long before it would expire; the default renews
                every 10 s, the 1.12 recommendation, so a lost request or two costs nothing.
            keep_alive_s: send a cheap single poll when nothing else was sent for this long.
            monitor_tz: zone of the monitor's wall clock; IntelliVue absolute times carry none.

        Raises:
            ValueError: periods that cannot work (renewal not before expiry, non-positive values,
                or a period too long for the u32 tick field).
        """
        if not 1.0 <= poll_period_s <= 0xFFFFFFFF / piv.TICKS_PER_S:
            raise ValueError(f"poll_period_s must be 1 s .. 6 days, got {poll_period_s}")
        if not 0.0 < renew_before_s <= poll_period_s - 0.5:
            raise ValueError(
                f"renew_before_s must be > 0 and leave >= 0.5 s of the {poll_period_s} s poll "
                f"period, got {renew_before_s}"
            )
        if keep_alive_s <= 0:
            raise ValueError(f"keep_alive_s must be positive, got {keep_alive_s}")
        self.device_id = device_id
        self.poll_period_s = poll_period_s
        self.renew_before_s = renew_before_s
        self.keep_alive_s = keep_alive_s
        self.monitor_tz = monitor_tz
        self._framer = IntelliVueFramer()
        self._phase = Phase.WAIT_AARE
        self._deadline: datetime | None = None
        self._next_poll_at: datetime | None = None
        self._last_sent_at: datetime | None = None
        self._invoke_id = 0
        self._poll_number = 0
        self._clock: ClockMapping | None = None
        self._labels: dict[int, int] = {}
        #: AbsoluteTime bytes -> to_datetime(self._abs_times_tz); see :meth:`_abs_datetime`.
        self._abs_times: dict[bytes, datetime | None] = {}
        self._abs_times_tz: tzinfo = monitor_tz
        #: (metric, NuObsValue tuple) -> what :meth:`_decode` made of it.
        self._decoded: dict[tuple[Metric, NuObsTuple], _Decoded] = {}
        #: NIBP metric -> identity of the last cuff measurement emitted (kept across
        #: re-associations so a reconnect does not repeat the same measurement).
        self._nibp_seen: dict[Metric, object] = {}
        self.monitor_model: tuple[str, str] | None = None
        self.monitor_user_info: piv.MdseUserInfo | None = None
        self.associations = 0
        self.polls_sent = 0
        self.keep_alives_sent = 0

    # -- public state ----------------------------------------------------------------------
    @property
    def quiet_after_s(self) -> float:
        """Numerics arrive every second while associated; 5 s of silence means trouble (1.12)."""
        return QUIET_AFTER_S

    @property
    def phase(self) -> Phase:
        """Current conversation state."""
        return self._phase

    @property
    def framer(self) -> IntelliVueFramer:
        """The framer, for its counters."""
        return self._framer

    @property
    def clock_mapping(self) -> ClockMapping | None:
        """The monitor's relative-to-absolute time mapping from the last MDS create event."""
        return self._clock

    @property
    def renew_interval_s(self) -> float:
        """Seconds between two extended poll requests."""
        return self.poll_period_s - self.renew_before_s

    # -- Driver API ------------------------------------------------------------------------
    def handshake(self) -> list[bytes]:
        """Start associating; called after every (re)connect, so all link state starts afresh."""
        self._framer.reset()
        return self._associate()

    def on_quiet(self) -> list[bytes]:
        """The monitor went silent: abort whatever it believes and associate again (1.13)."""
        log.info("%s: no data; aborting and re-associating", self.device_id or "intellivue")
        return [piv.frame_message(piv.encode_abort()), *self._associate()]

    def close(self) -> list[bytes]:
        """Release the association so the monitor stops polling for us at once."""
        self._phase = Phase.RELEASING
        self._deadline = None
        self._next_poll_at = None
        return [piv.frame_message(piv.encode_release_request())]

    def poll_requests(self, now: datetime) -> list[bytes]:
        """Time-driven sends: poll renewal, keep-alive, and the association time-outs."""
        out: list[bytes] = []
        if self._last_sent_at is not None and now < self._last_sent_at:
            # The wall clock went back: re-base the timers so the monitor is not left silent
            # (it would abort) or its poll unrenewed (it would stop sending).
            self._last_sent_at = now
            renew_by = now + timedelta(seconds=self.renew_interval_s)
            if self._next_poll_at is not None and self._next_poll_at > renew_by:
                self._next_poll_at = renew_by
        phase = self._phase
        if phase is Phase.WAIT_AARE:
            if self._deadline is None:
                self._deadline = now + timedelta(seconds=AARE_TIMEOUT_S)
            elif now >= self._deadline:
                log.info("no association result within %.0f s; asking again", AARE_TIMEOUT_S)
                out += self._associate()
                self._deadline = now + timedelta(seconds=AARE_TIMEOUT_S)
        elif phase is Phase.WAIT_MDS_CREATE:
            if self._deadline is None:
                self._deadline = now + timedelta(seconds=MDS_CREATE_TIMEOUT_S)
            elif now >= self._deadline:
                log.info("no MDS create event within %.0f s; aborting", MDS_CREATE_TIMEOUT_S)
                out.append(piv.frame_message(piv.encode_abort()))
                self._back_off(now)
        elif phase is Phase.BACKOFF:
            if self._deadline is None or now >= self._deadline:
                out += self._associate()
                self._deadline = now + timedelta(seconds=AARE_TIMEOUT_S)
        elif phase is Phase.ASSOCIATED:
            if self._next_poll_at is None or now >= self._next_poll_at:
                out.append(self._poll_request())
                self._next_poll_at = now + timedelta(seconds=self.renew_interval_s)
            elif self._last_sent_at is None or (now - self._last_sent_at).total_seconds() >= (
                self.keep_alive_s
            ):
                out.append(self._keep_alive())
        if out:
            self._last_sent_at = now
        return out

    def feed(self, chunk: bytes, received_at: datetime) -> DriverOutput:
        """Decode ``chunk``; frame and message errors are returned in ``errors``, never raised."""
        out = DriverOutput()
        framed = self._framer.feed(chunk)
        out.errors.extend(framed.errors)
        for user_data in framed.messages:
            try:
                message = piv.decode_message(user_data)
                if isinstance(message, AssociationMessage):
                    self._on_association(message, received_at, out)
                else:
                    self._on_data_export(message, received_at, out)
            except ProtocolError as err:
                if not err.raw:
                    err.raw = user_data
                out.errors.append(err)
        if out.replies:
            self._last_sent_at = received_at
        return out

    # -- conversation ----------------------------------------------------------------------
    def _associate(self) -> list[bytes]:
        self._phase = Phase.WAIT_AARE
        self._deadline = None
        self._next_poll_at = None
        self._clock = None
        self._labels.clear()
        return [piv.frame_message(piv.encode_association_request(self._user_info()))]

    def _user_info(self) -> piv.MdseUserInfo:
        """Numerics-only request of ``spec_built/.../01``: 1 s numerics, no waves."""
        return piv.MdseUserInfo()

    def _back_off(self, now: datetime) -> None:
        self._phase = Phase.BACKOFF
        self._deadline = now + timedelta(seconds=BACKOFF_S)
        self._next_poll_at = None

    def _next_invoke_id(self) -> int:
        self._invoke_id = (self._invoke_id + 1) & 0xFFFF
        return self._invoke_id

    def _poll_request(self) -> bytes:
        self._poll_number = (self._poll_number + 1) & 0xFFFF
        self.polls_sent += 1
        message = piv.encode_extended_poll_request(
            self._next_invoke_id(),
            self._poll_number,
            period_ticks=round(self.poll_period_s * piv.TICKS_PER_S),
        )
        return piv.frame_message(message)

    def _keep_alive(self) -> bytes:
        """A single poll of the MDS system-production group: small request, small answer."""
        self._poll_number = (self._poll_number + 1) & 0xFFFF
        self.keep_alives_sent += 1
        message = piv.encode_single_poll_request(
            self._next_invoke_id(), self._poll_number, attr_group=piv.NOM_ATTR_GRP_SYS_PROD
        )
        return piv.frame_message(message)

    def _event(self, at: datetime, detail: str) -> TechnicalEvent:
        return TechnicalEvent(TechnicalEventKind.DISCONNECTED, at, detail, self.device_id)

    def _on_association(
        self, message: AssociationMessage, received_at: datetime, out: DriverOutput
    ) -> None:
        kind = message.kind
        live = self._phase in (Phase.WAIT_AARE, Phase.WAIT_MDS_CREATE, Phase.ASSOCIATED)
        if kind == piv.AC_SPDU_SI:
            if self._phase is Phase.WAIT_AARE:
                self._phase = Phase.WAIT_MDS_CREATE
                self._deadline = received_at + timedelta(seconds=MDS_CREATE_TIMEOUT_S)
                self.monitor_user_info = message.user_info
        elif kind == piv.RF_SPDU_SI:
            if live:
                # Usually a stale association from a previous run: abort it so the next
                # request after the back-off is accepted.
                out.events.append(self._event(received_at, "association refused by the monitor"))
                out.replies.append(piv.frame_message(piv.encode_abort()))
                self._back_off(received_at)
        elif kind == piv.AB_SPDU_SI:
            if live:
                out.events.append(self._event(received_at, "association aborted by the monitor"))
                self._back_off(received_at)
        elif kind == piv.FN_SPDU_SI:
            out.replies.append(piv.frame_message(piv.encode_release_result()))
            if live:
                out.events.append(self._event(received_at, "association released by the monitor"))
                self._back_off(received_at)
        elif kind == piv.DN_SPDU_SI and self._phase is Phase.RELEASING:
            self._deadline = None  # release confirmed; nothing more to wait for
        # CN (our own request echoed by a looped cable) and unknown kinds are ignored.

    def _on_data_export(
        self, message: DataExportMessage, received_at: datetime, out: DriverOutput
    ) -> None:
        if piv.is_mds_create_event(message):
            self._on_mds_create(message, received_at, out)
            return
        if message.ro_type == piv.ROER_APDU:
            log.info(
                "monitor returned error %s for invoke id %d", message.error_value, message.invoke_id
            )
            return
        if self._phase is not Phase.ASSOCIATED:
            return
        # The rows are numeric_observations(decode_poll_result(message)) as plain tuples: the
        # same content without a dataclass per attribute, value and object every second.
        result = piv.decode_poll_numeric_rows(message)
        if result is not None:
            out.readings.extend(self._readings(result, received_at))

    def _on_mds_create(
        self, message: DataExportMessage, received_at: datetime, out: DriverOutput
    ) -> None:
        if self._phase not in (Phase.WAIT_AARE, Phase.WAIT_MDS_CREATE, Phase.ASSOCIATED):
            return
        event = piv.decode_mds_create_event(message)
        self._clock = event.clock_mapping(self.monitor_tz)
        self.monitor_model = event.model
        out.replies.append(
            piv.frame_message(
                piv.encode_mds_create_result(
                    message.invoke_id,
                    MDS_RESULT_CURRENT_TIME,
                    mds=event.managed_object,
                    context_id=message.context_id,
                )
            )
        )
        if self._phase is not Phase.ASSOCIATED:
            self._phase = Phase.ASSOCIATED
            self.associations += 1
            self._deadline = None
            out.replies.append(self._poll_request())
            self._next_poll_at = received_at + timedelta(seconds=self.renew_interval_s)
            log.info(
                "%s: associated with %s",
                self.device_id or "intellivue",
                " ".join(self.monitor_model or ("unknown monitor",)),
            )

    # -- readings --------------------------------------------------------------------------
    def _poll_time(self, result: PollNumericRows) -> datetime | None:
        """Sample time of a poll result: rel_time_stamp through the MDS clock (1.9.5)."""
        if self._clock is not None:
            return _clock_at(self._clock, result.rel_time_stamp)
        return self._abs_datetime(result.abs_time_stamp.raw)

    def _abs_time_cache(self) -> dict[bytes, datetime | None]:
        """The memo of :meth:`_abs_datetime`, emptied first if ``monitor_tz`` was reassigned."""
        if self.monitor_tz is not self._abs_times_tz:
            self._abs_times.clear()
            self._abs_times_tz = self.monitor_tz
        return self._abs_times

    def _abs_datetime(self, raw: bytes) -> datetime | None:
        """``AbsoluteTime(raw).to_datetime(self.monitor_tz)``, memoised on the bytes.

        Every object of a poll carries the same time stamp, so decoding it once per poll
        instead of once per object saves most of the BCD and datetime work.  The memo is kept
        small: it only needs the last poll's stamp and the NIBP measurement time.
        """
        cache = self._abs_time_cache()
        if raw in cache:
            return cache[raw]
        if len(cache) >= _ABS_TIME_CACHE_SIZE:
            cache.clear()
        when = cache[raw] = AbsoluteTime(raw).to_datetime(self.monitor_tz)
        return when

    def _observation_time(self, time_abs: bytes | None, time_rel: int | None) -> datetime | None:
        if time_abs is not None:
            when = self._abs_datetime(time_abs)
            if when is not None:
                return when
        if time_rel is not None and self._clock is not None:
            return _clock_at(self._clock, time_rel)
        return None

    def _readings(self, result: PollNumericRows, received_at: datetime) -> list[Reading]:
        """Readings of one poll result (or one RORLS fragment).

        One reading per metric: when several objects feed one metric (impedance and airway
        respiration rate, pleth and generic pulse), a valid value beats a flagged one and then
        the preference in :data:`~devices.protocols.philips_intellivue.PHYSIO_METRICS` decides.
        NIBP is emitted once per cuff measurement (see :meth:`_new_nibp`).

        Each object is a :data:`~devices.protocols.philips_intellivue.NumericRow` and each value
        a ``(physio_id, state, unit_code, raw_value)`` tuple; this runs for every value every
        second, hence the plain tuples and the inlined lookups.
        """
        poll_time = self._poll_time(result)
        # metric -> ((not usable, preference), reading): the lower rank wins; the first
        # reading of a metric keeps the metric's place in the output order.
        best: dict[Metric, tuple[tuple[bool, int], Reading]] = {}
        nibp: list[Reading] = []
        labels = self._labels
        physio_metrics = piv.PHYSIO_METRICS
        abs_times = self._abs_time_cache()
        for handle, values, compound, label, time_abs, time_rel in result.rows:
            if label is not None:
                labels[handle] = label
            else:
                label = labels.get(handle)
            # The memo answers all but the first object of a poll without two method calls; a
            # miss, or a stamp remembered as undecodable (None), takes the full path.
            device_time = abs_times.get(time_abs) if time_abs is not None else None
            if device_time is None:
                device_time = self._observation_time(time_abs, time_rel) or poll_time
            for value in values:
                mapped = physio_metrics.get(value[0])
                # Physio id 0 (NOM_METRIC_NOS) or unknown: the label names it (1.9.3, VSC-MP).
                if (
                    mapped is None
                    and not compound
                    and label is not None
                    and label >> 16 == piv.NOM_PART_SCADA
                ):
                    mapped = physio_metrics.get(label & 0xFFFF)
                if mapped is None:
                    continue
                metric, preference = mapped
                if metric in NIBP_METRICS:
                    if self._new_nibp(metric, value, time_abs, time_rel):
                        nibp.append(self._reading(metric, value, device_time, received_at))
                    continue
                reading = self._reading(metric, value, device_time, received_at)
                # not reading.usable, read from the slots without the property call
                rank = (not (reading.valid and reading.value is not None), preference)
                current = best.get(metric)
                if current is None or rank < current[0]:
                    best[metric] = (rank, reading)
        return [entry[1] for entry in best.values()] + nibp

    def _new_nibp(
        self, metric: Metric, value: NuObsTuple, time_abs: bytes | None, time_rel: int | None
    ) -> bool:
        """True when this NIBP value belongs to a cuff measurement not emitted yet.

        The monitor repeats the last NIBP in every poll; its own NOM_ATTR_TIME_STAMP_ABS (or
        _REL) names the measurement, so a changed time stamp is a new cuff reading (1.11).
        Without a time stamp the raw value and state stand in for it.  A value flagged
        MSMT_ONGOING (cuff inflating) is never a completed measurement and is skipped.
        """
        _physio_id, state, unit_code, raw_value = value
        if state & piv.MSMT_ONGOING:
            return False
        identity: object
        if time_abs is not None:
            identity = ("abs", time_abs)
        elif time_rel is not None:
            identity = ("rel", time_rel)
        else:
            identity = ("value", raw_value, state, unit_code)
        if self._nibp_seen.get(metric) == identity:
            return False
        self._nibp_seen[metric] = identity
        return True

    def _reading(
        self,
        metric: Metric,
        value: NuObsTuple,
        device_time: datetime | None,
        received_at: datetime,
    ) -> Reading:
        """A reading with the unit converted to the console's UCUM unit.

        valid follows the guide's rule (high state octet 0, no special FLOAT) and additionally
        needs a known unit; low-octet bits such as MSMT_ONGOING stay informative flags.
        """
        key = (metric, value)
        decoded = self._decoded.get(key)
        if decoded is None:
            decoded = self._decode(metric, value)
            if len(self._decoded) >= _VALUE_CACHE_SIZE:
                self._decoded.clear()
            self._decoded[key] = decoded
        number, valid, flags, unconvertible = decoded
        unit = METRIC_UNITS[metric]
        if unconvertible:
            log.info("%s: unit code 0x%04X cannot be shown as %s", metric, value[2], unit)
        # Positional, in Reading's field order (metric, value, unit, received_at, device_time,
        # valid, flags, device_id): a third faster than keywords, and built for every value.
        return Reading(metric, number, unit, received_at, device_time, valid, flags, self.device_id)

    @staticmethod
    def _decode(metric: Metric, value: NuObsTuple) -> _Decoded:
        """Number, validity and flags of ``value`` as a reading of ``metric``.

        A pure function of its arguments, so :meth:`_reading` memoises it: decoding the FLOAT,
        the state flags and the unit conversion cost more than the Reading itself, and the
        same values come back every second.
        """
        _physio_id, state, unit_code, raw_value = value
        # One FLOAT decode for value, validity and flags (NuObsValue's properties do three).
        decoded, valid, flags = piv.decode_nu_obs(state, raw_value)
        number: float | None = None
        unconvertible = False
        if not isinstance(decoded, FloatSpecial):
            number = piv.to_ucum(decoded, unit_code, METRIC_UNITS[metric])
            if number is None:
                unconvertible = True  # logged by the caller, every time as before
                if ReadingFlag.INVALID not in flags:
                    flags = (ReadingFlag.INVALID, *flags)
        return number, valid and number is not None, flags, unconvertible


def _clock_at(clock: ClockMapping, relative: int) -> datetime | None:
    """Wall time of ``relative`` through ``clock``; None when it falls off the calendar.

    A monitor whose MDS clock says year 9999 (or 0001) maps most relative times outside what a
    datetime can hold; the OverflowError used to escape ``feed()`` on every poll until the next
    association (issue 12).  Such a reading keeps its value and simply has no device time.
    """
    try:
        return clock.at(relative)
    except OverflowError:
        return None
