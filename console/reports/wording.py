"""Stored machine records said in words, for the printed documents.

A limit change is stored as two JSON objects (``old_json``/``new_json``, written by
console.services.record_keeper from a :class:`~console.domain.alarm_events.LimitChange`).  The
report printed them as ``parameter=NIBP_SYS, setting=high medium, value=180``, which a reader
who did not write the code cannot read (issue 17); these functions turn them into a sentence.
"""

from __future__ import annotations

import json
from typing import Any

from console.domain.review import PARAMETER_LABELS

#: Timing settings (``alarms`` changes) by their stored field name.
SETTING_WORDS: dict[str, str] = {
    "nibp_confirm_window_s": "NIBP confirmation window",
    "escalate_unanswered_s": "escalation of an unanswered alarm after",
    "audio_pause_s": "audio pause",
    "latch_high": "high-priority alarms latch",
    "comm_lost_after_s": "communication-lost alarm after",
    "comm_lost_escalate_s": "communication-lost escalation after",
    "sensor_off_after_s": "sensor-off alarm after",
    "nibp_overdue_grace_s": "NIBP-overdue grace",
    "nibp_overdue_recovery_s": "NIBP-overdue during recovery after",
}


def _load(raw: str) -> dict[str, Any] | None:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _value(setting: str, value: object) -> str:
    if value is None:
        return "(none)"
    text = str(value)
    if setting.endswith("_s") and text.replace(".", "", 1).isdigit():
        return f"{text} s"
    return text


def _setting(raw: str) -> str:
    if raw in SETTING_WORDS:
        return SETTING_WORDS[raw]
    return raw.replace("_", " ")


def limit_change_words(old_json: str, new_json: str) -> str:
    """One stored limit change as a sentence.

    ``SBP high limit, medium changed from 180 to 170 (profile "clinic default")``; a tier added
    or removed says so.  A record that is not the expected JSON is quoted as it is, so nothing
    stored is ever hidden.
    """
    old, new = _load(old_json), _load(new_json)
    if old is None or new is None:
        return f"(unreadable change record) was: {old_json!r}; now: {new_json!r}"
    parameter = str(new.get("parameter") or old.get("parameter") or "")
    setting = str(new.get("setting") or old.get("setting") or "")
    who = "Alarm setting" if parameter == "alarms" else PARAMETER_LABELS.get(parameter, parameter)
    what = f"{who} {_setting(setting)}".strip()
    before, after = old.get("value"), new.get("value")
    if before is None and after is not None:
        text = f"{what} added: {_value(setting, after)}"
    elif after is None and before is not None:
        text = f"{what} removed (was {_value(setting, before)})"
    else:
        text = f"{what} changed from {_value(setting, before)} to {_value(setting, after)}"
    profile = new.get("profile")
    if profile:
        text += f' (profile "{profile}")'
    return text
