"""Where a chair's data go: its open record, the held spool while it has none, or nowhere.

One job of the chair, apart from its screen and its workflow (issue 13): the runner thread
hands readings, alarm transitions and technical events to :meth:`RecordKeeper.outputs`, the
GUI thread opens and ends records, and one lock makes the switch between records atomic for
both.  The console and the headless ``run`` use the same keeper, so what a run stores is
what the console would store.  Qt-free.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from console.domain.alarms import AlarmEvent, AlarmEventKind
from console.domain.pipeline import ChairOutputs
from console.storage.writer import (
    HELD_SESSION_ID,
    AdoptHeldItem,
    AlarmItem,
    HeldItem,
    Item,
    ProfileChangeItem,
    ReadingsItem,
    StorageWriter,
    TechnicalItem,
    worth_recording,
)
from devices.model import Reading, TechnicalEvent


class RecordKeeper:
    """One chair's way into the storage writer.

    Args:
        writer: the shared storage writer.
        chair: the chair's name (its held spool is named after it).
    """

    def __init__(self, writer: StorageWriter, chair: str) -> None:
        self.writer = writer
        self.chair = chair
        self._lock = threading.Lock()
        self._session_id: int | None = None
        self._last_session_id: int | None = None
        self._holding = False

    @property
    def session_id(self) -> int | None:
        """The record that takes the chair's data now (None: none is open)."""
        return self._session_id

    @property
    def last_session_id(self) -> int | None:
        """The newest record the chair wrote to (still set after it was closed)."""
        return self._last_session_id

    @property
    def holding(self) -> bool:
        """True while the chair waits for a record: its data go to the writer's held spool
        (journalled, so a crash meanwhile loses nothing; console.storage.held)."""
        return self._holding

    def submit(self, make: Callable[[int], Item]) -> None:
        """Queue an item for the open record; hold it while the chair waits for one; drop it
        when no record is open (after discharge the chair's data belong to nobody)."""
        with self._lock:
            sid = self._session_id
            if sid is not None:
                self.writer.submit(make(sid))
            elif self._holding:
                self.writer.submit(HeldItem(self.chair, make(HELD_SESSION_ID)))

    def hold(self) -> None:
        """The chair waits for its record (opening, or the resume question is open)."""
        with self._lock:
            if self._session_id is None:
                self._holding = True

    def adopt(self, session_id: int) -> None:
        """Record ``session_id`` takes the chair's data, first everything held for the chair
        (also by a run of the console that crashed while holding)."""
        with self._lock:
            self.writer.submit(AdoptHeldItem(self.chair, session_id))
            self._holding = False
            self._session_id = self._last_session_id = session_id

    def attach(self, session_id: int) -> None:
        """Record ``session_id`` takes the chair's data from now on, adopting nothing (the
        headless ``run``: a console's held data are not the run's)."""
        with self._lock:
            self._holding = False
            self._session_id = self._last_session_id = session_id

    def detach(self) -> None:
        """No record takes the chair's data any more (the record ended)."""
        with self._lock:
            self._session_id = None

    def outputs(self) -> ChairOutputs:
        """The pipeline's storage outputs (runner thread): readings, every alarm transition
        with its limit changes, and the technical events worth keeping."""

        def readings(rs: list[Reading]) -> None:
            batch = tuple(rs)
            self.submit(lambda sid: ReadingsItem(sid, batch))

        def alarms(evs: list[AlarmEvent]) -> None:
            for ev in evs:
                self.submit(_alarm_item(ev))
                if ev.kind is AlarmEventKind.PROFILE_CHANGED and ev.change is not None:
                    self.submit(_profile_item(ev))

        def technical(ev: TechnicalEvent) -> None:
            if worth_recording(ev):
                self.submit(lambda sid: TechnicalItem(sid, ev))

        return ChairOutputs(
            readings=readings, alarms=alarms, technical=technical, state=lambda s: None
        )


def _alarm_item(ev: AlarmEvent) -> Callable[[int], Item]:
    return lambda sid: AlarmItem(sid, ev)


def _profile_item(ev: AlarmEvent) -> Callable[[int], Item]:
    """The limit change an alarm event carries, as the profile-change row of the record."""
    c = ev.change
    assert c is not None
    old_json = json.dumps({"parameter": c.parameter, "setting": c.setting, "value": c.old})
    new_json = json.dumps(
        {"parameter": c.parameter, "setting": c.setting, "value": c.new, "profile": c.profile}
    )
    return lambda sid: ProfileChangeItem(
        at=c.at,
        actor=c.actor,
        reason=c.reason,
        old_json=old_json,
        new_json=new_json,
        session_id=sid,
    )
