"""The association layer of protocols.md 1.3/1.5: request, result, refuse, release, abort.

Apart from the remote operations because its messages use BER-style lengths and fixed
presentation headers, not the data export lists.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from devices.errors import ProtocolError
from devices.protocols.philips_intellivue.constants import (
    AC_SPDU_SI,
    CN_SPDU_SI,
    NOM_ATTR_POLL_PROFILE_EXT,
    NOM_MDIB_OBJ_SUPPORT,
    NOM_PART_OBJ,
    NOM_POLL_PROFILE_SUPPORT,
    NOMENCLATURE_VERSION,
    POLL_EXT_PERIOD_NU_1SEC,
    POLL_OPTION_DYN_CREATE,
    POLL_OPTION_DYN_DELETE,
    POLL_PROFILE_REVISION,
    PROTOCOL_VERSION,
    STARTUP_COLD,
    SYSTEM_TYPE_CLIENT,
    SYSTEM_TYPE_SERVER,
    TICKS_PER_S,
    UNLIMITED_BANDWIDTH,
)
from devices.protocols.philips_intellivue.primitives import (
    _U32,
    Ava,
    _read_asn1_length,
    _read_attribute_list,
    _read_li,
    _Reader,
    encode_asn1_length,
    encode_attribute_list,
    encode_li,
    encode_list,
    find_attribute,
)

# --------------------------------------------------------------------------------------------
# Association layer (1.5)
# --------------------------------------------------------------------------------------------

#: Session data of request and result (14 bytes, constant).
SESSION_DATA: Final = bytes.fromhex("05 08 13 01 00 16 01 02 80 00 14 02 00 02")
#: Presentation part of the request up to the user info (131 bytes, ends with 0x81).
AARQ_PRESENTATION: Final = bytes.fromhex(
    "31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00 00 01 A4 80 30 80 02 01 01 06 04 52 01 00 01 30 80"
    " 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0C 2A 86 48 CE 14 02 01 00 00 00 01 01 30 80 06 0C"
    " 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00 00 00 61 80 30 80 02 01 01 A0 80 60 80 A1 80"
    " 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 BE 80 28 80 06 0C 2A 86 48 CE 14 02 01 00 00"
    " 00 01 01 02 01 02 81"
)
#: Presentation part of the result up to the user info (101 bytes).
AARE_PRESENTATION: Final = bytes.fromhex(
    "31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00 00 01 A5 80 30 80 80 01 00 81 02 51 01 00 00 30 80"
    " 80 01 00 81 0C 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00 61 80 30 80 02 01 01 A0 80 61"
    " 80 A1 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 A2 03 02 01 00 A3 05 A1 03 02 01 00"
    " BE 80 28 80 02 01 02 81"
)
#: The bytes just before the user info's ASN.1 length in both presentation parts; used to find
#: the user info when a monitor's presentation part differs from the one we know.
_USER_INFO_MARKER: Final = bytes.fromhex("02 01 02 81")
PRESENTATION_TRAILER: Final = bytes(16)
RELEASE_REQUEST: Final = bytes.fromhex(
    "09 18 C1 16 61 80 30 80 02 01 01 A0 80 62 80 80 01 00 00 00 00 00 00 00 00 00"
)
RELEASE_RESULT: Final = bytes.fromhex(
    "0A 18 C1 16 61 80 30 80 02 01 01 A0 80 63 80 80 01 00 00 00 00 00 00 00 00 00"
)
ABORT: Final = bytes.fromhex(
    "19 2E 11 01 03 C1 29 A0 80 A0 80 30 80 02 01 01 06 02 51 01 00 00 00 00 61 80 30 80 02 01 01"
    " A0 80 64 80 80 01 01 00 00 00 00 00 00 00 00 00 00"
)
REFUSE: Final = bytes.fromhex("0C 03 32 01 00")


@dataclass(frozen=True, slots=True)
class PollProfileSupport:
    """NOM_POLL_PROFILE_SUPPORT with its PollProfileExt optional package (1.5).

    Defaults are the numerics-only request of ``spec_built/philips_intellivue/01``: 1 s minimum
    poll period, rx/tx MTU 2500/1000 (MDL), unlimited bandwidth, dynamic create/delete objects,
    numerics every second.
    """

    min_poll_period: int = TICKS_PER_S
    max_mtu_rx: int = 2500
    max_mtu_tx: int = 1000
    max_bw_tx: int = UNLIMITED_BANDWIDTH
    options: int = POLL_OPTION_DYN_CREATE | POLL_OPTION_DYN_DELETE
    ext_options: int | None = POLL_EXT_PERIOD_NU_1SEC
    ext_attributes: tuple[Ava, ...] = ()
    revision: int = POLL_PROFILE_REVISION

    def encode(self) -> bytes:
        """The AVA value (without the AVA header)."""
        packages: list[Ava] = []
        if self.ext_options is not None:
            ext = _U32.pack(self.ext_options) + encode_attribute_list(self.ext_attributes)
            packages.append(Ava(NOM_ATTR_POLL_PROFILE_EXT, ext))
        return struct.pack(
            ">IIIIII",
            self.revision,
            self.min_poll_period,
            self.max_mtu_rx,
            self.max_mtu_tx,
            self.max_bw_tx,
            self.options,
        ) + encode_attribute_list(packages)

    @classmethod
    def decode(cls, value: bytes) -> PollProfileSupport:
        """Parse the AVA value; an absent PollProfileExt gives ``ext_options`` None."""
        reader = _Reader(value, "PollProfileSupport")
        revision, min_poll, rx, tx, bw, options = (reader.u32() for _ in range(6))
        packages = _read_attribute_list(reader, "PollProfileSupport optional packages")
        ext_options: int | None = None
        ext_attributes: tuple[Ava, ...] = ()
        ext = find_attribute(packages, NOM_ATTR_POLL_PROFILE_EXT)
        if ext is not None:
            ext_reader = _Reader(ext, "PollProfileExt")
            ext_options = ext_reader.u32()
            ext_attributes = _read_attribute_list(ext_reader, "PollProfileExt attributes")
        return cls(min_poll, rx, tx, bw, options, ext_options, ext_attributes, revision)


@dataclass(frozen=True, slots=True)
class MdseUserInfo:
    """MDSEUserInfoStd: who is talking and what it supports (1.5).

    Attributes:
        poll_profile: the NOM_POLL_PROFILE_SUPPORT aprofile, None if absent.
        extra_aprofiles: further supported aprofiles after the poll profile, e.g.
            NOM_MDIB_OBJ_SUPPORT as VSC-MP sends with its wave request.
    """

    system_type: int = SYSTEM_TYPE_CLIENT
    poll_profile: PollProfileSupport | None = field(default_factory=PollProfileSupport)
    extra_aprofiles: tuple[Ava, ...] = ()
    protocol_version: int = PROTOCOL_VERSION
    nomenclature_version: int = NOMENCLATURE_VERSION
    functional_units: int = 0
    startup_mode: int = STARTUP_COLD
    option_list: tuple[Ava, ...] = ()

    def encode(self) -> bytes:
        """The user info bytes (without the ASN.1 length)."""
        aprofiles: list[Ava] = []
        if self.poll_profile is not None:
            aprofiles.append(Ava(NOM_POLL_PROFILE_SUPPORT, self.poll_profile.encode()))
        aprofiles.extend(self.extra_aprofiles)
        return (
            struct.pack(
                ">IIIII",
                self.protocol_version,
                self.nomenclature_version,
                self.functional_units,
                self.system_type,
                self.startup_mode,
            )
            + encode_attribute_list(self.option_list)
            + encode_attribute_list(aprofiles)
        )

    @classmethod
    def decode(cls, data: bytes) -> MdseUserInfo:
        """Parse user info bytes.

        Raises:
            ProtocolError: truncated or inconsistent lengths.
        """
        reader = _Reader(data, "MDSEUserInfoStd")
        protocol_version, nomenclature_version, functional_units, system_type, startup = (
            reader.u32() for _ in range(5)
        )
        options = _read_attribute_list(reader, "MDSEUserInfoStd option list")
        aprofiles = _read_attribute_list(reader, "MDSEUserInfoStd aprofiles")
        poll_profile: PollProfileSupport | None = None
        extra: list[Ava] = []
        for ava in aprofiles:
            if ava.attribute_id == NOM_POLL_PROFILE_SUPPORT and poll_profile is None:
                poll_profile = PollProfileSupport.decode(ava.value)
            else:
                extra.append(ava)
        return cls(
            system_type,
            poll_profile,
            tuple(extra),
            protocol_version,
            nomenclature_version,
            functional_units,
            startup,
            options,
        )


def mdib_obj_support(entries: Sequence[tuple[int, int]]) -> Ava:
    """NOM_MDIB_OBJ_SUPPORT aprofile: ``(object class, max instances)`` pairs (1.5)."""
    items = [struct.pack(">HHI", NOM_PART_OBJ, obj_class, count) for obj_class, count in entries]
    return Ava(NOM_MDIB_OBJ_SUPPORT, encode_list(items))


def _association(kind: int, presentation: bytes, user_info: MdseUserInfo) -> bytes:
    info = user_info.encode()
    rest = presentation + encode_asn1_length(len(info)) + info + PRESENTATION_TRAILER
    after_session_li = SESSION_DATA + bytes((0xC1,)) + encode_li(len(rest)) + rest
    return bytes((kind,)) + encode_li(len(after_session_li)) + after_session_li


def encode_association_request(user_info: MdseUserInfo | None = None) -> bytes:
    """Association request user data (1.5); frame it with :func:`frame_message`.

    With ``MdseUserInfo(poll_profile=PollProfileSupport(0x000FDE80, 1000, 1000, 0,
    ext_options=0x89000000))`` this reproduces the Philips DevIfTest request byte for byte.
    """
    return _association(CN_SPDU_SI, AARQ_PRESENTATION, user_info or MdseUserInfo())


def encode_association_result(user_info: MdseUserInfo | None = None) -> bytes:
    """Association result (accept), the monitor's answer; for the simulator (1.5)."""
    info = user_info or MdseUserInfo(
        system_type=SYSTEM_TYPE_SERVER, poll_profile=PollProfileSupport(max_mtu_rx=1000)
    )
    return _association(AC_SPDU_SI, AARE_PRESENTATION, info)


def encode_release_request() -> bytes:
    """Release request (identical in the DevIfTest log and VSC-MP)."""
    return RELEASE_REQUEST


def encode_release_result() -> bytes:
    """Release result, the monitor's answer to a release request."""
    return RELEASE_RESULT


def encode_abort() -> bytes:
    """Abort: either side drops the association at once."""
    return ABORT


def encode_refuse() -> bytes:
    """Association refuse (MDL's bytes)."""
    return REFUSE


@dataclass(frozen=True, slots=True)
class AssociationMessage:
    """A message of the association layer (first byte not ``E1``).

    Attributes:
        kind: the session header byte (:data:`CN_SPDU_SI`, :data:`AC_SPDU_SI`, ...).
        user_info: the MDSEUserInfoStd of a request or result when it could be found and parsed;
            None for the other kinds, or when a monitor's presentation part is unfamiliar (the
            state machine only needs ``kind``, 1.5).
    """

    kind: int
    user_info: MdseUserInfo | None = None


def _decode_association(data: bytes) -> AssociationMessage:
    reader = _Reader(data, "association message")
    kind = reader.u8()
    length = _read_li(reader)
    if length > reader.remaining:
        raise ProtocolError(
            f"association message 0x{kind:02X}: LI {length} > {reader.remaining} bytes", data
        )
    user_info: MdseUserInfo | None = None
    if kind in (CN_SPDU_SI, AC_SPDU_SI):
        user_info = _find_user_info(data)
    return AssociationMessage(kind, user_info)


def _find_user_info(data: bytes) -> MdseUserInfo | None:
    """The user info of a request/result, found after the last ``02 01 02 81`` marker."""
    marker = data.rfind(_USER_INFO_MARKER)
    if marker < 0:
        return None
    reader = _Reader(data, "association user info", marker + len(_USER_INFO_MARKER))
    try:
        length = _read_asn1_length(reader)
        return MdseUserInfo.decode(reader.take(length))
    except ProtocolError:
        return None
