"""Where an accelerated simulated console's clock starts, so a resumed record runs forward.

Issue 11 item 11.  A simulated chair runs on a clock ``speed`` times faster than real time that
starts at the real "now" when the console starts.  A session recorded at x300 therefore lies
ahead of the real time, and after a restart the new clock was *behind* the record: the resume
was refused ("its last step lies ahead of this clock"), or, where it went through, the stored
gap ran backwards in time and the infusion clock restarted from zero.

The clock must continue from the stored elapsed time instead.  Before the chairs start, the
console looks for the newest stored time (reading or event) of the unfinished sessions of its
simulated chairs; if it lies ahead of now, the shared simulated clock starts there.  The resume
then adds a gap that runs forward (last stored time to the restart) and the infusion goes on
from its stored start.  Real monitors always run on the system clock and are never moved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.exc import DBAPIError, OperationalError

from console.config import Settings
from console.storage.repository import SessionRepository

log = logging.getLogger("console")


def simulated_clock_start(
    repository: SessionRepository, chairs: Iterable[Settings], now: datetime
) -> datetime | None:
    """The newest stored time of the simulated chairs' unfinished sessions, if after ``now``.

    None when nothing lies ahead (or the database cannot be read: the chairs then ask about
    resuming once it can, and an accelerated record that is still ahead is refused as before).
    """
    latest: datetime | None = None
    try:
        for settings in chairs:
            if not settings.device.simulated:
                continue
            for summary in repository.unfinished_sessions(settings.chair_name):
                last = repository.last_stored_at(summary.id)
                if last is not None and last > now and (latest is None or last > latest):
                    latest = last
    except (OperationalError, DBAPIError) as err:
        log.info("resumable simulated sessions not checked: %s", err)
        return None
    if latest is not None:
        log.info("simulated clock starts at %s, where the unfinished record ends", latest)
    return latest


__all__ = ["simulated_clock_start"]
