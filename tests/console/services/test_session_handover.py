"""session_handover: a chair passes to the next patient without carrying anything over."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from console.domain.alarm_events import AlarmEvent, AlarmEventKind
from console.domain.pipeline import ChairOutputs, ChairPipeline
from console.services.session_handover import SESSION_ENDED, hand_over, start_clean
from devices.model import Metric, Reading
from tests.console.domain.alarm_script import DEFAULT_PROFILE, T0, at, reading


@dataclass
class _Screen:
    alarm_log: deque[str] = field(default_factory=deque)
    latest: dict[Any, Any] = field(default_factory=dict)
    last_nibp_at: datetime | None = None
    nibp_requested_at: datetime | None = None


def test_start_clean_forgets_what_the_screen_showed_of_the_last_patient() -> None:
    screen = _Screen(deque(["SpO2 low"]), {Metric.HR: 72}, at(60), at(90))
    start_clean(screen)
    assert (list(screen.alarm_log), screen.latest) == ([], {})
    assert (screen.last_nibp_at, screen.nibp_requested_at) == (None, None)
    start_clean(screen)  # twice is harmless
    assert not screen.alarm_log


class _Record:
    """Where the pipeline's alarm events are written: one list per session record."""

    def __init__(self) -> None:
        self.sessions: dict[str, list[AlarmEvent]] = {"A": []}
        self.current = "A"

    def outputs(self) -> ChairOutputs:
        def alarms(events: list[AlarmEvent]) -> None:
            self.sessions[self.current].extend(events)

        def ignore(_item: object) -> None:
            pass

        def readings(_items: list[Reading]) -> None:
            pass

        return ChairOutputs(readings, alarms, ignore, ignore)


def test_hand_over_ends_the_alarm_in_the_old_record_and_starts_the_new_one_clean() -> None:
    record = _Record()
    pipeline = ChairPipeline(
        DEFAULT_PROFILE, [record.outputs()], started_at=T0, min_silence_real_s=0.0
    )
    for t in range(0, 11):  # SpO2 86 for 10 s: a low-SpO2 alarm in session A
        pipeline.on_readings([reading(Metric.SPO2, 86, t)])
    assert [e.key for e in record.sessions["A"]] == ["SPO2:low"]
    switched_at: list[datetime] = []

    def switch(when: datetime) -> None:
        switched_at.append(when)
        record.current = "B"
        record.sessions["B"] = []

    events = hand_over(pipeline, DEFAULT_PROFILE, at(20), switch, user="rn.kim")

    assert switched_at == [at(20)]
    ended = [e for e in record.sessions["A"] if e.kind is AlarmEventKind.END]
    assert [e.key for e in ended] == ["SPO2:low"]
    assert all(e.at == at(20) for e in ended)
    assert all(e.message.endswith(f"closed, {SESSION_ENDED}") for e in ended)
    # Nothing of session A lands in session B; a condition that still holds (no data for 10 s
    # by now) is raised again, into the new record.
    assert [(e.key, e.kind) for e in record.sessions["B"]] == [("comm_lost", AlarmEventKind.ONSET)]
    assert [a.key for a in pipeline.snapshot().alarms] == ["comm_lost"]
    assert events == record.sessions["A"][1:] + record.sessions["B"]  # all returned, in order
