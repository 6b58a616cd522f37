"""Masimo Radical-7 / Rad-8 / Rad-97 serial output, "ASCII 1" (trend data) format.

Written from ``shared/protocols.md`` section 3 (revision of the shared spec in this repository):

* 3.1 physical layer: 9600 8N1, output only, one line per second, lines end with CR LF;
* 3.2 line layout ``MM/DD/YY HH:MM:SS SN=… SPO2=sss% BPM=bbb PI=pp.pp% … ALARM=hhhh EXC=hhhhhh``,
  with the Radical-7 ``PVI=`` field and the Rad-7 colour variant (``SPHB``, ``SPOC``, ``RESVD``,
  6-digit ALARM, 7-digit EXC, ``EXC1``, ``PI`` without ``%``);
* 3.3 exception (EXC) bits and 3.4 the empirical alarm (ALARM) bits;
* 3.6 what a decoder must tolerate: partial first line, empty lines, noise bytes, dashes for
  "no data", unknown fields, ASCII 2 mode output, clock resets.

Sans-I/O like every protocol module: bytes in, lines and records out (and back, for the
simulator).  There is no checksum in this format, so the parser is strict about field syntax
instead: a line that does not look exactly like a trend line is rejected rather than half-read,
because a silently mis-parsed digit would be a wrong SpO2 on screen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from devices.errors import ProtocolError
from devices.model import ReadingFlag

# --------------------------------------------------------------------------------------------
# Constants (protocols.md 3.1-3.4)
# --------------------------------------------------------------------------------------------

CR: Final = 0x0D
LF: Final = 0x0A
#: What the monitor ends every line with (3.1).
LINE_END: Final = b"\r\n"
#: A Rad-7 colour line is ~190 characters; anything much longer lost its terminator (cable noise,
#: a reader that joined a binary stream) and is dropped instead of growing the buffer forever.
MAX_LINE_LEN: Final = 512

#: Layout of the device clock at the start of every line (3.2: ``^(.{17})``).
TIME_FORMAT: Final = "%m/%d/%y %H:%M:%S"

# EXC bits (3.3), from the Rad-8 operator's manual as quoted by NMN and the Elixir module.
EXC_NO_SENSOR: Final = 0x001
EXC_DEFECTIVE_SENSOR: Final = 0x002
EXC_LOW_PERFUSION: Final = 0x004
EXC_PULSE_SEARCH: Final = 0x008
EXC_INTERFERENCE: Final = 0x010
EXC_SENSOR_OFF: Final = 0x020
EXC_AMBIENT_LIGHT: Final = 0x040
EXC_UNRECOGNIZED_SENSOR: Final = 0x080
EXC_LOW_SIGNAL_IQ: Final = 0x400
#: "Masimo SET" algorithm active: normal during good monitoring, not an exception.
EXC_MASIMO_SET: Final = 0x800

#: Bits after which the monitor has no sensor data at all (3.3: "no sensor data").
EXC_NO_SENSOR_DATA: Final = (
    EXC_NO_SENSOR | EXC_DEFECTIVE_SENSOR | EXC_SENSOR_OFF | EXC_UNRECOGNIZED_SENSOR
)
#: Bits that make the numbers questionable but not absent (3.3).
EXC_QUESTIONABLE: Final = (
    EXC_LOW_PERFUSION | EXC_PULSE_SEARCH | EXC_INTERFERENCE | EXC_AMBIENT_LIGHT | EXC_LOW_SIGNAL_IQ
)

#: Human-readable names of the EXC bits, in bit order, for technical-event details and logs.
EXC_NAMES: Final[dict[int, str]] = {
    EXC_NO_SENSOR: "no sensor",
    EXC_DEFECTIVE_SENSOR: "defective sensor",
    EXC_LOW_PERFUSION: "low perfusion",
    EXC_PULSE_SEARCH: "pulse search",
    EXC_INTERFERENCE: "interference",
    EXC_SENSOR_OFF: "sensor off",
    EXC_AMBIENT_LIGHT: "ambient light",
    EXC_UNRECOGNIZED_SENSOR: "unrecognized sensor",
    EXC_LOW_SIGNAL_IQ: "low signal IQ",
    EXC_MASIMO_SET: "Masimo SET",
}

#: EXC bit -> flag recorded with every SpO2/PR reading of that line.  Pulse search has no flag
#: of its own in :class:`ReadingFlag`; it is recorded as QUESTIONABLE and additionally makes the
#: reading invalid (see :func:`exc_invalidates`).
EXC_FLAGS: Final[dict[int, ReadingFlag]] = {
    EXC_NO_SENSOR: ReadingFlag.SENSOR_OFF,
    EXC_SENSOR_OFF: ReadingFlag.SENSOR_OFF,
    EXC_DEFECTIVE_SENSOR: ReadingFlag.INVALID,
    EXC_UNRECOGNIZED_SENSOR: ReadingFlag.INVALID,
    EXC_LOW_PERFUSION: ReadingFlag.QUESTIONABLE,
    EXC_PULSE_SEARCH: ReadingFlag.QUESTIONABLE,
    EXC_INTERFERENCE: ReadingFlag.QUESTIONABLE,
    EXC_AMBIENT_LIGHT: ReadingFlag.QUESTIONABLE,
    EXC_LOW_SIGNAL_IQ: ReadingFlag.QUESTIONABLE,
}

# ALARM bits (3.4): empirical, advisory only; the console applies its own limits.
ALARM_SPO2_HIGH: Final = 0x01
ALARM_SPO2_LOW: Final = 0x02
ALARM_PR_HIGH: Final = 0x04
ALARM_PR_LOW: Final = 0x08
ALARM_ACTIVE: Final = 0x10
ALARM_SILENCED: Final = 0x20

#: Fields every ASCII 1 line has.  Without SN/SPO2/BPM the monitor is in another output mode;
#: ALARM and EXC close every Rad-8 and Radical-7 line, so requiring them (with their widths,
#: below) rejects a line truncated by a pulled cable instead of reading a cut-off number.
REQUIRED_KEYS: Final = ("SN", "SPO2", "BPM", "ALARM", "EXC")
#: Allowed lengths of the fixed-width fields (3.2; 6/7 digits in the Rad-7 colour variant).
FIELD_WIDTHS: Final[dict[str, tuple[int, ...]]] = {
    "SPO2": (3,),
    "BPM": (3,),
    "ALARM": (4, 6),
    "EXC": (6, 7),
}

_START = re.compile(r"(\d{2}/\d{2}/\d{2}) (\d{2}:\d{2}:\d{2})(?= )")
_TOKEN = re.compile(r"([A-Z][A-Z0-9]*)=(\S*)")
_UNSIGNED = re.compile(r"\d+(\.\d+)?")
_SIGNED = re.compile(r"[+-]?\d+")
_HEX = re.compile(r"[0-9A-Fa-f]+")

# --------------------------------------------------------------------------------------------
# Framing (3.1)
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class FramerResult:
    """What one :meth:`MasimoFramer.feed` call completed.

    Attributes:
        lines: complete non-empty lines, terminators removed, bytes exactly as received.
        errors: one :class:`ProtocolError` per line dropped for being longer than
            :data:`MAX_LINE_LEN`; ``raw`` holds its first bytes.
    """

    lines: list[bytes] = field(default_factory=list)
    errors: list[ProtocolError] = field(default_factory=list)


class MasimoFramer:
    """Cuts the monitor's byte stream into lines.

    CR and LF are both treated as terminators and empty lines are skipped, so CR LF, a lone CR,
    a lone LF and the blank lines of a tty that maps CR to LF (3.1) all give the same lines.
    Work is done per complete line, so the result does not depend on how the stream was split
    into chunks.  A line that grows past :data:`MAX_LINE_LEN` without a terminator is reported
    once and the rest of it is skipped up to the next terminator.

    Attributes:
        lines_out: complete lines returned so far.
        overlong_lines: lines dropped for their length.
        skipped_bytes: bytes thrown away with overlong lines.
    """

    def __init__(self, max_line_len: int = MAX_LINE_LEN) -> None:
        self.max_line_len = max_line_len
        self.lines_out = 0
        self.overlong_lines = 0
        self.skipped_bytes = 0
        self._buf = bytearray()
        self._discarding = False

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished line held back until its terminator arrives."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial line (a new byte stream starts, e.g. after a reconnect)."""
        self._buf.clear()
        self._discarding = False

    def feed(self, chunk: bytes) -> FramerResult:
        """Consume ``chunk`` (any size, any split point) and return the lines it completed."""
        result = FramerResult()
        # Treat CR and LF alike: one translate() is cheaper than scanning for both.
        pieces = chunk.replace(b"\r", b"\n").split(b"\n")
        for index, piece in enumerate(pieces):
            terminated = index < len(pieces) - 1
            if self._discarding:
                self.skipped_bytes += len(piece)
                if terminated:
                    self._discarding = False
                continue
            self._buf += piece
            if len(self._buf) > self.max_line_len:
                self.overlong_lines += 1
                self.skipped_bytes += len(self._buf)
                result.errors.append(
                    ProtocolError(
                        f"Masimo line longer than {self.max_line_len} bytes without CR/LF",
                        bytes(self._buf[:64]),
                    )
                )
                self._buf.clear()
                self._discarding = not terminated
                continue
            if terminated:
                if self._buf:
                    result.lines.append(bytes(self._buf))
                    self.lines_out += 1
                self._buf.clear()
        return result


# --------------------------------------------------------------------------------------------
# Records (3.2-3.4)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MasimoRecord:
    """One decoded trend line.

    Numbers are None when the monitor sent dashes ("no data", 3.2).

    Attributes:
        device_time: the monitor clock (no time zone on the wire, so naive).
        serial_number: ``SN=`` digits, None when the monitor sent dashes.
        spo2: SpO2 in %.
        pr: pulse rate in /min (``BPM=``).
        pi: perfusion index in %.
        pvi: pleth variability index (Radical-7 only).
        spco: carboxyhaemoglobin in %.
        spmet: methaemoglobin in %.
        alarm: ALARM bits (3.4), None when absent or dashed.
        exc: EXC bits (3.3), None when absent or dashed.
        fields: every ``KEY=VALUE`` token as received, including ones this module does not know.
    """

    device_time: datetime
    serial_number: str | None
    spo2: float | None
    pr: float | None
    pi: float | None = None
    pvi: float | None = None
    spco: float | None = None
    spmet: float | None = None
    alarm: int | None = None
    exc: int | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def exc_bits(self) -> int:
        """EXC as an int, 0 when the field was missing."""
        return self.exc or 0

    @property
    def no_sensor_data(self) -> bool:
        """True when EXC says there is no usable sensor (no/defective/off/unrecognized)."""
        return bool(self.exc_bits & EXC_NO_SENSOR_DATA)

    @property
    def sensor_off(self) -> bool:
        """Alias of :attr:`no_sensor_data`, the condition the console shows as "sensor off"."""
        return self.no_sensor_data

    @property
    def flags(self) -> tuple[ReadingFlag, ...]:
        """Flags for the readings of this line, from the EXC bits, without duplicates."""
        return exc_flags(self.exc_bits)

    @property
    def exception_names(self) -> tuple[str, ...]:
        """Names of the EXC bits that are set, SET included."""
        return exc_names(self.exc_bits)


def exc_flags(exc: int) -> tuple[ReadingFlag, ...]:
    """Reading flags for EXC bits without duplicates: "no sensor data" flags first, then bit order.

    The most serious reason comes first so a consumer that shows one flag shows the right one.
    """
    flags: list[ReadingFlag] = []
    by_severity = sorted(
        EXC_FLAGS.items(), key=lambda item: (not item[0] & EXC_NO_SENSOR_DATA, item[0])
    )
    for bit, flag in by_severity:
        if exc & bit and flag not in flags:
            flags.append(flag)
    return tuple(flags)


def exc_invalidates(exc: int) -> bool:
    """True when the numbers of a line with these EXC bits must not be used as patient data.

    No sensor data (3.3) and pulse search: the monitor is showing stale or placeholder numbers.
    Low perfusion, interference, ambient light and low signal IQ only make the value
    questionable: it stays valid so alarms still run on a poorly perfused patient, the very
    situation in which a low SpO2 matters most.
    """
    return bool(exc & (EXC_NO_SENSOR_DATA | EXC_PULSE_SEARCH))


def exc_names(exc: int) -> tuple[str, ...]:
    """Names of the known EXC bits set in ``exc``, in bit order."""
    return tuple(name for bit, name in sorted(EXC_NAMES.items()) if exc & bit)


def _number(key: str, raw: str, line: bytes) -> float | None:
    """A fixed-width number; any ``-`` means "no data" (3.2), a trailing ``%`` is dropped."""
    if "-" in raw:
        return None
    text = raw.removesuffix("%")
    if not _UNSIGNED.fullmatch(text):
        raise ProtocolError(f"Masimo field {key}={raw!r} is not a number", line)
    return float(text)


def _signed(key: str, raw: str, line: bytes) -> float | None:
    if "-" in raw[1:] or raw in ("", "-", "+"):
        return None
    if not _SIGNED.fullmatch(raw):
        raise ProtocolError(f"Masimo field {key}={raw!r} is not a signed number", line)
    return float(raw)


def _hex(key: str, raw: str | None, line: bytes) -> int | None:
    if raw is None or "-" in raw:
        return None
    if not _HEX.fullmatch(raw):
        raise ProtocolError(f"Masimo field {key}={raw!r} is not hexadecimal", line)
    return int(raw, 16)


def parse_line(line: bytes | str) -> MasimoRecord:
    """Decode one trend line (without its terminator).

    Noise in front of the timestamp (bytes that reached the line before the monitor's own text,
    3.6) is skipped: the record starts at the first ``MM/DD/YY HH:MM:SS`` followed by a space.
    After it, every token must be ``KEY=VALUE``; unknown keys are kept in ``fields``.

    Raises:
        ProtocolError: no valid date and time, a token that is not ``KEY=VALUE``, a known field
            that is not a number, the ``SN``/``SPO2``/``BPM`` fields missing (the monitor is
            probably set to ASCII 2; the message says so), or ``ALARM``/``EXC`` missing or a
            fixed-width field of the wrong width (a truncated line).
    """
    raw = line if isinstance(line, bytes) else line.encode("latin-1", errors="replace")
    text = raw.decode("latin-1")
    start = _START.search(text)
    if start is None:
        raise ProtocolError("Masimo line does not start with MM/DD/YY HH:MM:SS", raw)
    try:
        device_time = datetime.strptime(f"{start[1]} {start[2]}", TIME_FORMAT)
    except ValueError as err:
        raise ProtocolError(f"Masimo line has an impossible date/time: {err}", raw) from None
    fields: dict[str, str] = {}
    bad_tokens: list[str] = []
    for token in text[start.end() :].split():
        match = _TOKEN.fullmatch(token)
        if match is None:
            bad_tokens.append(token)
        else:
            fields[match[1]] = match[2]
    # The output-mode hint first: an ASCII 2 line is all bad tokens, and the operator needs to
    # hear about the monitor's setting, not about one token.
    if not all(key in fields for key in REQUIRED_KEYS[:3]):
        raise ProtocolError(
            "Masimo line without SN=/SPO2=/BPM= fields: wrong output mode? "
            "Set the monitor's serial output to ASCII 1 (protocols.md 3.1)",
            raw,
        )
    if bad_tokens:
        raise ProtocolError(f"Masimo token {bad_tokens[0][:32]!r} is not KEY=VALUE", raw)
    missing = [key for key in REQUIRED_KEYS if key not in fields]
    if missing:
        raise ProtocolError(f"Masimo line without {'/'.join(missing)}= (truncated?)", raw)
    for key, widths in FIELD_WIDTHS.items():
        if len(fields[key].removesuffix("%")) not in widths:
            raise ProtocolError(f"Masimo field {key}={fields[key]!r} has the wrong width", raw)
    serial = fields["SN"]

    def num(key: str) -> float | None:
        value = fields.get(key)
        return None if value is None else _number(key, value, raw)

    return MasimoRecord(
        device_time=device_time,
        serial_number=None if "-" in serial or not serial else serial,
        spo2=num("SPO2"),
        pr=num("BPM"),
        pi=num("PI"),
        pvi=num("PVI"),
        spco=num("SPCO"),
        spmet=num("SPMET"),
        alarm=_hex("ALARM", fields["ALARM"], raw),
        exc=_hex("EXC", fields["EXC"], raw),
        fields=fields,
    )


def parse_pidelta(record: MasimoRecord) -> float | None:
    """The signed ``PIDELTA`` field of a record, None when absent or dashed."""
    raw = record.fields.get("PIDELTA")
    return None if raw is None else _signed("PIDELTA", raw, b"")


# --------------------------------------------------------------------------------------------
# Encoder (simulator side, 3.2 and 3.5)
# --------------------------------------------------------------------------------------------


def _fixed(value: float | None, width: int, decimals: int = 0) -> str:
    """Zero-padded fixed-width number, or dashes of the same shape for "no data"."""
    if value is None:
        if decimals:
            return "-" * (width - decimals - 1) + "." + "-" * decimals
        return "-" * width
    if value < 0:
        raise ValueError(f"Masimo fields are unsigned, got {value}")
    text = f"{value:0{width}.{decimals}f}"
    if len(text) > width:
        raise ValueError(f"{value} does not fit {width} characters")
    return text


def encode_line(
    *,
    device_time: datetime,
    serial_number: str | None = "0000000000",
    spo2: float | None,
    pr: float | None,
    pi: float | None = None,
    spco: float | None = None,
    spmet: float | None = None,
    desat: int | None = None,
    pidelta: int | None = None,
    pvi: float | None = None,
    alarm: int = 0,
    exc: int = EXC_MASIMO_SET,
) -> bytes:
    """Build one Rad-8 ASCII 1 line, CR LF included; with ``pvi`` given, a Radical-7 line.

    The layout is the fixed-width one of real monitors (``SPO2=098%``, ``PI=03.45%``,
    ``ALARM=0000``, ``EXC=000800``), so the spec-built vectors are reproduced byte for byte.
    ``pvi`` adds the ``PVI=`` field before ``ALARM`` as the Radical-7 does; pass ``None`` for a
    Rad-8 line.  To emit a Radical-7 line with ``PVI=---`` use :func:`encode_radical7_line`.

    Raises:
        ValueError: a value that does not fit its field, or a serial number that is not 10
            characters.
    """
    return _encode(
        device_time=device_time,
        serial_number=serial_number,
        spo2=spo2,
        pr=pr,
        pi=pi,
        spco=spco,
        spmet=spmet,
        desat=desat,
        pidelta=pidelta,
        pvi_field=None if pvi is None else _fixed(round(pvi), 3),
        alarm=alarm,
        exc=exc,
    )


def encode_radical7_line(
    *,
    device_time: datetime,
    serial_number: str | None = "0000000000",
    spo2: float | None,
    pr: float | None,
    pi: float | None = None,
    pvi: float | None = None,
    alarm: int = 0,
    exc: int = EXC_MASIMO_SET,
) -> bytes:
    """Build one Radical-7 line: always carries ``PVI=`` (dashes when ``pvi`` is None)."""
    return _encode(
        device_time=device_time,
        serial_number=serial_number,
        spo2=spo2,
        pr=pr,
        pi=pi,
        spco=None,
        spmet=None,
        desat=None,
        pidelta=None,
        pvi_field=_fixed(None if pvi is None else round(pvi), 3),
        alarm=alarm,
        exc=exc,
    )


def _encode(
    *,
    device_time: datetime,
    serial_number: str | None,
    spo2: float | None,
    pr: float | None,
    pi: float | None,
    spco: float | None,
    spmet: float | None,
    desat: int | None,
    pidelta: int | None,
    pvi_field: str | None,
    alarm: int,
    exc: int,
) -> bytes:
    serial = "-" * 10 if serial_number is None else serial_number
    if len(serial) != 10 or " " in serial:
        raise ValueError(f"serial number must be 10 characters without spaces, got {serial!r}")
    if not 0 <= alarm <= 0xFFFF or not 0 <= exc <= 0xFFFFFF:
        raise ValueError(f"ALARM 0x{alarm:X} or EXC 0x{exc:X} out of range")
    spo2_text = _fixed(None if spo2 is None else round(spo2), 3)
    pr_text = _fixed(None if pr is None else round(pr), 3)
    if pidelta is None:
        pidelta_text = "+--"
    else:
        pidelta_text = f"{'+' if pidelta >= 0 else '-'}{_fixed(abs(pidelta), 2)}"
    parts = [
        device_time.strftime(TIME_FORMAT),
        f"SN={serial}",
        f"SPO2={spo2_text}%",
        f"BPM={pr_text}",
        f"PI={_fixed(pi, 5, 2)}%",
        f"SPCO={_fixed(spco, 4, 1)}%",
        f"SPMET={_fixed(spmet, 4, 1)}%",
        f"DESAT={_fixed(desat, 2)}",
        f"PIDELTA={pidelta_text}",
    ]
    if pvi_field is not None:
        parts.append(f"PVI={pvi_field}")
    parts += [f"ALARM={alarm:04X}", f"EXC={exc:06X}"]
    return " ".join(parts).encode("ascii") + LINE_END
