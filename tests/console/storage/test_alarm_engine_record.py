"""The alarm engine's events reach the record: every kind in alarm_log, technical alarms,
latched alarms closed when cleared, who acted, and limit changes."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine

from console.domain.alarm_rules import Direction, Priority
from console.storage.repository import SessionRepository
from console.storage.writer import AlarmItem, ProfileChangeItem, StorageWriter
from devices.model import Metric
from tests.console.domain.alarm_script import T0, apply, at, every, make_engine, play, ticks


def test_engine_events_are_stored(engine: Engine) -> None:
    repo = SessionRepository(engine)
    repo.ensure_schema()
    sid = repo.create_session(chair="Chair 1", started_at=T0, simulated=True, device_kind="sim")
    alarms = make_engine()
    # A desaturation that latches, a silence long enough to lose the monitor, a pause, the
    # acknowledgement that clears the latched alarm, and a limit change.
    steps = [*every(Metric.SPO2, 86, 0, 10), (11, "r", Metric.SPO2, 97), *ticks(12, 25)]
    events = []
    for step in steps:
        events += apply(alarms, step)
    events += alarms.pause_audio("nurse.a", at(26))
    events += alarms.acknowledge("SPO2:low", "nurse.a", at(27))
    events += alarms.override_limit(
        Metric.HR, Direction.HIGH, Priority.MEDIUM, 120, actor="dr.b", reason="athlete", now=at(28)
    )
    writer = StorageWriter(engine)
    writer.start()
    try:
        for ev in events:
            writer.submit(AlarmItem(sid, ev))
            if ev.change is not None:
                writer.submit(
                    ProfileChangeItem(
                        at=ev.at,
                        actor=ev.change.actor,
                        reason=ev.change.reason,
                        old_json=json.dumps({"value": ev.change.old}),
                        new_json=json.dumps({"value": ev.change.new}),
                        session_id=sid,
                    )
                )
        assert writer.flush()
    finally:
        writer.stop()

    log = repo.alarm_log(sid)
    assert [(r.condition, r.kind) for r in log] == [(e.key, e.kind.value) for e in events]
    by_kind = {r.kind: r for r in log}
    assert by_kind["audio_paused"].priority == "medium"  # what it silenced: comm lost
    assert by_kind["profile_changed"].priority == ""
    assert by_kind["audio_paused"].actor == "nurse.a"
    assert by_kind["acknowledged"].actor == "nurse.a"
    assert by_kind["profile_changed"].actor == "dr.b"

    stored = {a.condition: a for a in repo.alarms(sid)}
    spo2 = stored["SPO2:low"]
    assert (spo2.parameter, spo2.priority) == ("SPO2", "high")
    assert spo2.onset_at == at(5)
    assert spo2.ended_at == at(27)  # cleared by the acknowledgement; the log has the latch time
    comm = stored["comm_lost"]
    assert comm.parameter == "comm_lost"
    assert comm.onset_at == at(21)  # last data at 11 s + 10 s
    assert comm.ended_at is None
    (change,) = repo.profile_changes(sid)
    assert change["actor"] == "dr.b"
    assert json.loads(change["new_json"]) == {"value": "> 120 for 30 s, medium"}


def test_the_run_of_events_is_what_play_reports() -> None:
    seen = play([*every(Metric.SPO2, 86, 0, 10), (11, "r", Metric.SPO2, 97)], keys=["SPO2:low"])
    assert [k for _t, k, _key, _p in seen] == ["onset", "latched"]
