"""Driver for vital-signs gateways that push HL7 v2 ORU^R01 (IHE PCD-01) over MLLP.

The gateway talks first and expects an acknowledgement for every message (protocols.md 4.1):
:meth:`Hl7Driver.feed` returns the MLLP-framed ACK (or NAK) in ``DriverOutput.replies`` and the
runner, or :class:`~devices.mllp_server.MllpListener` on TCP, writes it back.  The same driver
serves both: on a serial line (``kind = "hl7-mllp"`` through :class:`~devices.runner.DeviceRunner`)
and per TCP connection.  All byte work lives in :mod:`devices.protocols.hl7_pcd01`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar, Self

from devices.base import Driver, DriverOutput
from devices.errors import ProtocolError
from devices.model import (
    MULTIPARAMETER_METRICS,
    NIBP_METRICS,
    Metric,
    Reading,
    TechnicalEvent,
    TechnicalEventKind,
)
from devices.protocols.hl7_pcd01 import (
    DEFAULT_APPLICATION,
    Hl7Message,
    Hl7ParseError,
    MllpFramer,
    decode_message,
    encode_ack,
    frame,
)
from devices.protocols.hl7_routing import (
    DEFAULT_ACCEPTED_TYPES,
    location_matches,
    pv1_location,
    type_accepted,
)

log = logging.getLogger("devices.hl7")

#: How many recent MSH-10 values are remembered to recognise re-sent messages (4.1: a sender
#: that missed our ACK sends the same message again).
DUPLICATE_MEMORY = 256


class Hl7Driver(Driver):
    """ORU^R01 receiver: readings out, one ACK per message back."""

    kind: ClassVar[str] = "hl7-mllp"
    manufacturer: ClassVar[str] = "HL7 v2 gateway (IHE PCD-01)"
    model: ClassVar[str] = "ORU^R01 over MLLP"
    default_baud: ClassVar[int] = 9600
    metrics: ClassVar[frozenset[Metric]] = MULTIPARAMETER_METRICS

    def __init__(
        self,
        device_id: str = "",
        *,
        application: str | None = None,
        facility: str | None = None,
        default_tz: tzinfo = UTC,
        ack_id_prefix: str = "ACK",
        push_interval_s: float = 10.0,
        accepted_types: Iterable[str] = DEFAULT_ACCEPTED_TYPES,
        location: str = "",
    ) -> None:
        """Prepare a receiver.

        Args:
            device_id: copied into every reading.
            application: our MSH-3 in ACKs; default: whatever the gateway put in MSH-5, else
                ``KETCONSOLE``.
            facility: our MSH-4 in ACKs; default: the gateway's MSH-6.
            default_tz: zone of HL7 timestamps sent without one.
            ack_id_prefix: ACK control ids are this prefix plus a 5-digit counter.
            push_interval_s: how often the gateway is configured to push a message; the quiet
                watchdog and the console's communication-lost alarm follow it.
            accepted_types: MSH-9 types whose observations are applied (``ORU^R01``); other
                messages are answered ``AR`` and counted as errors, never applied.
            location: the bed this chair is (PV1-3 binding, see
                :mod:`devices.protocols.hl7_routing`); messages for other beds are answered
                ``AA`` and not applied.  Empty: every message.

        Raises:
            ValueError: a push interval that is not positive.
        """
        if not push_interval_s > 0:
            raise ValueError(f"push_interval_s must be positive, got {push_interval_s}")
        self.push_interval_s = push_interval_s
        self.accepted_types = tuple(accepted_types)
        self.location = location
        #: MRN of the chair's open session (PID-3 must match it); set by the console.
        self._session_mrn: str | None = None
        self._mrn_lock = threading.Lock()
        self.messages_other_location = 0
        self.messages_wrong_patient = 0
        self.device_id = device_id
        self.application = application
        self.facility = facility
        self.default_tz = default_tz
        self.ack_id_prefix = ack_id_prefix
        self._framer = MllpFramer()
        self._ack_counter = 0
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._last_nibp: dict[Metric, tuple[float | None, datetime | None]] = {}
        self.messages_ok = 0
        self.messages_rejected = 0
        self.duplicates = 0

    @classmethod
    def from_config(cls, settings: Mapping[str, Any]) -> Self:
        """The gateway's push interval (``push_interval_s``), the message types applied
        (``hl7_accept``) and this chair's bed (``hl7_location``); unset keys keep the defaults."""
        return cls(
            push_interval_s=float(settings.get("push_interval_s", 10.0)),
            accepted_types=tuple(settings.get("hl7_accept", DEFAULT_ACCEPTED_TYPES)),
            location=str(settings.get("hl7_location", "")),
        )

    @property
    def quiet_after_s(self) -> float:
        """One missed push plus 10 s of slack: ``2 x push_interval_s + 10`` (30 s at 10 s).

        A fixed 10 s threshold put a gateway pushing every 10 s exactly on the edge: 11
        zero-length communication-lost alarms in 75 minutes (issue 12).
        """
        return 2.0 * self.push_interval_s + 10.0

    @property
    def framer(self) -> MllpFramer:
        """The MLLP framer, for its counters."""
        return self._framer

    def handshake(self) -> list[bytes]:
        """Nothing to send; a new stream starts, so forget any partial message."""
        self._framer.reset()
        return []

    def on_quiet(self) -> list[bytes]:
        """Nothing to send: a gateway cannot be asked to push sooner."""
        return []

    def set_session_mrn(self, mrn: str | None) -> None:
        """The MRN of the session open on this chair, None without one (any thread).

        While set, a message that names another patient in PID-3 is refused (issue 12).
        """
        with self._mrn_lock:
            self._session_mrn = mrn.strip() if mrn and mrn.strip() else None

    @property
    def session_mrn(self) -> str | None:
        """What :meth:`set_session_mrn` last set."""
        with self._mrn_lock:
            return self._session_mrn

    def next_ack_id(self) -> str:
        """The next MSH-10 for an acknowledgement (``ACK00001``, ``ACK00002`` …)."""
        self._ack_counter += 1
        return f"{self.ack_id_prefix}{self._ack_counter:05d}"

    def feed(self, chunk: bytes, received_at: datetime) -> DriverOutput:
        """Decode ``chunk``; every complete message gets a reply in ``replies``.

        Well-formed messages are answered ``AA`` (also duplicates, whose readings are not
        emitted again); messages that cannot be decoded are answered ``AE`` when their MSH-10 is
        readable, else ``AR``, and reported in ``errors``.  Acknowledgements are not answered.
        """
        out = DriverOutput()
        framed = self._framer.feed(chunk)
        out.errors.extend(framed.errors)
        for raw in framed.messages:
            try:
                message = decode_message(raw, default_tz=self.default_tz)
            except Hl7ParseError as err:
                self.messages_rejected += 1
                out.errors.append(err)
                code = "AE" if err.header is not None else "AR"
                nak = encode_ack(
                    err.header,
                    control_id=self.next_ack_id(),
                    now=received_at,
                    code=code,
                    application=self._application(err.header is None),
                    facility=self.facility,
                    text=str(err),
                    error_code=err.error_code,
                )
                out.replies.append(frame(nak))
                continue
            if message.header.is_ack:
                continue
            refusal = self._refusal(message, raw, received_at, out)
            if refusal is not None:
                code, text, error_code = refusal
                out.replies.append(self._ack(message, received_at, code, text, error_code))
                continue
            self.messages_ok += 1
            out.replies.append(self._ack(message, received_at, "AA", "", ""))
            if self._is_duplicate(message.control_id):
                self.duplicates += 1
                log.debug("duplicate HL7 message %s: acknowledged again", message.control_id)
                continue
            out.readings.extend(self._readings(message, received_at))
        return out

    # -- internals ------------------------------------------------------------------------
    def _ack(
        self, message: Hl7Message, at: datetime, code: str, text: str, error_code: str
    ) -> bytes:
        return frame(
            encode_ack(
                message.header,
                control_id=self.next_ack_id(),
                now=at,
                code=code,
                application=self._application(False),
                facility=self.facility,
                text=text,
                error_code=error_code,
            )
        )

    def _refusal(
        self, message: Hl7Message, raw: bytes, at: datetime, out: DriverOutput
    ) -> tuple[str, str, str] | None:
        """(ACK code, text, ERR code) when ``message`` must not be applied here, else None.

        Wrong message type: AR and a counted error.  Another bed: AA (received, just not this
        chair's).  Another patient than the session's: AE and a WRONG_PATIENT event, which the
        console raises as "data for another patient on this chair".  Patient identifiers are
        kept out of texts and logs.
        """
        header = message.header
        if not type_accepted(header.message_type, header.trigger_event, self.accepted_types):
            self.messages_rejected += 1
            kind = f"{header.message_type}^{header.trigger_event}"
            text = f"message type {kind} not accepted here (accepted: {self.accepted_types})"
            out.errors.append(ProtocolError(f"HL7 {message.control_id}: {text}", raw))
            return "AR", text, "200"
        separator = header.encoding_characters[:1] or "^"
        if not location_matches(self.location, pv1_location(raw), separator):
            self.messages_other_location += 1
            return "AA", "", ""
        mrn = self.session_mrn
        named = {p.strip() for p in message.patient_ids if p.strip()}
        if mrn is not None and named and named != {mrn}:
            self.messages_wrong_patient += 1
            detail = (
                f"HL7 message {message.control_id} names another patient (PID-3) than the "
                "session open on this chair: readings not applied"
            )
            out.events.append(
                TechnicalEvent(TechnicalEventKind.WRONG_PATIENT, at, detail, self.device_id)
            )
            return "AE", "PID-3 is not the patient of the session on this chair", "204"
        return None

    def _application(self, unknown_sender: bool) -> str | None:
        if self.application is not None:
            return self.application
        return DEFAULT_APPLICATION if unknown_sender else None

    def _is_duplicate(self, control_id: str) -> bool:
        if control_id in self._seen:
            self._seen.move_to_end(control_id)
            return True
        self._seen[control_id] = None
        if len(self._seen) > DUPLICATE_MEMORY:
            self._seen.popitem(last=False)
        return False

    def _readings(self, message: Hl7Message, received_at: datetime) -> list[Reading]:
        """Readings of the console's metrics; NIBP only when the cuff measured again.

        Gateways repeat the last NIBP in every message with the cuff's own time in OBX-14, so a
        NIBP value is emitted only when its (value, time) differs from the previous one.
        """
        readings: list[Reading] = []
        for obs in message.observations:
            if obs.metric is None:
                continue
            if obs.metric in NIBP_METRICS:
                key = (obs.value, obs.observation_time)
                if self._last_nibp.get(obs.metric) == key:
                    continue
                self._last_nibp[obs.metric] = key
            readings.append(
                Reading(
                    metric=obs.metric,
                    value=obs.value,
                    unit=obs.unit,
                    received_at=received_at,
                    device_time=obs.observation_time,
                    valid=obs.valid,
                    flags=obs.flags,
                    device_id=self.device_id,
                )
            )
        return readings
