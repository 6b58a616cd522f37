"""Framing, message-kind and nomenclature constants of the Data Export protocol.

protocols.md 1.2-1.8: the numbers every other module of the codec speaks in.  Kept apart so
that the framer, the association layer and the remote operations share one spelling of each.
"""

from __future__ import annotations

from typing import Final

# --------------------------------------------------------------------------------------------
# Framing constants (protocols.md 1.2)
# --------------------------------------------------------------------------------------------

#: Beginning of frame.
BOF: Final = 0xC0
#: End of frame.
EOF: Final = 0xC1
#: Control escape: the next byte was XORed with :data:`ESC_XOR` by the sender.
ESC: Final = 0x7D
ESC_XOR: Final = 0x20
#: ``7D C1``: the sender abandons the frame in progress (1.2 "Frame abort").
FRAME_ABORT: Final = bytes((ESC, EOF))
#: Frame header: protocol id of Data Export and the one message type both layers use.
PROTOCOL_ID: Final = 0x11
MESSAGE_TYPE: Final = 0x01
FRAME_HEADER_LEN: Final = 4
FCS_LEN: Final = 2
#: Smallest frame: header + FCS with no user data.
MIN_FRAME_LEN: Final = FRAME_HEADER_LEN + FCS_LEN
#: Longest unescaped frame accepted; far above the 2500-byte receive MTU we announce (1.2).
MAX_FRAME_LEN: Final = 4096
#: CRC residue of a good frame when the FCS bytes are run through the CRC too (RFC 1662).
GOOD_FCS_RESIDUE: Final = 0xF0B8

# --------------------------------------------------------------------------------------------
# Message kinds (1.3) and data export constants (1.6-1.8)
# --------------------------------------------------------------------------------------------

CN_SPDU_SI: Final = 0x0D  # association request
AC_SPDU_SI: Final = 0x0E  # association result (accepted)
RF_SPDU_SI: Final = 0x0C  # association refuse
FN_SPDU_SI: Final = 0x09  # release request
DN_SPDU_SI: Final = 0x0A  # release result
AB_SPDU_SI: Final = 0x19  # abort
#: First user-data byte (high byte of session id 0xE100) of every data export message.
DATA_EXPORT: Final = 0xE1
SESSION_ID: Final = 0xE100
#: Presentation context id used with the association above (1.6).
P_CONTEXT_ID: Final = 2

ROIV_APDU: Final = 1
RORS_APDU: Final = 2
ROER_APDU: Final = 3
RORLS_APDU: Final = 5

CMD_EVENT_REPORT: Final = 0
CMD_CONFIRMED_EVENT_REPORT: Final = 1
CMD_GET: Final = 3
CMD_SET: Final = 4
CMD_CONFIRMED_SET: Final = 5
CMD_CONFIRMED_ACTION: Final = 7

RORLS_FIRST: Final = 1
RORLS_NOT_FIRST_NOT_LAST: Final = 2
RORLS_LAST: Final = 3

NOM_NOTI_MDS_CREAT: Final = 0x0D06
NOM_ACT_POLL_MDIB_DATA: Final = 0x0C16
NOM_ACT_POLL_MDIB_DATA_EXT: Final = 0xF13B

# Nomenclature partitions (1.4)
NOM_PART_OBJ: Final = 1
NOM_PART_SCADA: Final = 2
NOM_PART_DIM: Final = 4

# Object classes (1.8)
NOM_MOC_VMO_METRIC_NU: Final = 6
NOM_MOC_VMO_METRIC_SA_RT: Final = 9
NOM_MOC_VMO_METRIC_ENUM: Final = 5
NOM_MOC_VMS_MDS: Final = 0x21
NOM_MOC_PT_DEMOG: Final = 0x2A
NOM_MOC_VMO_AL_MON: Final = 0x36

# Attribute groups (1.8)
ATTR_GRP_ALL: Final = 0x0000
NOM_ATTR_GRP_METRIC_VAL_OBS: Final = 0x0803
NOM_ATTR_GRP_SYS_PROD: Final = 0x080C
NOM_ATTR_GRP_VMO_STATIC: Final = 0x0811

# Attribute ids (1.5, 1.7, 1.8, 1.9.3)
NOM_POLL_PROFILE_SUPPORT: Final = 0x0001
NOM_MDIB_OBJ_SUPPORT: Final = 0x0102
NOM_ATTR_POLL_PROFILE_EXT: Final = 0xF001
NOM_ATTR_ID_HANDLE: Final = 0x0921
NOM_ATTR_ID_LABEL: Final = 0x0924
NOM_ATTR_ID_LABEL_STRING: Final = 0x0927
NOM_ATTR_ID_MODEL: Final = 0x0928
NOM_ATTR_ID_TYPE: Final = 0x092F
NOM_ATTR_NU_CMPD_VAL_OBS: Final = 0x094B
NOM_ATTR_NU_VAL_OBS: Final = 0x0950
NOM_ATTR_SYS_ID: Final = 0x0984
NOM_ATTR_SYS_TYPE: Final = 0x0986
NOM_ATTR_TIME_ABS: Final = 0x0987
NOM_ATTR_TIME_REL: Final = 0x098F
NOM_ATTR_TIME_STAMP_ABS: Final = 0x0990
NOM_ATTR_TIME_STAMP_REL: Final = 0x0991
NOM_ATTR_UNIT_CODE: Final = 0x0996
NOM_ATTR_VMS_MDS_STAT: Final = 0x09A7
NOM_ATTR_TIME_PD_POLL: Final = 0xF13E
NOM_ATTR_POLL_OBJ_PRIO_NUM: Final = 0xF228

#: System type of a multi-parameter physiological monitor MDS (1.7).
SYS_TYPE_MULTI_PARAM_MONITOR: Final = 0x114D

# MDSEUserInfoStd values (1.5)
PROTOCOL_VERSION: Final = 0x80000000
NOMENCLATURE_VERSION: Final = 0x40000000
SYSTEM_TYPE_CLIENT: Final = 0x80000000
SYSTEM_TYPE_SERVER: Final = 0x00800000
STARTUP_COLD: Final = 0x20000000
POLL_PROFILE_REVISION: Final = 0x80000000
POLL_OPTION_DYN_CREATE: Final = 0x40000000
POLL_OPTION_DYN_DELETE: Final = 0x20000000
POLL_EXT_PERIOD_NU_1SEC: Final = 0x80000000
POLL_EXT_PERIOD_RTSA: Final = 0x08000000
#: max_bw_tx "unlimited".
UNLIMITED_BANDWIDTH: Final = 0xFFFFFFFF

#: RelativeTime ticks per second (1 tick = 125 µs, 1.4).
TICKS_PER_S: Final = 8000
