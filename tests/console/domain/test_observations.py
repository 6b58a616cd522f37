"""The timed observation schedule (issue 17): defaults, configured points and the IV phases.

Times are built with the real session lifecycle (no clock): a point's state follows the
stored timeline, so these tests feed the lifecycle's own events.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from console.config import ConfigError, load
from console.domain.observations import (
    Anchor,
    ObservationSchedule,
    PointState,
    TimePoint,
    extreme_scores,
    outcome_scores,
    recorded_scales,
    scale_of,
    score_label,
    shows_effect,
)
from console.domain.session import (
    BaselineVitals,
    EventKind,
    SessionEvent,
    SessionLifecycle,
    SessionPolicy,
    SessionRuleError,
)

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
OBS_MIN = 30.0


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _session(start_min: float = 5.0) -> SessionLifecycle:
    """A planned session at T0 with a clear baseline, infusion started at ``start_min``."""
    life = SessionLifecycle(SessionPolicy(observation_min=OBS_MIN))
    life.plan_infusion(
        T0,
        weight_kg=70,
        weight_measured_on=date(2026, 12, 1),
        dose_mg_per_kg=0.5,
        rate_ml_per_h=150,
    )
    life.record_baseline(BaselineVitals(_at(1), 122, 78, 70, 98))
    life.start_infusion(_at(start_min), author="rn")
    return life


def _states(
    schedule: ObservationSchedule, events: list[SessionEvent], now_min: float
) -> dict[str, tuple[PointState, float | None]]:
    out = {}
    for s in schedule.status(events, observation_min=OBS_MIN, now=_at(now_min)):
        due = None if s.due_at is None else (s.due_at - T0).total_seconds() / 60.0
        out[s.point.label] = (s.state, due)
    return out


def _score(life: SessionLifecycle, at_min: float, point: str, **scores: float) -> None:
    for name, value in scores.items():
        scale = scale_of({"moaas": "MOAA/S", "cadss": "CADSS-6"}.get(name, name))
        life.annotate(
            scale.kind,
            _at(at_min),
            author="rn",
            text=scale.name,
            score=scale.check(value),
            data={"scale": scale.name, "time_point": point},
        )


def test_default_schedule_is_the_issue_s_five_points() -> None:
    schedule = ObservationSchedule()
    assert [(p.label, p.anchor, p.offset_min) for p in schedule.points] == [
        ("baseline", Anchor.SESSION_START, 0.0),
        ("20 min", Anchor.INFUSION_START, 20.0),
        ("40 min", Anchor.INFUSION_START, 40.0),
        ("end of infusion", Anchor.INFUSION_END, 0.0),
        ("pre-discharge", Anchor.OBSERVATION_END, 0.0),
    ]
    assert schedule.scales == ("MOAA/S", "CADSS-6", "nausea")
    # The shipped configuration file says the same as the code's defaults.
    assert load(environ={}).observations == schedule


def test_states_follow_the_clock_and_the_entries() -> None:
    schedule = ObservationSchedule()
    life = _session(start_min=5)
    states = _states(schedule, life.events, now_min=2)
    assert states["baseline"] == (PointState.DUE, 0.0)
    assert states["20 min"] == (PointState.UPCOMING, 25.0)
    assert states["40 min"] == (PointState.UPCOMING, 45.0)
    assert states["end of infusion"] == (PointState.WAITING, None)  # the pump still runs
    assert states["pre-discharge"] == (PointState.WAITING, None)
    assert _states(schedule, life.events, now_min=6)["baseline"][0] is PointState.OVERDUE
    # Two of three scales are not enough: the point stays open, naming what is missing.
    _score(life, 6, "baseline", moaas=5, cadss=0)
    (base,) = [
        s
        for s in schedule.status(life.events, observation_min=OBS_MIN, now=_at(7))
        if s.point.label == "baseline"
    ]
    assert (base.state, base.missing) == (PointState.OVERDUE, ("nausea",))
    _score(life, 7, "baseline", nausea=0)
    assert _states(schedule, life.events, now_min=7)["baseline"][0] is PointState.DONE
    assert _states(schedule, life.events, now_min=25)["20 min"][0] is PointState.DUE
    assert _states(schedule, life.events, now_min=30.5)["20 min"][0] is PointState.OVERDUE


def test_current_prefers_the_oldest_open_point_then_one_about_to_come() -> None:
    schedule = ObservationSchedule()
    life = _session(start_min=5)
    _score(life, 1, "baseline", moaas=5, cadss=0, nausea=0)
    assert schedule.current(life.events, observation_min=OBS_MIN, now=_at(10)) is None
    soon = schedule.current(life.events, observation_min=OBS_MIN, now=_at(21))
    assert soon is not None
    assert (soon.point.label, soon.state) == ("20 min", PointState.UPCOMING)
    late = schedule.current(life.events, observation_min=OBS_MIN, now=_at(46))
    assert late is not None
    assert (late.point.label, late.state) == ("20 min", PointState.OVERDUE)  # oldest first


def test_iv_phases_pause_early_stop_end_and_pre_discharge() -> None:
    """A pause does not move the points (they are wall-clock minutes from the start); an
    early stop skips the points after it and starts the end-of-infusion and pre-discharge
    clocks."""
    schedule = ObservationSchedule()
    life = _session(start_min=5)
    life.pause_infusion(_at(15), author="rn", reason="dissociation")
    life.resume_infusion(_at(20), author="rn")
    assert _states(schedule, life.events, now_min=26)["20 min"] == (PointState.DUE, 25.0)
    life.stop_infusion(_at(35), author="rn", reason="BP above limit")
    states = _states(schedule, life.events, now_min=36)
    assert states["40 min"] == (PointState.SKIPPED, 45.0)
    assert states["end of infusion"] == (PointState.DUE, 35.0)
    assert states["pre-discharge"] == (PointState.UPCOMING, 35.0 + OBS_MIN)
    assert _states(schedule, life.events, now_min=66)["pre-discharge"][0] is PointState.DUE
    # A point scored although skipped is done, not skipped (the record wins).
    _score(life, 36, "40 min", moaas=4, cadss=3, nausea=1)
    assert _states(schedule, life.events, now_min=36)["40 min"][0] is PointState.DONE


def test_a_resumed_session_keeps_its_anchors() -> None:
    """Interrupted/resumed markers are not the session's start (the record is rebuilt)."""
    life = _session(start_min=5)
    resumed = SessionEvent(kind=EventKind.RESUMED.value, at=_at(-10), text="resumed")
    states = _states(ObservationSchedule(), [resumed, *life.events], now_min=2)
    assert states["baseline"] == (PointState.DUE, 0.0)


def test_a_configured_schedule(tmp_path: Path) -> None:
    user = tmp_path / "clinic.toml"
    user.write_text(
        "[observations]\n"
        'scales = ["MOAA/S", "CADSS-6"]\n'
        "overdue_after_min = 10\n"
        "[[observations.points]]\n"
        'label = "pre-dose"\nanchor = "session_start"\noffset_min = 0\n'
        "[[observations.points]]\n"
        'label = "30 min"\nanchor = "infusion_start"\noffset_min = 30\n'
        "[[observations.points]]\n"
        'label = "2 h (Spravato)"\nanchor = "infusion_start"\noffset_min = 120\n'
    )
    schedule = load(user, environ={}).observations
    assert [p.label for p in schedule.points] == ["pre-dose", "30 min", "2 h (Spravato)"]
    assert schedule.scales == ("MOAA/S", "CADSS-6")
    life = _session(start_min=5)
    _score(life, 1, "pre-dose", moaas=5, cadss=0)  # no nausea asked: done
    states = _states(schedule, life.events, now_min=44)
    assert states["pre-dose"][0] is PointState.DONE
    assert states["30 min"] == (PointState.DUE, 35.0)  # 10 min before overdue
    assert states["2 h (Spravato)"] == (PointState.UPCOMING, 125.0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('scales = ["RASS"]', "[observations] scales 'RASS' is not one of MOAA/S, CADSS-6, nausea"),
        ("scales = []", "[observations] scales must not be empty"),
        ("overdue_after_min = 0", "overdue_after_min must be 1-120 min"),
        ("overdue_min = 5", "unknown key 'overdue_min' (did you mean 'overdue_after_min'?)"),
        ('overdue_after_min = "5"', "overdue_after_min must be float"),
        (
            '[[observations.points]]\nlabel = "x"\nanchor = "infusion"\n',
            "[observations] points[0] anchor 'infusion' is not one of session_start",
        ),
        (
            '[[observations.points]]\nlabel = "x"\nanchor = "infusion_start"\nofset_min = 5\n',
            "points[0] unknown key 'ofset_min'",
        ),
        (
            '[[observations.points]]\nlabel = "a"\nanchor = "infusion_start"\n'
            '[[observations.points]]\nlabel = "a"\nanchor = "infusion_end"\n',
            "time point labels must be unique",
        ),
    ],
)
def test_a_bad_configuration_is_one_clear_line(tmp_path: Path, body: str, message: str) -> None:
    user = tmp_path / "bad.toml"
    user.write_text(f"[observations]\n{body}\n")
    with pytest.raises(ConfigError) as err:
        load(user, environ={})
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("[observations]")


def test_scales_check_their_ranges() -> None:
    assert scale_of("MOAA/S").check(5) == 5.0
    with pytest.raises(SessionRuleError, match="MOAA/S must be a whole number 0-5, got 6"):
        scale_of("MOAA/S").check(6)
    with pytest.raises(SessionRuleError, match="CADSS-6 must be a whole number 0-24"):
        scale_of("CADSS-6").check(2.5)
    assert scale_of("MADRS").check(60) == 60.0
    with pytest.raises(SessionRuleError, match="unknown scale 'RASS'"):
        scale_of("RASS")


def test_what_the_review_reads_from_the_scores() -> None:
    life = _session(start_min=5)
    life.annotate(
        EventKind.OUTCOME_SCORE,
        _at(1),
        author="rn",
        text="PHQ-9",
        score=14.0,
        data={"scale": "PHQ-9", "time_point": "baseline"},
    )
    _score(life, 1, "baseline", moaas=5, cadss=0, nausea=0)
    _score(life, 25, "20 min", moaas=3, cadss=12, nausea=2)
    _score(life, 45, "40 min", moaas=4, cadss=6, nausea=4)
    life.annotate(EventKind.NAUSEA, _at(30), author="rn", text="vomited once")
    events = life.events
    assert outcome_scores(events) == {"PHQ-9": 14.0}
    assert extreme_scores(events) == {"MOAA/S": 3.0, "CADSS-6": 12.0, "nausea": 4.0}
    assert recorded_scales(events)["20 min"] == {"MOAA/S", "CADSS-6", "nausea"}
    labels = [score_label(e) for e in events if score_label(e)]
    assert labels[:2] == ["PHQ-9 14", "MOAA/S 5"]
    adverse = (EventKind.SEDATION, EventKind.DISSOCIATION, EventKind.NAUSEA)
    in_time = sorted(events, key=lambda e: e.at)
    effects = [score_label(e) or e.text for e in in_time if shows_effect(e) and e.kind in adverse]
    # Baseline "no effect" scores are not adverse effects; a free nausea note is.
    assert effects == [
        "MOAA/S 3",
        "CADSS-6 12",
        "nausea 2",
        "vomited once",
        "MOAA/S 4",
        "CADSS-6 6",
        "nausea 4",
    ]


def test_time_points_are_checked() -> None:
    with pytest.raises(ValueError, match="reserved"):
        ObservationSchedule(points=(TimePoint("unscheduled", Anchor.SESSION_START),))
