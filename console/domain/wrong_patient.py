"""The "data for another patient on this chair" technical alarm (issue 12 item 11).

An HL7 gateway serves a whole unit; a message whose PID-3 names another patient than the
chair's open session is refused by the driver (its readings are not applied) and reported as a
``WRONG_PATIENT`` technical event.  The condition is active from the first such message and
ends :data:`HOLD_S` after the last one: a gateway that keeps sending the other patient's data
keeps it up, and one stray message is still seen and recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

#: How long after the last wrong-patient message the condition ends.
HOLD_S: Final = 60.0
MESSAGE: Final = "Data for another patient on this chair (not applied): check the gateway's bed"
END_MESSAGE: Final = "No more data for another patient on this chair"


class WrongPatientWatch:
    """When the condition started and whether it is still active."""

    def __init__(self) -> None:
        self._since: datetime | None = None
        self._last: datetime | None = None

    def note(self, at: datetime) -> None:
        """A wrong-patient message arrived at ``at``."""
        if self._since is None:
            self._since = at
        self._last = at if self._last is None else max(self._last, at)

    def active_since(self, now: datetime) -> datetime | None:
        """Start of the active episode at ``now``, None when there is none (then it resets)."""
        if self._last is not None and now - self._last >= timedelta(seconds=HOLD_S):
            self._since = self._last = None
        return self._since
