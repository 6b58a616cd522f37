"""HL7 v2.6 ORU^R01 (IHE PCD-01 "Communicate PCD Data") over MLLP — framer, decoder, ACK, encoder.

Written from ``shared/protocols.md`` section 4 (revision of the shared spec in this repository):

* 4.1 MLLP: ``0B`` + message + ``1C 0D``; every complete message is answered with an ACK
  (``MSA|AA|<MSH-10>``), ``AE``/``AR`` when it cannot be processed;
* 4.2 the PCD-01 layout: MSH, PID, PV1, OBR, then OBX rows with OBX-3 = MDC code, OBX-4 =
  containment path, OBX-5 value, OBX-6 unit, OBX-7 range, OBX-8 abnormal flags, OBX-11 result
  status, OBX-14 observation time;
* 4.3 the MDC and LOINC codes of the console's quantities and the MDC unit codes;
* 4.4 what a decoder must tolerate (LF/CR LF terminators, bytes before ``0B``, an aborted
  message, split and coalesced reads, duplicates, extra segments, several OBR groups and
  patients, containment rows, empty or non-numeric values, unknown codes, unit variants, time
  zones or none).

The HL7 parsing itself is done by `python-hl7 <https://python-hl7.readthedocs.io>`_ (PyPI
``hl7``), chosen over ``hl7apy`` because a device gateway's messages are profiled per site and
often deviate from the HL7 message structure tables: python-hl7 splits any well-delimited message
into segments, fields, repetitions and components (honouring MSH-1/MSH-2 and the escape
sequences) without validating it against a version's schema, which is exactly the leniency
protocols.md 4.4 asks for, while hl7apy's strict/tolerant validation and version tables would
have to be fought for every vendor quirk.  It is small, pure Python and maintained.  The MLLP
framing, the ACK and the simulator's encoder are written here: they are a few lines each and must
be byte-exact (the ACK reproduces ``spec_built/hl7/03`` given the same inputs).

Sans-I/O: no sockets, threads or clocks; time comes in as arguments.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, Final

# python-hl7 ships no type information (no py.typed); everything it returns is treated as Any
# and converted to str at the boundary below.
import hl7  # type: ignore[import-untyped]

from devices.errors import ProtocolError
from devices.model import METRIC_UNITS, Metric, ReadingFlag

# The code tables (4.3, devices.protocols.hl7_codes) and MLLP framing (4.1,
# devices.protocols.mllp) are modules of their own; their names stay importable from here.
from devices.protocols.hl7_codes import DEFAULT_APPLICATION as DEFAULT_APPLICATION
from devices.protocols.hl7_codes import INVALID_STATUSES as INVALID_STATUSES
from devices.protocols.hl7_codes import LOINC_METRICS as LOINC_METRICS
from devices.protocols.hl7_codes import MDC_METRICS as MDC_METRICS
from devices.protocols.hl7_codes import MDC_UNITS as MDC_UNITS
from devices.protocols.hl7_codes import QUESTIONABLE_STATUSES as QUESTIONABLE_STATUSES
from devices.protocols.hl7_codes import UNIT_ALIASES as UNIT_ALIASES
from devices.protocols.mllp import END_BLOCK as END_BLOCK
from devices.protocols.mllp import MAX_MESSAGE_LEN as MAX_MESSAGE_LEN
from devices.protocols.mllp import START_BLOCK as START_BLOCK
from devices.protocols.mllp import MllpFramer as MllpFramer
from devices.protocols.mllp import MllpResult as MllpResult
from devices.protocols.mllp import frame as frame

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_TS = re.compile(
    r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?(?:([+-])(\d{2})(\d{2}))?"
)
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")


# --------------------------------------------------------------------------------------------
# Decoded message
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hl7Header:
    """The MSH fields needed to understand and acknowledge a message.

    Fields 3-6 are kept as received (components and escapes intact) because the ACK echoes
    them; the others are plain text.
    """

    encoding_characters: str
    field_separator: str
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_time: datetime | None
    message_type: str
    trigger_event: str
    control_id: str
    processing_id: str
    version: str
    accept_ack_type: str = ""
    application_ack_type: str = ""

    @property
    def is_ack(self) -> bool:
        """True for acknowledgements, which are never acknowledged themselves."""
        return self.message_type == "ACK"


@dataclass(frozen=True, slots=True)
class Hl7Observation:
    """One OBX row with a value.

    Attributes:
        set_id: OBX-1.
        value_type: OBX-2 (``NM`` for numbers).
        code: OBX-3.1 identifier (``150021`` or ``8480-6``).
        code_text: OBX-3.2 (``MDC_PRESS_BLD_NONINV_SYS``).
        coding_system: OBX-3.3 (``MDC``, ``LN``, ``99MNDRY`` ...).
        sub_id: OBX-4 containment path MDS.VMD.CHAN.METRIC.
        raw_value: OBX-5 as sent (unescaped).
        value: the number in :attr:`unit`, None when empty or not numeric.
        unit: UCUM unit of :attr:`value` (converted to the metric's unit when known).
        raw_unit: OBX-6.1 as sent.
        reference_range: OBX-7 alarm limits "low-high", as sent.
        abnormal_flags: OBX-8 repetitions (``H``, ``LL`` ...), kept verbatim.
        result_status: OBX-11 (``R``, ``F`` ...).
        observation_time: OBX-14, else OBR-7, else MSH-7 (4.2); None if none parses.
        equipment_id: OBX-18.1 (EUI-64 of the device), may be empty.
        patient_id: PID-3.1 of the patient this row belongs to, may be empty.
        metric: the console metric, None for codes the console does not use.
        valid: False when the value is missing, not numeric, in an unknown unit, or has an
            invalid result status.
        flags: why the value is not plain valid data.
    """

    set_id: str
    value_type: str
    code: str
    code_text: str
    coding_system: str
    sub_id: str
    raw_value: str
    value: float | None
    unit: str
    raw_unit: str
    reference_range: str
    abnormal_flags: tuple[str, ...]
    result_status: str
    observation_time: datetime | None
    equipment_id: str
    patient_id: str
    metric: Metric | None
    valid: bool
    flags: tuple[ReadingFlag, ...]


@dataclass(frozen=True, slots=True)
class Hl7Message:
    """A decoded message: its header and every OBX row that carries a value."""

    header: Hl7Header
    observations: tuple[Hl7Observation, ...]
    patient_ids: tuple[str, ...] = ()

    @property
    def control_id(self) -> str:
        """MSH-10, echoed in the ACK's MSA-2."""
        return self.header.control_id


class Hl7ParseError(ProtocolError):
    """A framed message that cannot be decoded.

    Attributes:
        header: the MSH fields when at least MSH could be read (the NAK then echoes MSH-10 with
            ``AE``), else None (the NAK is an ``AR`` without a control id).
        error_code: HL7 table 0357 code for the ERR segment (100 segment sequence error, 101
            required field missing, 102 data type error, 200 unsupported message type).
    """

    def __init__(
        self, message: str, raw: bytes = b"", *, header: Hl7Header | None, error_code: str
    ) -> None:
        super().__init__(message, raw)
        self.header = header
        self.error_code = error_code


# --------------------------------------------------------------------------------------------
# Decoder (4.2-4.4)
# --------------------------------------------------------------------------------------------


def parse_timestamp(text: str, default_tz: tzinfo = UTC) -> datetime | None:
    """An HL7 DTM (``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``), None if it does not parse.

    Timestamps without a zone are in ``default_tz`` (the gateway's zone, which the site knows).
    """
    match = _TS.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, frac, sign, tz_h, tz_m = match.groups()
    tz = default_tz
    if sign is not None:
        offset = timedelta(hours=int(tz_h), minutes=int(tz_m))
        tz = timezone(-offset if sign == "-" else offset)
    try:
        return datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")[:6]),
            tzinfo=tz,
        )
    except ValueError:
        return None


def format_timestamp(when: datetime) -> str:
    """``YYYYMMDDHHMMSS+ZZZZ`` (zone omitted for a naive datetime)."""
    return when.strftime("%Y%m%d%H%M%S") + when.strftime("%z")


def _text(message: bytes) -> str:
    """Message bytes as text with CR segment terminators (4.4: LF or CR LF also occur)."""
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        text = message.decode("latin-1")  # 8-bit gateways; never fails
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\t ")


def _raw(segment: Any, index: int) -> str:
    """Field ``index`` of a python-hl7 segment as received (escapes and components intact)."""
    if index >= len(segment):
        return ""
    return str(segment[index])


def _get(segment: Any, index: int, component: int = 1, repetition: int = 1) -> str:
    """One component of a field, unescaped; empty when absent."""
    if repetition == 1 and type(segment) is _SplitSegment:
        return segment.get(index, component)
    try:
        return str(segment.extract_field(1, index, repetition, component, 1))
    except IndexError:
        return ""


# --------------------------------------------------------------------------------------------
# Fast path: python-hl7's parse tree, read with str.split
# --------------------------------------------------------------------------------------------
#
# Why: hl7.parse builds a container object for every segment, field, repetition and component
# of the message (several hundred per PCD-01 message, and the MSH is parsed twice) and
# extract_field walks them; that was nearly all of the decoding time.  The decoder reads about
# fifteen fields per OBX, and splitting just those with str.split gives the same strings.  The
# equivalence, read from python-hl7 0.4's parser and Segment.extract_field (pyproject pins
# hl7<0.5), when the five delimiters are distinct punctuation:
#
# * the message is ``text.strip()`` split on CR; a segment is its text split on the field
#   separator (MSH: name, MSH-1, MSH-2, then the rest split);
# * a field, repetition or component without any lower delimiter is kept as a leaf string, else
#   split on its delimiter, so ``str(field)`` is the field's text and component ``c`` of the first
#   repetition is ``field.split(rep)[0].split(comp)[c - 1].split(sub)[0]`` ("" when there are
#   fewer components, and for ``c > 1`` of a leaf);
# * that value is unescaped by python-hl7's own ``hl7.util.unescape`` (reused, not rewritten).
#
# Anything else (letters, digits, whitespace or repeated characters among the delimiters, an MSH
# without a second field separator) is parsed by python-hl7 as before, and so are ACKs
# (decode_ack).  python-hl7 cannot fail to parse a message with plain delimiters, and every
# other check is shared, so both paths reject the same messages with the same errors.

#: Delimiters the fast path accepts: printable ASCII punctuation (the usual ``|^~\&`` or any
#: other plain choice).
_PLAIN_DELIMITERS: Final = frozenset(string.punctuation)


class _Delimiters:
    """The delimiters python-hl7 parses a message with (its ``create_parse_plan``).

    ``esc`` and ``separators`` (CR, field, repetition, component, subcomponent: python-hl7's
    order) are the two attributes ``hl7.util.unescape`` reads from its container argument.
    """

    __slots__ = ("component", "esc", "field", "repetition", "separators", "subcomponent")

    def __init__(self, field: str, component: str, repetition: str, esc: str, sub: str) -> None:
        self.field = field
        self.component = component
        self.repetition = repetition
        self.esc = esc
        self.subcomponent = sub
        self.separators = "\r" + field + repetition + component + sub

    @classmethod
    def plain(cls, msh: str) -> _Delimiters | None:
        """The delimiters of a message whose first segment is ``msh``; None unless plain.

        Plain: MSH-2 is closed by a second field separator (so the MSH alone and the whole
        message give python-hl7 the same delimiters) and the five are distinct punctuation.
        Missing MSH-2 characters take python-hl7's defaults, as it does.
        """
        if len(msh) < 5:
            return None
        field = msh[3]
        end = msh.find(field, 4)
        if end < 0:
            return None
        seps = msh[3:end]  # python-hl7 reads MSH-1 and MSH-2 as one list of characters
        component = seps[1] if len(seps) > 1 else "^"
        repetition = seps[2] if len(seps) > 2 else "~"
        esc = seps[3] if len(seps) > 3 else "\\"
        sub = seps[4] if len(seps) > 4 else "&"
        chars = {field, component, repetition, esc, sub}
        if len(chars) != 5 or not chars <= _PLAIN_DELIMITERS:
            return None
        return cls(field, component, repetition, esc, sub)

    def split_msh(self, text: str) -> _SplitSegment:
        """The MSH segment as python-hl7 splits it: name, MSH-1, MSH-2, then the fields."""
        end = text.find(self.field, 4)
        fields = [text[:3], text[3], text[4:end]]
        rest = text[end + 1 :]
        if rest:
            fields += rest.split(self.field)
        return _SplitSegment(fields, self)

    def split_message(self, text: str) -> list[_SplitSegment]:
        """Every segment of a message, split on the field separator.

        MSH, BHS and FHS (which python-hl7 splits around MSH-1/MSH-2) keep only their name:
        :func:`_observations` reads nothing else of them.
        """
        segments = []
        for segment in text.strip().split("\r"):
            if segment[:3] in ("MSH", "BHS", "FHS"):
                segments.append(_SplitSegment([segment[:3]], self))
            else:
                segments.append(_SplitSegment(segment.split(self.field), self))
        return segments


class _SplitSegment(list[str]):
    """A segment as its fields' text: ``len``, ``[i]`` and ``str`` behave as on python-hl7's."""

    __slots__ = ("delimiters",)

    def __init__(self, fields: list[str], delimiters: _Delimiters) -> None:
        super().__init__(fields)
        self.delimiters = delimiters

    def get(self, index: int, component: int = 1) -> str:
        """``extract_field(1, index, 1, component, 1)`` of python-hl7, unescaped."""
        if index >= len(self):
            return ""
        d = self.delimiters
        value = self[index]
        if d.repetition in value:
            value = value.split(d.repetition, 1)[0]
        if component == 1:
            if d.component in value:
                value = value.split(d.component, 1)[0]
        else:
            parts = value.split(d.component)
            if component > len(parts):
                return ""
            value = parts[component - 1]
        if d.subcomponent in value:
            value = value.split(d.subcomponent, 1)[0]
        if d.esc in value:
            value = str(hl7.util.unescape(d, value))
        return value


def _header(msh: Any, raw: bytes, default_tz: tzinfo) -> Hl7Header:
    separators = str(msh[2]) if len(msh) > 2 else ""
    control_id = _get(msh, 10)
    header = Hl7Header(
        encoding_characters=separators,
        field_separator=str(msh[1]) if len(msh) > 1 else "|",
        sending_application=_raw(msh, 3),
        sending_facility=_raw(msh, 4),
        receiving_application=_raw(msh, 5),
        receiving_facility=_raw(msh, 6),
        message_time=parse_timestamp(_get(msh, 7), default_tz),
        message_type=_get(msh, 9, 1),
        trigger_event=_get(msh, 9, 2),
        control_id=control_id,
        processing_id=_get(msh, 11),
        version=_get(msh, 12),
        accept_ack_type=_get(msh, 15),
        application_ack_type=_get(msh, 16),
    )
    if not control_id:
        raise Hl7ParseError(
            "HL7 message without MSH-10 (message control id)",
            raw,
            header=header,
            error_code="101",
        )
    return header


def _parse(text: str, raw: bytes) -> Any:
    try:
        return hl7.parse(text)
    except Exception as err:  # python-hl7 raises assorted errors on malformed input
        raise Hl7ParseError(
            f"HL7 message cannot be parsed: {err}", raw, header=None, error_code="102"
        ) from err


def decode_message(
    message: bytes,
    *,
    default_tz: tzinfo = UTC,
    extra_codes: Mapping[tuple[str, str], Metric] | None = None,
) -> Hl7Message:
    """Decode one HL7 message; see :func:`_decode_message`.

    python-hl7's unescaping raises a bare ``ValueError`` on a malformed escape such as
    ``\\.spO3\\``; that is bad input from the gateway, so it becomes an ``AE`` NAK like every
    other undecodable message instead of an exception out of the driver.
    """
    return _decode_or_nak(message, default_tz, extra_codes, fast=True)


def decode_message_reference(
    message: bytes,
    *,
    default_tz: tzinfo = UTC,
    extra_codes: Mapping[tuple[str, str], Metric] | None = None,
) -> Hl7Message:
    """:func:`decode_message` with every message parsed by python-hl7: the reference decoder.

    The str.split fast path (see "Fast path" above) must give exactly what this gives, value
    for value and error for error; tests/devices/test_fast_paths.py holds it to that.
    """
    return _decode_or_nak(message, default_tz, extra_codes, fast=False)


def _decode_or_nak(
    message: bytes,
    default_tz: tzinfo,
    extra_codes: Mapping[tuple[str, str], Metric] | None,
    *,
    fast: bool,
) -> Hl7Message:
    try:
        return _decode_message(message, default_tz=default_tz, extra_codes=extra_codes, fast=fast)
    except Hl7ParseError:
        raise
    except ValueError as err:
        header = _header_or_none(message, fast=fast)
        raise Hl7ParseError(
            f"undecodable field: {err}", message, header=header, error_code="102"
        ) from err


def _header_or_none(message: bytes, *, fast: bool) -> Hl7Header | None:
    try:
        return _decode_message(message.split(b"\r", 1)[0] + b"\r", fast=fast).header
    except (ValueError, ProtocolError):
        return None


def _decode_message(
    message: bytes,
    *,
    default_tz: tzinfo = UTC,
    extra_codes: Mapping[tuple[str, str], Metric] | None = None,
    fast: bool = True,
) -> Hl7Message:
    """Decode one HL7 message (MLLP envelope already removed).

    Every OBX row with a value becomes an :class:`Hl7Observation`; containment rows (no value
    type and no value, 4.2) are skipped.  Rows with codes the console does not use are kept with
    ``metric=None`` so a site's gateway profile can be inspected.

    Args:
        message: the message bytes, segments ending in CR (LF and CR LF are accepted).
        default_tz: zone of timestamps that carry none.
        extra_codes: per-site overrides ``(coding system, code) -> metric``, e.g.
            ``("99MNDRY", "…")`` for vendor-private codes; they win over the built-in tables.
        fast: read messages with plain delimiters by str.split; False parses every message
            with python-hl7 (the reference the fast path is tested against).

    Raises:
        Hl7ParseError: not an HL7 message (AR), or MSH readable but a segment is not an HL7
            segment or MSH-10 is missing (AE).
    """
    text = _text(message)
    if not text.startswith("MSH") or len(text) < 8:
        raise Hl7ParseError(
            "not an HL7 message: does not start with MSH", message, header=None, error_code="100"
        )
    segments = text.split("\r")
    delimiters = _Delimiters.plain(segments[0]) if fast else None
    if delimiters is not None:
        # python-hl7 would strip the MSH the same way (hl7.parse strips its input).
        msh = delimiters.split_msh((segments[0] + "\r").strip())
    else:
        msh = _parse(segments[0] + "\r", message).segment("MSH")
    header = _header(msh, message, default_tz)
    field_sep = text[3]
    for number, segment in enumerate(segments[1:], start=2):
        if not segment:
            continue
        if not (_SEGMENT_ID.fullmatch(segment[:3]) and segment[3:4] in ("", field_sep)):
            raise Hl7ParseError(
                f"segment {number} is not an HL7 segment: {segment[:20]!r}",
                message,
                header=header,
                error_code="100",
            )
    joined = "\r".join(s for s in segments if s) + "\r"
    parsed = delimiters.split_message(joined) if delimiters else _parse(joined, message)
    return _observations(parsed, header, default_tz, extra_codes or {})


def _observations(
    parsed: Any,
    header: Hl7Header,
    default_tz: tzinfo,
    extra_codes: Mapping[tuple[str, str], Metric],
) -> Hl7Message:
    repetition_sep = header.encoding_characters[1:2] or "~"
    observations: list[Hl7Observation] = []
    patients: list[str] = []
    patient_id = ""
    obr_time: datetime | None = None
    #: OBX-14 text -> parse_timestamp(text, default_tz): a gateway stamps most rows of a
    #: message with the same time, so each distinct text is parsed once per message.
    times: dict[str, datetime | None] = {}
    for segment in parsed:
        segment_id = str(segment[0])
        if segment_id == "PID":
            patient_id = _get(segment, 3)
            patients.append(patient_id)
        elif segment_id == "OBR":
            obr_time = parse_timestamp(_get(segment, 7), default_tz)
        elif segment_id == "OBX":
            observation = _observation(
                segment,
                repetition_sep,
                obr_time or header.message_time,
                patient_id,
                default_tz,
                extra_codes,
                times,
            )
            if observation is not None:
                observations.append(observation)
    return Hl7Message(header, tuple(observations), tuple(patients))


def metric_for(
    code: str, coding_system: str, extra_codes: Mapping[tuple[str, str], Metric] | None = None
) -> Metric | None:
    """The console metric of an OBX-3 code, None when the console does not use it.

    MDC codes are keyed on the number (4.3: names vary between vendors, numbers do not); an
    empty coding system with a numeric code is read as MDC.
    """
    if extra_codes and (coding_system, code) in extra_codes:
        return extra_codes[(coding_system, code)]
    if coding_system == "LN":
        return LOINC_METRICS.get(code)
    if coding_system in ("MDC", "") and code.isdigit():
        return MDC_METRICS.get(int(code))
    return None


def ucum_unit(code: str, coding_system: str) -> str:
    """OBX-6.1 to UCUM: MDC unit codes by table, spellings by alias; unknown ones unchanged."""
    if code.isdigit() and coding_system in ("MDC", ""):
        return MDC_UNITS.get(code, code)
    return UNIT_ALIASES.get(code, code)


def _convert(value: float, unit: str, metric: Metric) -> tuple[float, str] | None:
    """``value`` in ``unit`` expressed in the metric's unit; None when not convertible."""
    target = METRIC_UNITS[metric]
    if unit in ("", target):
        return value, target
    if unit == "kPa" and target == "mm[Hg]":
        return round(value * 760.0 / 101.325, 1), target
    if unit == "[degF]" and target == "Cel":
        return round((value - 32.0) * 5.0 / 9.0, 2), target
    return None


def _observation(
    segment: Any,
    repetition_sep: str,
    fallback_time: datetime | None,
    patient_id: str,
    default_tz: tzinfo,
    extra_codes: Mapping[tuple[str, str], Metric],
    times: dict[str, datetime | None],
) -> Hl7Observation | None:
    value_type = _get(segment, 2)
    raw_value = _get(segment, 5)
    status = _get(segment, 11)
    if not value_type and not raw_value:
        return None  # containment row (MDS/VMD/channel header), 4.2
    # Three plain calls: the generator expression that did this cost more than the lookups.
    code, code_text, coding_system = _get(segment, 3, 1), _get(segment, 3, 2), _get(segment, 3, 3)
    metric = metric_for(code, coding_system, extra_codes)
    raw_unit, unit_system = _get(segment, 6, 1), _get(segment, 6, 3)
    unit = ucum_unit(raw_unit, unit_system)
    flags: list[ReadingFlag] = []
    value: float | None = None
    if _NUMBER.fullmatch(raw_value.strip()):
        value = float(raw_value)
        if not math.isfinite(value):
            value = None
    if value is None:
        flags.append(ReadingFlag.INVALID)
    elif metric is not None:
        converted = _convert(value, unit, metric)
        if converted is None:
            flags.append(ReadingFlag.INVALID)  # HR in %: the site's profile needs an override
        else:
            value, unit = converted
    if status in INVALID_STATUSES and ReadingFlag.INVALID not in flags:
        flags.append(ReadingFlag.INVALID)
    if status in QUESTIONABLE_STATUSES:
        flags.append(ReadingFlag.QUESTIONABLE)
    stamp = _get(segment, 14)
    if stamp in times:
        parsed_time = times[stamp]
    else:
        parsed_time = times[stamp] = parse_timestamp(stamp, default_tz)
    time = parsed_time or fallback_time
    abnormal = _raw(segment, 8)
    return Hl7Observation(
        set_id=_get(segment, 1),
        value_type=value_type,
        code=code,
        code_text=code_text,
        coding_system=coding_system,
        sub_id=_get(segment, 4),
        raw_value=raw_value,
        value=value,
        unit=unit,
        raw_unit=raw_unit,
        reference_range=_get(segment, 7),
        abnormal_flags=tuple(f for f in abnormal.split(repetition_sep) if f),
        result_status=status,
        observation_time=time,
        equipment_id=_get(segment, 18),
        patient_id=patient_id,
        metric=metric,
        valid=ReadingFlag.INVALID not in flags,
        flags=tuple(flags),
    )


# --------------------------------------------------------------------------------------------
# Acknowledgements (4.1)
# --------------------------------------------------------------------------------------------

_STANDARD_ENCODING = "^~\\&"


def escape(text: str, encoding_characters: str = _STANDARD_ENCODING, field_sep: str = "|") -> str:
    """Escape the delimiters in free text (``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\``)."""
    chars = encoding_characters[:4] + _STANDARD_ENCODING[len(encoding_characters[:4]) :]
    component, repetition, esc, subcomponent = chars[0], chars[1], chars[2], chars[3]
    out = []
    for char in text:
        if char == esc:
            out.append(f"{esc}E{esc}")
        elif char == field_sep:
            out.append(f"{esc}F{esc}")
        elif char == component:
            out.append(f"{esc}S{esc}")
        elif char == repetition:
            out.append(f"{esc}R{esc}")
        elif char == subcomponent:
            out.append(f"{esc}T{esc}")
        elif char in "\r\n":
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def encode_ack(
    header: Hl7Header | None,
    *,
    control_id: str,
    now: datetime,
    code: str = "AA",
    application: str | None = None,
    facility: str | None = None,
    text: str = "",
    error_code: str = "",
) -> bytes:
    """An original-mode acknowledgement for a received message (unframed, CR-terminated).

    MSH swaps the sender and receiver of ``header`` (our application defaults to the message's
    MSH-5, so a gateway configured for "KETCONSOLE" is answered as "KETCONSOLE"), MSH-9 is
    ``ACK^<trigger>^ACK``, and MSA-2 echoes MSH-10.  For ``AE``/``AR`` an ERR segment carries
    ``error_code`` (HL7 table 0357) and ``text``.  With ``header=None`` (nothing readable) the
    reply is an ``AR`` with empty receiver fields and MSA-2.

    Args:
        header: the received message's MSH, or None.
        control_id: MSH-10 of the ACK itself.
        now: MSH-7 of the ACK.
        code: ``AA``, ``AE`` or ``AR``.
        application: our MSH-3; default the message's MSH-5, else :data:`DEFAULT_APPLICATION`.
        facility: our MSH-4; default the message's MSH-6.
        text: human-readable reason for a negative acknowledgement.
        error_code: HL7 table 0357 code for the ERR segment.
    """
    if header is not None and header.encoding_characters and header.field_separator:
        fs, enc = header.field_separator, header.encoding_characters
    else:
        fs, enc = "|", _STANDARD_ENCODING
    if header is None:
        header = Hl7Header(enc, fs, "", "", "", "", None, "", "", "", "P", "2.6")
    app = application if application is not None else header.receiving_application
    fac = facility if facility is not None else header.receiving_facility
    trigger = f"ACK{enc[0]}{header.trigger_event}{enc[0]}ACK" if header.trigger_event else "ACK"
    msh = fs.join(
        [
            "MSH",
            enc,
            app or DEFAULT_APPLICATION,
            fac,
            header.sending_application,
            header.sending_facility,
            format_timestamp(now),
            "",
            trigger,
            escape(control_id, enc, fs),
            header.processing_id or "P",
            header.version or "2.6",
        ]
    )
    msa = fs.join(["MSA", code, escape(header.control_id, enc, fs)])
    segments = [msh, msa]
    if code != "AA" and (text or error_code):
        err = fs.join(
            [
                "ERR",
                "",
                "",
                enc[0].join([error_code or "207", escape(text, enc, fs), "HL70357"]),
                "E",
            ]
        )
        segments.append(err)
    return ("\r".join(segments) + "\r").encode("utf-8")


def decode_ack(message: bytes) -> tuple[str, str]:
    """``(MSA-1 acknowledgement code, MSA-2 acknowledged control id)`` of an ACK.

    Raises:
        Hl7ParseError: not an HL7 message, or no MSA segment.
    """
    text = _text(message)
    if not text.startswith("MSH"):
        raise Hl7ParseError("ACK does not start with MSH", message, header=None, error_code="100")
    parsed = _parse(text + "\r", message)
    try:
        msa = parsed.segment("MSA")
    except KeyError:
        raise Hl7ParseError("ACK without MSA", message, header=None, error_code="100") from None
    return _get(msa, 1), _get(msa, 2)


# --------------------------------------------------------------------------------------------
# Encoder (simulator side, 4.2)
# --------------------------------------------------------------------------------------------

#: metric -> (MDC code, MDC name, MDC unit code, MDC unit name), for the simulator (4.3).
METRIC_MDC: Final[dict[Metric, tuple[int, str, int, str]]] = {
    Metric.HR: (147842, "MDC_ECG_HEART_RATE", 264864, "MDC_DIM_BEAT_PER_MIN"),
    Metric.NIBP_SYS: (150021, "MDC_PRESS_BLD_NONINV_SYS", 266016, "MDC_DIM_MMHG"),
    Metric.NIBP_DIA: (150022, "MDC_PRESS_BLD_NONINV_DIA", 266016, "MDC_DIM_MMHG"),
    Metric.NIBP_MEAN: (150023, "MDC_PRESS_BLD_NONINV_MEAN", 266016, "MDC_DIM_MMHG"),
    Metric.SPO2: (150456, "MDC_PULS_OXIM_SAT_O2", 262688, "MDC_DIM_PERCENT"),
    Metric.PR: (149530, "MDC_PULS_OXIM_PULS_RATE", 264864, "MDC_DIM_BEAT_PER_MIN"),
    Metric.RR: (151562, "MDC_RESP_RATE", 264928, "MDC_DIM_RESP_PER_MIN"),
    Metric.TEMP: (150344, "MDC_TEMP", 268192, "MDC_DIM_DEGC"),
}
#: metric -> OBX-4 containment path used by the simulator (as in spec_built/hl7/01).
METRIC_SUB_IDS: Final[dict[Metric, str]] = {
    Metric.HR: "1.1.1.1",
    Metric.NIBP_SYS: "1.2.1.1",
    Metric.NIBP_DIA: "1.2.1.2",
    Metric.NIBP_MEAN: "1.2.1.3",
    Metric.SPO2: "1.3.1.1",
    Metric.PR: "1.3.1.2",
    Metric.RR: "1.4.1.1",
    Metric.TEMP: "1.5.1.1",
}


@dataclass(frozen=True, slots=True)
class OruObservation:
    """One numeric OBX row to encode.

    ``value`` None encodes an empty OBX-5 (value not available); a str is sent verbatim (e.g.
    ``"---"`` to exercise decoders).
    """

    code: int | str
    name: str
    sub_id: str
    value: float | str | None
    unit_code: int | str
    unit_name: str
    time: datetime | None
    coding_system: str = "MDC"
    unit_system: str = "MDC"
    reference_range: str = ""
    abnormal_flags: str = ""
    status: str = "R"
    value_type: str = "NM"


@dataclass(frozen=True, slots=True)
class OruPatient:
    """The PID/PV1 content of a message (the spec vector's patient by default)."""

    mrn: str = "MRN12345"
    authority: str = "CLINIC"
    family: str = "DOE"
    given: str = "JANE"
    birth_date: str = "19800101"
    sex: str = "F"
    patient_class: str = "O"
    unit: str = "INFUSION"
    room: str = "BAY3"
    bed: str = "1"


@dataclass(frozen=True, slots=True)
class GatewayIdentity:
    """Who sends the message and to whom (MSH-3..6, OBR-2/3, OBX-18)."""

    name: str = "VSGW"
    eui64: str = "0A1B2C3D4E5F6071"
    facility: str = "CLINIC"
    receiving_application: str = DEFAULT_APPLICATION
    receiving_facility: str = "CLINIC"


def observation_for(
    metric: Metric,
    value: float | str | None,
    time: datetime | None,
    *,
    reference_range: str = "",
    abnormal_flags: str = "",
    status: str = "R",
) -> OruObservation:
    """An MDC-coded OBX row for one of the console's metrics (codes and paths of 4.3)."""
    code, name, unit_code, unit_name = METRIC_MDC[metric]
    return OruObservation(
        code=code,
        name=name,
        sub_id=METRIC_SUB_IDS[metric],
        value=value,
        unit_code=unit_code,
        unit_name=unit_name,
        time=time,
        reference_range=reference_range,
        abnormal_flags=abnormal_flags,
        status=status,
    )


def format_number(value: float) -> str:
    """Decimal text for OBX-5: integers without a point, else at most 2 decimals."""
    if not math.isfinite(value):
        raise ValueError(f"cannot encode {value} as an HL7 number")
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def encode_oru(
    *,
    control_id: str,
    message_time: datetime,
    observations: Sequence[OruObservation],
    patient: OruPatient | None = None,
    gateway: GatewayIdentity | None = None,
) -> bytes:
    """An ORU^R01 message in the IHE PCD-01 layout of 4.2 (unframed, CR-terminated segments).

    With the defaults and the spec vector's observations this reproduces
    ``spec_built/hl7/01`` byte for byte: MSH, PID, PV1, one OBR, an MDS containment row, then one
    OBX per observation numbered from 2.
    """
    pat = patient or OruPatient()
    gw = gateway or GatewayIdentity()
    ts = format_timestamp(message_time)
    ts14 = message_time.strftime("%Y%m%d%H%M%S")
    sender = f"{escape(gw.name)}^{gw.eui64}^EUI-64"
    filler = f"{gw.eui64}{ts14}^{escape(gw.name)}^{gw.eui64}^EUI-64"
    segments = [
        f"MSH|^~\\&|{sender}|{escape(gw.facility)}|{escape(gw.receiving_application)}|"
        f"{escape(gw.receiving_facility)}|{ts}||ORU^R01^ORU_R01|{escape(control_id)}|P|2.6|||NE|AL"
        "||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        f"PID|||{escape(pat.mrn)}^^^{escape(pat.authority)}^MR||{escape(pat.family)}^"
        f"{escape(pat.given)}^^^^^L||{pat.birth_date}|{pat.sex}",
        f"PV1||{pat.patient_class}|{escape(pat.unit)}^{escape(pat.room)}^{escape(pat.bed)}",
        f"OBR|1|{filler}|{filler}|182777000^monitoring of patient^SCT|||{ts}",
        f"OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||{gw.eui64}^EUI-64",
    ]
    for set_id, obs in enumerate(observations, start=2):
        if obs.value is None:
            value = ""
        elif isinstance(obs.value, str):
            value = escape(obs.value)
        else:
            value = format_number(obs.value)
        fields = [
            "OBX",
            str(set_id),
            obs.value_type,
            f"{obs.code}^{escape(obs.name)}^{obs.coding_system}",
            obs.sub_id,
            value,
            f"{escape(str(obs.unit_code))}^{escape(obs.unit_name)}^{obs.unit_system}",
            obs.reference_range,
            obs.abnormal_flags,
            "",
            "",
            obs.status,
            "",
            "",
            format_timestamp(obs.time) if obs.time is not None else "",
        ]
        segments.append("|".join(fields))
    return ("\r".join(segments) + "\r").encode("utf-8")
