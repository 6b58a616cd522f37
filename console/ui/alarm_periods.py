"""Each physiological alarm's period on a chair's trends, kept whether or not its view exists.

Why apart from the chair's panel: with 16 chairs the window builds a chair's full view only
when it is first shown (issue 14: the first paint with 16 chairs took 4.4 s, 1.6 s of it
building views nobody had opened).  The shaded alarm periods on the trends are only known
from the alarm list as it changes, so a view built at minute 30 would have lost those of
minutes 0 to 30.  The window therefore keeps one :class:`AlarmPeriods` per chair from the start
and hands it to the view when it builds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from console.domain.alarm_rules import AlarmCategory
from console.services.chair_service import ChairService
from console.ui.vitals_plot import PLOT_OF_METRIC, AlarmPeriod


class AlarmPeriods:
    """The alarm periods of one chair's current session, in session minutes."""

    def __init__(self) -> None:
        self._periods: dict[tuple[str, datetime], AlarmPeriod] = {}
        self._session: tuple[int, int] = (-1, -1)

    def values(self) -> Iterable[AlarmPeriod]:
        """Every period of the session (ended, or up to now while on)."""
        return self._periods.values()

    def follow(self, svc: ChairService) -> None:
        """Catch up with ``svc``'s alarm list (idempotent: call on every alarm change).

        A new session starts with no period: the last patient's alarms never shade the next
        patient's trends (issue 11 item 2).
        """
        session = (svc.last_session_id or -1, id(svc.lifecycle))
        if session != self._session:
            self._session = session
            self._periods.clear()
        now_min = svc.session_seconds(svc.clock.now()) / 60.0
        listed: set[tuple[str, datetime]] = set()
        for a in svc.alarm_list:
            metric = a.metric or a.tile_metric
            if a.category is not AlarmCategory.PHYSIOLOGICAL or metric not in PLOT_OF_METRIC:
                continue
            ident = (a.key, a.onset)
            listed.add(ident)
            old = self._periods.get(ident)
            if old is None:
                old = AlarmPeriod(
                    a.key, metric, a.priority, svc.session_seconds(a.onset) / 60.0, None
                )
            priority = max(old.priority, a.priority)
            # A latched alarm whose condition ended: the period ends when that was first seen.
            end = old.end_min
            if end is None and not a.condition_active:
                end = now_min
            self._periods[ident] = AlarmPeriod(old.key, old.metric, priority, old.start_min, end)
        for ident, period in self._periods.items():
            if ident not in listed and period.end_min is None:
                self._periods[ident] = AlarmPeriod(
                    period.key, period.metric, period.priority, period.start_min, now_min
                )
