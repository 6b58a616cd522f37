"""What a headless run sent, stored and lost, its technical episodes, and the rules of its verdict.

``run`` used to judge alarms only: a port that never opened, or a loaded machine that lost 15-41 %
of the readings with several communication-lost episodes, still "passed".  QA trusts the verdict,
so it now also checks the record, per parameter:

* ``sent``: readings the simulated monitor put on the wire (its bytes, decoded by a second
  instance of the production driver; corrupted frames the scenario scripted decode to nothing,
  and nothing is sent while the cable is pulled), or None for a real device;
* ``received``: readings the console decoded (valid or flagged invalid);
* ``stored``: rows in the database for this session;
* ``journaled``: readings not in the database but in the fsync'd journal file, written at the
  next start of ``run`` or of the console with this database;
* ``lost``: the rest (held in memory only when the journal could not take them, or never read).

The verdict fails when any sent (or, for a device, received) reading is not stored, when a
communication loss was not scripted, and when a device run received nothing at all.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from console.domain.alarm_technical import RECORDING_BEHIND
from console.storage.journal import Batch
from console.storage.schema import ReadingRow, SessionRow
from devices.base import Driver
from devices.clock import Clock
from devices.model import DeviceState, Reading, TechnicalEvent, TechnicalEventKind
from devices.simulator.scenario import Scenario

#: Technical conditions that are a loss of communication with the monitor.
COMM_LOSS = frozenset({"COMM_LOST", "LINK_DOWN"})
#: Scenario actions that explain a technical episode of each kind.
SCRIPTED_BY: dict[str, frozenset[str]] = {
    "COMM_LOST": frozenset({"unplug", "silence"}),
    "LINK_DOWN": frozenset({"unplug", "silence"}),
    "SENSOR_OFF": frozenset({"sensor_off"}),
    "INVALID_VALUE": frozenset({"flag", "sensor_off"}),
}
#: An episode starting this long after a scripted event ended is still the event's
#: (communication lost is declared 10 s after the last data; the link needs a moment back).
SCRIPTED_SLACK_S = 30.0


class WireTap:
    """Everything a simulator put on the wire, with the clock time (an endpoint ``tap``)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.chunks: list[tuple[datetime, bytes]] = []

    def __call__(self, chunk: bytes) -> None:
        with self._lock:
            self.chunks.append((self._clock.now(), chunk))

    def readings(self, driver_cls: type[Driver]) -> Counter[str]:
        """Readings per parameter in the tapped bytes, decoded by a fresh production driver."""
        driver = driver_cls()
        driver.handshake()  # the conversation state a connected host starts in
        counts: Counter[str] = Counter()
        with self._lock:
            chunks = list(self.chunks)
        for at, chunk in chunks:
            for reading in driver.feed(chunk, at).readings:
                counts[reading.metric.value] += 1
        return counts


@dataclass
class Episode:
    """A technical condition from start to end, in session seconds."""

    kind: str
    start_s: float
    detail: str
    end_s: float | None = None
    scripted: bool = False

    def as_json(self) -> dict[str, Any]:
        """The summary's form."""
        return {
            "kind": self.kind,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "detail": self.detail,
            "scripted": self.scripted,
        }


class EpisodeLog:
    """Link and storage episodes of a run (called from the runner and writer threads)."""

    def __init__(self, clock: Clock, session_start: datetime) -> None:
        self._clock = clock
        self._start = session_start
        self._lock = threading.Lock()
        self.episodes: list[Episode] = []
        self._open: dict[str, Episode] = {}

    def _s(self, at: datetime) -> float:
        return round((at - self._start).total_seconds(), 1)

    def _begin(self, kind: str, at: datetime, detail: str) -> None:
        with self._lock:
            if kind not in self._open:
                episode = Episode(kind, self._s(at), detail)
                self.episodes.append(episode)
                self._open[kind] = episode

    def _end(self, kind: str, at: datetime) -> None:
        with self._lock:
            episode = self._open.pop(kind, None)
            if episode is not None:
                episode.end_s = self._s(at)

    # -- pipeline outputs (runner thread) ---------------------------------------------------
    def on_readings(self, readings: list[Reading]) -> None:
        """Data again: a link episode is over."""
        if readings and "LINK_DOWN" in self._open:
            self._end("LINK_DOWN", max(r.received_at for r in readings))

    def on_technical(self, event: TechnicalEvent) -> None:
        """A disconnected or quiet link starts a LINK_DOWN episode."""
        if event.kind in (TechnicalEventKind.DISCONNECTED, TechnicalEventKind.QUIET):
            self._begin("LINK_DOWN", event.at, f"{event.kind.value}: {event.detail}")

    def on_state(self, state: DeviceState) -> None:
        """Not used: the technical events carry the times."""
        del state

    # -- storage writer status (writer thread) ----------------------------------------------
    def on_storage(self, healthy: bool, detail: str) -> None:
        """The database became unavailable, or the record fell behind (an episode starts, each
        of its own kind, as the console's alarms), or all is well again."""
        now = self._clock.now()
        behind = not healthy and detail.startswith(RECORDING_BEHIND)
        for kind, present in (
            ("STORAGE_UNAVAILABLE", not healthy and not behind),
            ("STORAGE_BEHIND", behind),
        ):
            if present:
                self._begin(kind, now, detail)
            else:
                self._end(kind, now)


def mark_scripted(
    episodes: Iterable[Episode], scenario: Scenario | None, silent_from_s: float | None = None
) -> None:
    """Mark the episodes that the scenario's own events explain (see :data:`SCRIPTED_BY`).

    A condition the scenario expects (``[[expect]] parameter = "COMM_LOST"``) counts as scripted
    only inside such a window too: an expectation is not a licence to lose the link at any time.

    Args:
        episodes: marked in place.
        scenario: the scenario played (None: a device run, where nothing is scripted).
        silent_from_s: session time after which the simulated monitor has nothing left to send
            (the end of a replayed recording): the silence after it is the scenario's too.
    """
    if scenario is None:
        return
    for ep in episodes:
        actions = SCRIPTED_BY.get(ep.kind, frozenset())
        windows = [
            (ev.at_s, ev.at_s + ev.duration_s + SCRIPTED_SLACK_S)
            for ev in scenario.events
            if ev.action in actions
        ]
        if silent_from_s is not None and ep.kind in COMM_LOSS:
            windows.append((silent_from_s, math.inf))
        ep.scripted = any(lo <= ep.start_s <= hi for lo, hi in windows)


def alarm_episodes(alarms: Iterable[Any]) -> list[Episode]:
    """Technical alarms (``AlarmRecord`` with category technical) as episodes."""
    return [
        Episode(a.parameter, a.onset_s, a.message, a.end_s)
        for a in alarms
        if a.category == "technical"
    ]


# -- the record ------------------------------------------------------------------------------
def stored_counts(engine: Engine, session_id: int) -> tuple[Counter[str] | None, bool]:
    """Readings per parameter in the database and whether ``ended_at`` is set.

    Returns ``(None, False)`` when the database cannot be read (it is down).
    """
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ReadingRow.parameter, func.count())
                .where(ReadingRow.session_id == session_id)
                .group_by(ReadingRow.parameter)
            ).all()
            ended = conn.scalar(select(SessionRow.ended_at).where(SessionRow.id == session_id))
    except SQLAlchemyError:
        return None, False
    return Counter({str(p): int(n) for p, n in rows}), ended is not None


def batch_readings(batches: Iterable[Batch], session_id: int) -> tuple[Counter[str], bool]:
    """Readings per parameter of ``session_id`` in ``batches``, and whether its end is there."""
    counts: Counter[str] = Counter()
    ended = False
    for batch in batches:
        for name, payload in batch.ops:
            if payload.get("session_id") != session_id:
                continue
            if name == "reading":
                counts[str(payload["parameter"])] += 1
            elif name == "session_end":
                ended = True
    return counts, ended


def record_table(
    sent: Counter[str] | None,
    received: Counter[str],
    stored: Counter[str],
    journaled: Counter[str],
) -> dict[str, dict[str, int | None]]:
    """Per parameter: sent, received, stored, journaled and lost (see the module)."""
    params = sorted(set(sent or ()) | set(received) | set(stored) | set(journaled))
    table: dict[str, dict[str, int | None]] = {}
    for p in params:
        origin = sent[p] if sent is not None else received[p]
        table[p] = {
            "sent": None if sent is None else sent[p],
            "received": received[p],
            "stored": stored[p],
            "journaled": journaled[p],
            "lost": max(0, origin - stored[p] - journaled[p]),
        }
    return table


def record_failures(
    record: dict[str, dict[str, int | None]],
    episodes: Sequence[Episode],
    *,
    simulated: bool,
    journal: str | None,
) -> list[str]:
    """Why the record fails the run, one line each (empty: it passes)."""
    reasons: list[str] = []
    if not simulated and not any(row["received"] for row in record.values()):
        reasons.append("no reading was received from the device")
    lost = {p: row["lost"] for p, row in record.items() if row["lost"]}
    if lost:
        what = ", ".join(f"{p} {n}" for p, n in lost.items())
        reasons.append(f"readings lost (not stored, not journaled): {what}")
    kept = {p: row["journaled"] for p, row in record.items() if row["journaled"]}
    if kept:
        what = ", ".join(f"{p} {n}" for p, n in kept.items())
        reasons.append(
            f"readings not in the database: {what}; kept in the journal {journal}, written at "
            "the next start of `run` or the console with this database"
        )
    for ep in episodes:
        if ep.kind in COMM_LOSS and not ep.scripted:
            end = "not ended" if ep.end_s is None else f"to {ep.end_s:.0f} s"
            reasons.append(
                f"unscripted communication loss {ep.kind} at {ep.start_s:.0f} s ({end}): "
                f"{ep.detail}"
            )
    return reasons
