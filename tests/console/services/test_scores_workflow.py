"""Structured scores through the session workflow (issue 17), without Qt.

The workflow is the real one with the fake chair of test_session_workflow; what it submits to
the writer is then stored by the production write path and read back, so the events table's
``kind``/``score``/``text``/``data`` carry the scale and time point (no migration needed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.domain.observations import PointState
from console.domain.session import EventKind, IllegalTransitionError, SessionRuleError
from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.repository import SessionRepository
from console.storage.writer import SessionEventItem, apply_ops, item_ops
from tests.console.services.test_session_workflow import (
    NURSE,
    _advance,
    _Chair,
    _cuff,
    _plan,
    chair,
)

__all__ = ["chair"]  # the fixture, shared with test_session_workflow


def test_scores_are_structured_events_on_the_annotate_path(chair: _Chair) -> None:
    flow = chair.workflow
    with pytest.raises(IllegalTransitionError, match="no patient session"):
        flow.record_scores({"MOAA/S": 5}, NURSE, time_point="baseline")
    sid = flow.new_session(_plan(), user=NURSE)
    due = flow.due_observation()
    assert due is not None
    assert (due.point.label, due.state) == ("baseline", PointState.DUE)
    events = flow.record_scores(
        {"MOAA/S": 5, "CADSS-6": 0, "nausea": 1, "PHQ-9": 17}, NURSE, time_point="baseline"
    )
    assert [(e.kind, e.score, e.text, e.data) for e in events] == [
        (EventKind.SEDATION, 5.0, "MOAA/S", {"scale": "MOAA/S", "time_point": "baseline"}),
        (EventKind.DISSOCIATION, 0.0, "CADSS-6", {"scale": "CADSS-6", "time_point": "baseline"}),
        (EventKind.NAUSEA, 1.0, "nausea", {"scale": "nausea", "time_point": "baseline"}),
        (EventKind.OUTCOME_SCORE, 17.0, "PHQ-9", {"scale": "PHQ-9", "time_point": "baseline"}),
    ]
    assert chair.writer.events(sid)[-4:] == events  # submitted to the writer, not stored here
    assert chair.host.shown[-4:] == events
    assert flow.due_observation() is None  # baseline done; 20 min waits for the infusion
    points = {p.point.label: p.state for p in flow.observation_points()}
    assert points["baseline"] is PointState.DONE
    assert points["20 min"] is PointState.WAITING

    _cuff(chair, 122.0, 78.0)
    flow.start_infusion(NURSE)
    _advance(chair, 26)
    due = flow.due_observation()
    assert due is not None
    assert (due.point.label, due.state) == ("20 min", PointState.OVERDUE)


def test_a_bad_score_refuses_the_whole_entry(chair: _Chair) -> None:
    flow = chair.workflow
    sid = flow.new_session(_plan(), user=NURSE)
    before = list(chair.writer.events(sid))
    for scores, point, message in (
        ({"MOAA/S": 3, "CADSS-6": 25}, "baseline", "CADSS-6 must be a whole number 0-24, got 25"),
        ({"MOAA/S": 3}, "45 min", "unknown time point '45 min'"),
        ({"RASS": 0}, "baseline", "unknown scale 'RASS'"),
        ({}, "baseline", "enter at least one score"),
    ):
        with pytest.raises(SessionRuleError, match=message):
            flow.record_scores(scores, NURSE, time_point=point)
    assert chair.writer.events(sid) == before  # nothing half-recorded
    assert flow.lifecycle.events[-1].kind != EventKind.SEDATION


def test_scores_round_trip_through_storage_and_rebuild_the_prompts(
    chair: _Chair, tmp_path: Path
) -> None:
    flow = chair.workflow
    sid = flow.new_session(_plan(), user=NURSE)
    flow.record_scores({"MOAA/S": 4, "CADSS-6": 9, "nausea": 3}, NURSE, time_point="baseline")
    flow.record_scores({"MADRS": 31}, NURSE)  # outside the schedule
    engine = make_engine(f"sqlite:///{tmp_path / 'scores.sqlite3'}")
    try:
        upgrade_to_head(engine)
        repo = SessionRepository(engine)
        stored_id = repo.create_session(
            chair="Chair 1",
            started_at=flow.lifecycle.events[0].at,
            simulated=True,
            device_kind="sim",
            device_url="",
        )
        with engine.begin() as conn:
            for item in chair.writer.items:
                if isinstance(item, SessionEventItem) and item.session_id == sid:
                    apply_ops(conn, item_ops(SessionEventItem(stored_id, item.event)))
        back = repo.events(stored_id)
        assert back == chair.writer.events(sid)  # every field, data included
        scored = [
            (e.data["scale"], e.score, e.data["time_point"]) for e in back if "scale" in e.data
        ]
        assert ("CADSS-6", 9.0, "baseline") in scored
        assert ("MADRS", 31.0, "unscheduled") in scored
        rebuilt = repo.lifecycle(stored_id, flow.policy)
        states = flow.observations.status(
            rebuilt.events, observation_min=flow.policy.observation_min, now=chair.clock.now()
        )
        assert states[0].state is PointState.DONE  # a resumed session does not ask again
    finally:
        engine.dispose()
