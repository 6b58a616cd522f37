"""Colours and fonts of a bedside monitor: dark background, one colour per parameter.

Alarm colours follow IEC 60601-1-8 (clinical.md c2): high = red, medium = yellow, low = cyan.
"""

from __future__ import annotations

from console.domain.alarms import Priority
from devices.model import Metric

BACKGROUND = "#0b0f14"
PANEL = "#131a22"
TEXT = "#d8dee9"
MUTED = "#7b8794"
STALE = "#5c6670"

METRIC_COLOURS: dict[Metric, str] = {
    Metric.HR: "#3ddc84",
    Metric.PR: "#3ddc84",
    Metric.SPO2: "#4fc3f7",
    Metric.RR: "#f5f5f5",
    Metric.NIBP_SYS: "#ff8a65",
    Metric.NIBP_DIA: "#ffb74d",
    Metric.NIBP_MEAN: "#ffe0b2",
    Metric.TEMP: "#ce93d8",
}

PRIORITY_COLOURS: dict[Priority, str] = {
    Priority.HIGH: "#e53935",
    Priority.MEDIUM: "#fdd835",
    Priority.LOW: "#26c6da",
}
PRIORITY_TEXT: dict[Priority, str] = {
    Priority.HIGH: "#ffffff",
    Priority.MEDIUM: "#111111",
    Priority.LOW: "#111111",
}
#: Half-period of the flash in ms: high 2 Hz (within 1.4-2.8 Hz), medium 0.5 Hz (0.4-0.8 Hz),
#: low steady (clinical.md c2), 50 % duty cycle.
FLASH_HALF_PERIOD_MS: dict[Priority, int | None] = {
    Priority.HIGH: 250,
    Priority.MEDIUM: 1000,
    Priority.LOW: None,
}

STYLE_SHEET = f"""
QWidget {{ background: {BACKGROUND}; color: {TEXT}; }}
QStatusBar {{ color: {MUTED}; }}
QLabel#chairTitle {{ font-size: 22px; font-weight: 600; }}
QLabel#simBadge {{
    background: #6a1b9a; color: #ffffff; font-weight: 700; font-size: 16px;
    padding: 4px 12px; border-radius: 4px; letter-spacing: 2px;
}}
QLabel#linkState {{ font-size: 15px; padding: 4px 8px; border-radius: 4px; }}
QLabel#sessionClock {{ font-size: 18px; color: {MUTED}; }}
QFrame#numericTile {{ background: {PANEL}; border-radius: 6px; }}
QLabel#tileTitle {{ font-size: 15px; font-weight: 600; }}
QLabel#tileUnit, QLabel#tileDetail {{ font-size: 13px; color: {MUTED}; }}
"""

#: The smallest point size a numeric's value may shrink to when space is short: still legible
#: from the nurse's desk across the room (about 24 px at 96 dpi).  Below it the rest of the
#: screen scrolls instead.
MIN_NUMERIC_PT = 18
