"""A virtual Philips IntelliVue monitor that speaks Data Export over MIB/RS232 on the wire.

Sans-I/O like :class:`~devices.simulator.monitor.DatexMonitorSim`: it is fed the bytes the host
writes and asked which bytes are due at a given (simulated) time, and
:class:`~devices.simulator.pty_endpoint.PtyEndpoint` carries them over a real pty, so the
console's production framing, decoding and conversation run against it.

Monitor side of protocols.md 1.13 (after MDL's ``SimulatedPhilipsIntellivueMonitor``)::

    IDLE             AARQ -> association result + MDS create event  -> WAIT_MDS_RESULT
                     (already associated: refuse)
    WAIT_MDS_RESULT  MDS create result -> ASSOCIATED
    ASSOCIATED       extended numerics poll -> result now (seq 0), then one per second
                     (seq 1, 2, ...) until TIME_PD_POLL expires unrenewed; a new request
                     restarts the period.  Single poll -> one result.
    any              release request -> release result, IDLE;  abort -> IDLE;
                     client silent past the 1.12 time-out -> abort, IDLE

NIBP runs as real cuff cycles (:class:`~devices.simulator.monitor.NibpSchedule`): the compound
NIBP object carries its own NOM_ATTR_TIME_STAMP_ABS = the cuff-completion time, and while the
cuff inflates the previous numbers are sent flagged MSMT_ONGOING, as a monitor shows them.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from devices.clock import Clock
from devices.errors import ProtocolError
from devices.model import Metric, ReadingFlag
from devices.protocols import philips_intellivue as piv
from devices.protocols.philips_intellivue import (
    AbsoluteTime,
    AssociationMessage,
    DataExportMessage,
    FloatSpecial,
    NuObsValue,
    ObservationPoll,
    PollRequest,
    SingleContextPoll,
)
from devices.simulator.faults import MonitorFaults, corrupt_frame
from devices.simulator.monitor import CUFF_MEASUREMENT_S, NibpSchedule
from devices.simulator.pty_endpoint import PtyEndpoint
from devices.simulator.signals import PatientModel

log = logging.getLogger("devices.simulator")

#: Relative clock at session start: the monitor has been up for a while (137.5 s, as in
#: ``spec_built/.../03``), so relative times are not conveniently zero.
BOOT_TICKS = 0x0010C8E0
#: Periodic results go out every second (POLL_EXT_PERIOD_NU_1SEC, 1.8).
RESULT_INTERVAL_S = 1.0
#: Period used when an extended poll carries no TIME_PD_POLL (1.13: "our choice").
DEFAULT_POLL_PERIOD_S = 10.0
#: A real monitor does not replay what it failed to send; catch up at most this many results.
MAX_CATCH_UP_RESULTS = 120  # enough to ride out a host stall at x300 without dropping data

# Object handles (stable for an association, 1.9.2); 0x00C0 for NIBP forces a 7D E0 escape on
# the wire, as in ``spec_built/.../06``.
HANDLE_HR = 0x0031
HANDLE_SPO2 = 0x0033
HANDLE_PR = 0x0034
HANDLE_RR = 0x0035
HANDLE_TEMP = 0x0036
HANDLE_NIBP = 0x00C0

#: Device validity flags a scenario may force, as IntelliVue measurement-state bits (1.11).
FLAG_STATES: dict[ReadingFlag, int] = {
    ReadingFlag.INVALID: piv.MSMT_INVALID | piv.MSMT_UNAVAILABLE,
    ReadingFlag.QUESTIONABLE: piv.MSMT_QUESTIONABLE,
    ReadingFlag.DEMO: piv.MSMT_DEMO_DATA,
    ReadingFlag.NOT_CALIBRATED: piv.MSMT_CALIBRATION_ONGOING,
}


def client_timeout_s(min_poll_period_ticks: int | None) -> float:
    """How long the monitor tolerates a silent client, from its min poll period (1.12, MDL)."""
    if min_poll_period_ticks is None:
        return 10.0
    period = min_poll_period_ticks / piv.TICKS_PER_S
    if period < 3.3:
        return 10.0
    if period < 43.0:
        return 3 * period
    return 130.0


class SimPhase(enum.StrEnum):
    """Association state of the virtual monitor."""

    IDLE = "idle"
    WAIT_MDS_RESULT = "wait_mds_result"
    ASSOCIATED = "associated"


@dataclass(slots=True)
class _PeriodicPoll:
    """The running extended numerics poll."""

    invoke_id: int
    poll_number: int
    attr_group: int
    next_s: float
    until_s: float
    sequence_no: int = 0


class IntelliVueMonitorSim:
    """Virtual IntelliVue monitor fed by a :class:`PatientModel`.

    Attributes:
        associations: association requests accepted.
        extended_polls_seen: extended poll requests received (first poll + renewals).
        single_polls_seen: single poll requests received (the driver's keep-alive).
        results_sent: poll result messages sent (all fragments counted).
        aborts_seen / releases_seen / timeouts: how associations ended.
    """

    def __init__(
        self,
        patient: PatientModel,
        session_start: datetime,
        *,
        nibp: NibpSchedule | None = None,
        manufacturer: str = "Philips",
        model: str = "MX450",
        max_objects_per_message: int | None = None,
        extra_state: int = 0,
    ) -> None:
        """Build the monitor.

        Args:
            patient: the simulated patient.
            session_start: wall time of session second 0 (the monitor's clock).
            nibp: automatic cuff schedule.
            manufacturer: NOM_ATTR_ID_MODEL manufacturer.
            model: NOM_ATTR_ID_MODEL model.
            max_objects_per_message: split poll results into linked RORLS fragments of at most
                this many objects (exercises 1.9.4); None sends one RORS.
            extra_state: MeasurementState bits OR-ed into every value, e.g. MSMT_DEMO_DATA to
                model a monitor in demo mode.
        """
        if max_objects_per_message is not None and max_objects_per_message < 1:
            raise ValueError("max_objects_per_message must be at least 1")
        self.patient = patient
        self.session_start = session_start
        self.nibp = nibp or NibpSchedule()
        self.manufacturer = manufacturer
        self.model = model
        self.max_objects_per_message = max_objects_per_message
        self.extra_state = extra_state
        self._framer = piv.IntelliVueFramer()
        self._outbox: list[bytes] = []
        self.phase = SimPhase.IDLE
        self._last_heard_s = 0.0
        self._timeout_s = client_timeout_s(None)
        self._mds_invoke_id = 0
        self._poll: _PeriodicPoll | None = None
        self._nibp_values: tuple[float, float, float] | None = None
        self._nibp_done_at_s: float | None = None
        self._next_cuff_start_s = self.nibp.first_start_s
        self.associations = 0
        self.extended_polls_seen = 0
        self.single_polls_seen = 0
        self.results_sent = 0
        self.aborts_seen = 0
        self.releases_seen = 0
        self.timeouts = 0
        self.faults = MonitorFaults()

    # -- clocks ----------------------------------------------------------------------------
    def session_seconds(self, now: datetime) -> float:
        """Session time of ``now``."""
        return (now - self.session_start).total_seconds()

    def relative_time(self, t_s: float) -> int:
        """The monitor's RelativeTime at session second ``t_s``."""
        return (BOOT_TICKS + round(t_s * piv.TICKS_PER_S)) & 0xFFFFFFFF

    def _wall(self, t_s: float) -> datetime:
        """Wall time of ``t_s`` truncated to the 1/100 s AbsoluteTime resolution."""
        when = self.session_start + timedelta(seconds=t_s + self.faults.clock_offset_s)
        return when.replace(microsecond=when.microsecond // 10_000 * 10_000)

    def absolute_time(self, t_s: float) -> AbsoluteTime:
        """The monitor's AbsoluteTime at session second ``t_s``."""
        return AbsoluteTime.from_datetime(self._wall(t_s))

    # -- VirtualMonitor --------------------------------------------------------------------
    def receive(self, data: bytes, now: datetime) -> None:
        """Take bytes written by the host; act on complete messages."""
        t_s = self.session_seconds(now)
        result = self._framer.feed(data)
        for err in result.errors:
            log.debug("simulator ignored a bad host frame: %s", err)
        for user_data in result.messages:
            self._last_heard_s = t_s
            try:
                message = piv.decode_message(user_data)
                if isinstance(message, AssociationMessage):
                    self._on_association(message, t_s)
                else:
                    self._on_data_export(message, t_s)
            except ProtocolError as err:
                log.debug("simulator ignored an undecodable host message: %s", err)

    def due(self, now: datetime) -> list[bytes]:
        """Framed messages whose time has come, in order."""
        t_s = self.session_seconds(now)
        out, self._outbox = self._outbox, []
        if self.phase is not SimPhase.IDLE and t_s - self._last_heard_s > self._timeout_s:
            self.timeouts += 1
            log.debug("simulator: client silent for %.1f s; aborting", t_s - self._last_heard_s)
            out.append(piv.frame_message(piv.encode_abort()))
            self._end_association()
            return out
        poll = self._poll
        if poll is None or self.phase is not SimPhase.ASSOCIATED:
            return out
        sent = 0
        while poll.next_s <= t_s and poll.next_s <= poll.until_s and sent < MAX_CATCH_UP_RESULTS:
            poll.sequence_no = (poll.sequence_no + 1) & 0xFFFF
            frames = self._poll_result(
                poll.invoke_id, poll.poll_number, poll.sequence_no, poll.next_s
            )
            poll.next_s += RESULT_INTERVAL_S
            sent += 1
            if self.faults.silent:
                continue  # the patient goes on; the monitor's output does not
            how = self.faults.take_corruption()
            if how is not None:
                frames[0] = corrupt_frame(frames[0], how)
            out += frames
        if poll.next_s <= t_s:  # far behind: skip, as a real monitor would
            missed = int((t_s - poll.next_s) // RESULT_INTERVAL_S) + 1
            poll.next_s += missed * RESULT_INTERVAL_S
        if poll.next_s > poll.until_s:
            self._poll = None  # TIME_PD_POLL expired without renewal
        return out

    def seconds_until_due(self, now: datetime) -> float | None:
        """Session seconds until more bytes are due, or None when idle."""
        if self._outbox:
            return 0.0
        t_s = self.session_seconds(now)
        waits: list[float] = []
        if self.phase is not SimPhase.IDLE:
            waits.append(self._last_heard_s + self._timeout_s - t_s)
        if self._poll is not None and self.phase is SimPhase.ASSOCIATED:
            waits.append(self._poll.next_s - t_s)
        return max(0.0, min(waits)) if waits else None

    # -- conversation ----------------------------------------------------------------------
    def _send(self, user_data: bytes) -> None:
        self._outbox.append(piv.frame_message(user_data))

    def _end_association(self) -> None:
        self.phase = SimPhase.IDLE
        self._poll = None

    def _on_association(self, message: AssociationMessage, t_s: float) -> None:
        kind = message.kind
        if kind == piv.CN_SPDU_SI:
            if self.phase is not SimPhase.IDLE:
                self._send(piv.encode_refuse())
                return
            profile = message.user_info.poll_profile if message.user_info else None
            self._timeout_s = client_timeout_s(profile.min_poll_period if profile else None)
            self.associations += 1
            self._mds_invoke_id = (self._mds_invoke_id + 1) & 0xFFFF
            self._send(piv.encode_association_result())
            wall_t = (self._wall(t_s) - self.session_start).total_seconds()
            rel = self.relative_time(wall_t)
            attributes = piv.mds_create_attributes(
                time_abs=self.absolute_time(wall_t),
                time_rel=rel,
                manufacturer=self.manufacturer,
                model=self.model,
            )
            self._send(piv.encode_mds_create_event_report(self._mds_invoke_id, rel, attributes))
            self.phase = SimPhase.WAIT_MDS_RESULT
        elif kind == piv.FN_SPDU_SI:
            self.releases_seen += 1
            self._send(piv.encode_release_result())
            self._end_association()
        elif kind == piv.AB_SPDU_SI:
            self.aborts_seen += 1
            self._end_association()

    def _on_data_export(self, message: DataExportMessage, t_s: float) -> None:
        if piv.is_mds_create_result(message):
            if self.phase is SimPhase.WAIT_MDS_RESULT and message.invoke_id == self._mds_invoke_id:
                self.phase = SimPhase.ASSOCIATED
            return
        if self.phase is not SimPhase.ASSOCIATED:
            return
        request = piv.decode_poll_request(message)
        if request is None:
            log.debug("simulator ignores ROSE %d command %d", message.ro_type, message.command_type)
            return
        if request.extended:
            self._on_extended_poll(request, t_s)
        else:
            self.single_polls_seen += 1
            for data in self._reply(request, None, t_s):
                self._outbox.append(data)

    def _on_extended_poll(self, request: PollRequest, t_s: float) -> None:
        self.extended_polls_seen += 1
        self._outbox += self._reply(request, 0, t_s)
        if request.obj_class != piv.NOM_MOC_VMO_METRIC_NU:
            return  # only numerics are produced periodically
        ticks = request.period_ticks
        period_s = DEFAULT_POLL_PERIOD_S if ticks is None else ticks / piv.TICKS_PER_S
        self._poll = _PeriodicPoll(
            request.invoke_id,
            request.poll_number,
            request.attr_group,
            next_s=t_s + RESULT_INTERVAL_S,
            until_s=t_s + period_s,
        )

    def _reply(self, request: PollRequest, sequence_no: int | None, t_s: float) -> list[bytes]:
        if request.obj_class == piv.NOM_MOC_VMO_METRIC_NU:
            return self._poll_result(request.invoke_id, request.poll_number, sequence_no, t_s)
        self.results_sent += 1
        empty = piv.encode_poll_result(
            request.invoke_id,
            poll_number=request.poll_number,
            rel_time_stamp=self.relative_time(t_s),
            abs_time_stamp=self.absolute_time(t_s),
            contexts=[],
            sequence_no=sequence_no,
            obj_class=request.obj_class,
            attr_group=request.attr_group,
        )
        return [piv.frame_message(empty)]

    # -- numerics --------------------------------------------------------------------------
    def _advance_cuff(self, t_s: float) -> bool:
        """Complete the cuff cycles up to ``t_s``; True while the cuff is measuring."""
        while t_s >= self._next_cuff_start_s + CUFF_MEASUREMENT_S:
            done = self._next_cuff_start_s + CUFF_MEASUREMENT_S
            self._nibp_values = self.patient.cuff_measurement(done)
            self._nibp_done_at_s = done
            self._next_cuff_start_s += self.nibp.interval_s
        return t_s >= self._next_cuff_start_s

    def _observations(self, t_s: float) -> list[ObservationPoll]:
        vit = self.patient.vitals_at(t_s)
        stamp = self.absolute_time(t_s)
        extra = self.extra_state

        faults = self.faults
        forced = dict(faults.flags)
        if faults.sensor_off:
            # Probe off: the monitor marks SpO2 and pleth pulse unavailable (protocols.md 1.11).
            forced[Metric.SPO2] = forced[Metric.PR] = ReadingFlag.INVALID
        metric_of = {
            HANDLE_HR: Metric.HR,
            HANDLE_SPO2: Metric.SPO2,
            HANDLE_PR: Metric.PR,
            HANDLE_RR: Metric.RR,
            HANDLE_TEMP: Metric.TEMP,
        }

        def numeric(handle: int, physio: int, value: float, unit: int) -> ObservationPoll:
            state = extra
            flag = forced.get(metric_of[handle])
            shown: float | FloatSpecial = value
            if flag is not None:
                state |= FLAG_STATES.get(flag, piv.MSMT_INVALID)
                if flag is ReadingFlag.INVALID:
                    shown = FloatSpecial.NAN
            attributes = piv.numeric_attributes(
                label=piv.label_of(physio),
                value=NuObsValue.of(physio, shown, unit, state),
                time_abs=stamp,
            )
            return ObservationPoll(handle, attributes)

        observations = [
            numeric(HANDLE_HR, piv.NOM_ECG_CARD_BEAT_RATE, round(vit.hr), piv.NOM_DIM_BEAT_PER_MIN),
            numeric(HANDLE_SPO2, piv.NOM_PULS_OXIM_SAT_O2, round(vit.spo2), piv.NOM_DIM_PERCENT),
            numeric(HANDLE_PR, piv.NOM_PLETH_PULS_RATE, round(vit.hr), piv.NOM_DIM_BEAT_PER_MIN),
            numeric(HANDLE_RR, piv.NOM_RESP_RATE, round(vit.rr), piv.NOM_DIM_RESP_PER_MIN),
            numeric(HANDLE_TEMP, piv.NOM_TEMP, round(vit.temp, 1), piv.NOM_DIM_DEGC),
        ]
        nibp = self._nibp_observation(t_s)
        if nibp is not None:
            observations.insert(1, nibp)
        return observations

    def _nibp_observation(self, t_s: float) -> ObservationPoll | None:
        """The compound NIBP object; absent until the cuff has run once or is running."""
        measuring = self._advance_cuff(t_s)
        values = self._nibp_values
        if values is None and not measuring:
            return None
        state = self.extra_state | (piv.MSMT_ONGOING if measuring else 0)
        codes = (
            piv.NOM_PRESS_BLD_NONINV_SYS,
            piv.NOM_PRESS_BLD_NONINV_DIA,
            piv.NOM_PRESS_BLD_NONINV_MEAN,
        )
        entries: list[NuObsValue]
        stamp: AbsoluteTime | None = None
        if values is None:
            invalid = state | piv.MSMT_INVALID
            entries = [NuObsValue.of(c, FloatSpecial.NAN, piv.NOM_DIM_MMHG, invalid) for c in codes]
        else:
            entries = [
                NuObsValue.of(c, v, piv.NOM_DIM_MMHG, state)
                for c, v in zip(codes, values, strict=True)
            ]
            assert self._nibp_done_at_s is not None
            stamp = self.absolute_time(self._nibp_done_at_s)
        attributes = piv.numeric_attributes(
            label=piv.label_of(piv.NOM_PRESS_BLD_NONINV), value=entries, time_abs=stamp
        )
        return ObservationPoll(HANDLE_NIBP, attributes)

    def _poll_result(
        self, invoke_id: int, poll_number: int, sequence_no: int | None, t_s: float
    ) -> list[bytes]:
        """One poll result, or its linked fragments (RORLS … then a final RORS)."""
        observations = self._observations(t_s)
        size = self.max_objects_per_message or len(observations) or 1
        parts = [observations[i : i + size] for i in range(0, len(observations), size)] or [[]]
        out: list[bytes] = []
        for index, part in enumerate(parts):
            linked: tuple[int, int] | None = None
            if index < len(parts) - 1:
                state = piv.RORLS_NOT_FIRST_NOT_LAST
                if index == 0:
                    state = piv.RORLS_FIRST
                elif index == len(parts) - 2:
                    state = piv.RORLS_LAST
                linked = (state, index + 1)
            message = piv.encode_poll_result(
                invoke_id,
                poll_number=poll_number,
                rel_time_stamp=self.relative_time(t_s),
                abs_time_stamp=self.absolute_time(t_s),
                contexts=[SingleContextPoll(0, tuple(part))],
                sequence_no=sequence_no,
                linked=linked,
            )
            out.append(piv.frame_message(message))
        self.results_sent += len(out)
        return out


def start_intellivue_on_pty(clock: Clock, **options: Any) -> PtyEndpoint:
    """Start a simulated IntelliVue monitor on a fresh pty; open ``endpoint.path`` at 115200 8N1.

    Options as :func:`devices.simulator.launch.start_on_pty` (imported late: ``launch`` finds
    this module through the protocol registry).
    """
    from devices.simulator.launch import start_on_pty

    return start_on_pty(clock, "intellivue", **options)
