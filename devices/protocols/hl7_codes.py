"""The codes of HL7 PCD-01 (shared/protocols.md 4.3): which MDC and LOINC codes are the
console's quantities, the MDC unit codes and their variants, and the result statuses.

Tables only, apart from the codec (:mod:`devices.protocols.hl7_pcd01` re-exports them), so a
site's code list can be read and reviewed on one page.
"""

from __future__ import annotations

from typing import Final

from devices.model import Metric

#: MDC code (partition x 65536 + term code) -> metric.  149546 (NIBP pulse rate) and 149522
#: (invasive-BP pulse rate; Comen mislabels it MDC_PULS_RATE) are deliberately not mapped: the
#: console's PR is the oximeter's, and a second source at another cadence would interleave.
MDC_METRICS: Final[dict[int, Metric]] = {
    147842: Metric.HR,  # MDC_ECG_HEART_RATE
    149530: Metric.PR,  # MDC_PULS_OXIM_PULS_RATE (Mindray)
    149538: Metric.PR,  # 0x4822, the Philips pulse-oximeter pulse rate
    149514: Metric.PR,  # MDC_PULS_RATE
    150021: Metric.NIBP_SYS,  # MDC_PRESS_BLD_NONINV_SYS
    150022: Metric.NIBP_DIA,  # MDC_PRESS_BLD_NONINV_DIA
    150023: Metric.NIBP_MEAN,  # MDC_PRESS_BLD_NONINV_MEAN
    150456: Metric.SPO2,  # MDC_PULS_OXIM_SAT_O2
    151562: Metric.RR,  # MDC_RESP_RATE
    151578: Metric.RR,  # MDC_TTHOR_RESP_RATE (impedance, Mindray)
    151570: Metric.RR,  # MDC_AWAY_RESP_RATE
    150344: Metric.TEMP,  # MDC_TEMP
    150364: Metric.TEMP,  # MDC_TEMP_BODY
}

#: LOINC code (coding system ``LN``) -> metric, for gateways that send LOINC (4.3).
LOINC_METRICS: Final[dict[str, Metric]] = {
    "8867-4": Metric.HR,
    "8889-8": Metric.PR,
    "8480-6": Metric.NIBP_SYS,
    "8462-4": Metric.NIBP_DIA,
    "8478-0": Metric.NIBP_MEAN,
    "59408-5": Metric.SPO2,
    "2708-6": Metric.SPO2,
    "9279-1": Metric.RR,
    "8310-5": Metric.TEMP,
}

#: MDC unit code (OBX-6.1 with system ``MDC``) -> UCUM.
MDC_UNITS: Final[dict[str, str]] = {
    "264864": "/min",  # MDC_DIM_BEAT_PER_MIN
    "264928": "/min",  # MDC_DIM_RESP_PER_MIN
    "262688": "%",  # MDC_DIM_PERCENT
    "266016": "mm[Hg]",  # MDC_DIM_MMHG
    "265987": "kPa",  # MDC_DIM_KILO_PASCAL
    "268192": "Cel",  # MDC_DIM_DEGC
    "266560": "[degF]",  # MDC_DIM_FAHR
}

#: Unit spellings seen from gateways -> UCUM (4.2: "unit variants").
UNIT_ALIASES: Final[dict[str, str]] = {
    "/min": "/min",
    "{beat}/min": "/min",
    "{beats}/min": "/min",
    "{breath}/min": "/min",
    "{breaths}/min": "/min",
    "bpm": "/min",
    "rpm": "/min",
    "1/min": "/min",
    "%": "%",
    "mm[Hg]": "mm[Hg]",
    "mmHg": "mm[Hg]",
    "kPa": "kPa",
    "Cel": "Cel",
    "degC": "Cel",
    "[degF]": "[degF]",
    "degF": "[degF]",
}

#: OBX-11 result statuses whose value must not be used (HL7 table 0085: X cannot be obtained,
#: D deleted, W wrong, N not asked, I pending, O order only).
INVALID_STATUSES: Final = frozenset({"X", "D", "W", "N", "I", "O"})
#: OBX-11 statuses of a value the device has not finalised (preliminary, partial).
QUESTIONABLE_STATUSES: Final = frozenset({"P", "S"})

#: The console's application name in ACKs when the message does not name us in MSH-5.
DEFAULT_APPLICATION: Final = "KETCONSOLE"
