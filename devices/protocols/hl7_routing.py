"""Which chair an HL7 message is for: its bed location (PV1-3) and its message type (MSH-9).

A vital-signs gateway usually serves a whole unit: every message names the bed in PV1-3
(``point of care^room^bed``, e.g. ``INFUSION^BAY3^1``, protocols.md 4.2).  A chair bound to a
location takes only the messages of its bed, so several chairs can each connect to the same
gateway port.  A binding names the components it cares about: ``INFUSION^BAY3^1`` one bed,
``INFUSION^BAY3`` every bed of the room, ``^^1`` bed 1 of any unit; an empty component matches
anything.  An empty binding takes every message.

Kept out of :mod:`devices.protocols.hl7_pcd01` (already over 1,000 lines): this reads the raw
message text, needing only the field and component separators from MSH.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

#: Message types whose observations are applied unless configured otherwise (IHE PCD-01).
DEFAULT_ACCEPTED_TYPES: Final = ("ORU^R01",)


def pv1_location(message: bytes) -> str | None:
    """PV1-3 of ``message`` exactly as sent (components intact), None without a PV1 segment."""
    text = message.decode("utf-8", errors="replace")
    if not text.startswith("MSH") or len(text) < 8:
        return None
    field_sep = text[3]
    for segment in text.replace("\n", "\r").split("\r"):
        if segment.startswith("PV1" + field_sep):
            fields = segment.split(field_sep)
            return fields[3] if len(fields) > 3 else ""
    return None


def location_matches(binding: str, location: str | None, component_sep: str = "^") -> bool:
    """True when a message at ``location`` (PV1-3) belongs to a chair bound to ``binding``.

    A message without PV1 (``location`` None) matches only the empty binding: a chair bound to
    a bed must not take data that does not say where it comes from.
    """
    if not binding:
        return True
    if location is None:
        return False
    wanted = binding.split("^")
    got = location.split(component_sep)
    for i, part in enumerate(wanted):
        if part and (i >= len(got) or got[i].strip().casefold() != part.strip().casefold()):
            return False
    return True


def type_accepted(message_type: str, trigger: str, accepted: Iterable[str]) -> bool:
    """True when MSH-9 ``message_type^trigger`` is one of ``accepted`` (``ORU^R01``).

    An accepted entry without a trigger (``ORU``) accepts every trigger of that type.
    """
    for entry in accepted:
        kind, _, event = entry.upper().partition("^")
        if kind == message_type.upper() and (not event or event == trigger.upper()):
            return True
    return False
