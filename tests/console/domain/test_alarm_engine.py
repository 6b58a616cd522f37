"""The alarm engine, rule by rule, as tables of timed cases on a simulated clock.

Each row: steps ``(t_s, action, ...)`` (see ``alarm_script``), the alarm keys looked at, and the
events expected as ``(t_s, kind, key, priority)``.  Times are passed explicitly, so the cases run
in microseconds and mean the same at any clock speed.
"""

from __future__ import annotations

from typing import Any

import pytest

from console.domain.alarm_engine import AlarmEngine
from console.domain.alarm_rules import Direction, Priority
from devices.model import DeviceState, Metric, ReadingFlag
from tests.console.domain.alarm_script import (
    DEFAULT_PROFILE,
    Step,
    at,
    every,
    make_engine,
    play,
    reading,
    ticks,
)

NO_ESCALATION = DEFAULT_PROFILE.with_timings(escalate_unanswered_s=0)
HR, SPO2, RR = Metric.HR, Metric.SPO2, Metric.RR
SYS, DIA = Metric.NIBP_SYS, Metric.NIBP_DIA
INVALID = (ReadingFlag.INVALID,)


def case(
    name: str,
    steps: list[Step],
    keys: list[str],
    expected: list[tuple[float, str, str, str | None]],
    profile: Any = None,
) -> Any:
    return pytest.param(steps, keys, expected, profile, id=name)


def run_case(steps: list[Step], keys: list[str], expected: list[Any], profile: Any) -> None:
    assert play(steps, keys=keys, profile=profile) == expected


# -- condition delays for continuous signals (clinical.md b2, c7) ----------------------------
DELAY_CASES = [
    case(
        "HR>130 held 10 s -> high at 10 s",
        every(HR, 135, 0, 20),
        ["HR:high"],
        [(10, "onset", "HR:high", "high")],
    ),
    case(
        "HR>110 held 30 s -> medium at 30 s",
        every(HR, 120, 0, 40),
        ["HR:high"],
        [(30, "onset", "HR:high", "medium")],
    ),
    case(
        "HR>110 for 20 s only -> nothing",
        every(HR, 120, 0, 20) + every(HR, 100, 21, 40),
        ["HR:high"],
        [],
    ),
    case(
        "HR<50 held 15 s -> medium",
        every(HR, 45, 0, 20),
        ["HR:low"],
        [(15, "onset", "HR:low", "medium")],
    ),
    case(
        "HR<40 held 5 s -> high", every(HR, 38, 0, 10), ["HR:low"], [(5, "onset", "HR:low", "high")]
    ),
    case(
        "SpO2<92 held 15 s -> medium",
        every(SPO2, 90, 0, 20),
        ["SPO2:low"],
        [(15, "onset", "SPO2:low", "medium")],
    ),
    case(
        "SpO2<88 held 5 s -> high",
        every(SPO2, 86, 0, 10),
        ["SPO2:low"],
        [(5, "onset", "SPO2:low", "high")],
    ),
    case(
        "RR>30 held 30 s -> medium",
        every(RR, 35, 0, 40),
        ["RR:high"],
        [(30, "onset", "RR:high", "medium")],
    ),
    case(
        "RR<8 held 30 s -> medium",
        every(RR, 6, 0, 40),
        ["RR:low"],
        [(30, "onset", "RR:low", "medium")],
    ),
    case(
        "a tick declares when the delay runs out between readings",
        [(0, "r", HR, 135), *ticks(1, 12)],
        ["HR:high"],
        [(10, "onset", "HR:high", "high")],
    ),
    case("a stale value is not declared", [(0, "r", HR, 135), (11, "tick")], ["HR:high"], []),
    case(
        "a higher tier needs its own delay to escalate",
        every(HR, 120, 0, 40) + every(HR, 135, 41, 60),
        ["HR:high"],
        [(30, "onset", "HR:high", "medium"), (51, "escalated", "HR:high", "high")],
    ),
    case(
        "falling back a tier is immediate",
        every(HR, 120, 0, 40) + every(HR, 112, 41, 45) + every(HR, 100, 46, 47),
        ["HR:high"],
        [(30, "onset", "HR:high", "medium"), (46, "end", "HR:high", "medium")],
    ),
]


@pytest.mark.parametrize(("steps", "keys", "expected", "profile"), DELAY_CASES)
def test_condition_delays(
    steps: list[Step], keys: list[str], expected: list[Any], profile: Any
) -> None:
    run_case(steps, keys, expected, profile)


# -- NIBP confirm-by-repeat (b2) --------------------------------------------------------------
S = "NIBP_SYS:high"
NIBP_CASES = [
    case(
        "SBP>=180 then a confirming repeat -> medium, then high",
        [(0, "r", SYS, 185), (90, "r", SYS, 186)],
        [S],
        [
            (0, "onset", S, "medium"),
            (0, "repeat_requested", S, "medium"),
            (90, "repeat_done", S, None),
            (90, "escalated", S, "high"),
        ],
        NO_ESCALATION,
    ),
    case(
        "SBP>=180 then a repeat back in range -> ends",
        [(0, "r", SYS, 185), (90, "r", SYS, 150)],
        [S],
        [
            (0, "onset", S, "medium"),
            (0, "repeat_requested", S, "medium"),
            (90, "repeat_done", S, None),
            (90, "end", S, "medium"),
        ],
        NO_ESCALATION,
    ),
    case(
        "SBP>=200 is high at once, no repeat",
        [(0, "r", SYS, 205)],
        [S],
        [(0, "onset", S, "high")],
        NO_ESCALATION,
    ),
    case(
        "SBP>=160 stays a low advisory",
        [(0, "r", SYS, 165), (300, "r", SYS, 170)],
        [S],
        [(0, "onset", S, "low")],
        NO_ESCALATION,
    ),
    case(
        "a repeat after the window does not confirm and asks again",
        [(0, "r", SYS, 185), (400, "r", SYS, 186)],
        [S],
        [
            (0, "onset", S, "medium"),
            (0, "repeat_requested", S, "medium"),
            (400, "repeat_expired", S, None),
            (400, "repeat_requested", S, "medium"),
        ],
        NO_ESCALATION,
    ),
    case(
        "an unanswered repeat request is asked again after 2 min, expires after 300 + 30 s",
        [(0, "r", SYS, 185), (119, "tick"), (330, "tick"), (331, "tick")],
        [S],
        [
            (0, "onset", S, "medium"),
            (0, "repeat_requested", S, "medium"),
            (330, "repeat_requested", S, "medium"),  # the first tick after 2 min
            (331, "repeat_expired", S, None),
        ],
        NO_ESCALATION,
    ),
    case(
        "the next regular cycle at exactly the window still confirms",
        [(0, "r", SYS, 185), (300.4, "r", SYS, 187)],
        [S],
        [
            (0, "onset", S, "medium"),
            (0, "repeat_requested", S, "medium"),
            (300.4, "repeat_done", S, None),
            (300.4, "escalated", S, "high"),
        ],
        NO_ESCALATION,
    ),
    case(
        "DBP>=110 confirmed -> high",
        [(0, "r", DIA, 112), (60, "r", DIA, 115)],
        ["NIBP_DIA:high"],
        [
            (0, "onset", "NIBP_DIA:high", "medium"),
            (0, "repeat_requested", "NIBP_DIA:high", "medium"),
            (60, "repeat_done", "NIBP_DIA:high", None),
            (60, "escalated", "NIBP_DIA:high", "high"),
        ],
        NO_ESCALATION,
    ),
    case(
        "DBP>=120 is high at once",
        [(0, "r", DIA, 121)],
        ["NIBP_DIA:high"],
        [(0, "onset", "NIBP_DIA:high", "high")],
        NO_ESCALATION,
    ),
    case(
        "SBP<90 confirmed stays medium",
        [(0, "r", SYS, 85), (60, "r", SYS, 84)],
        ["NIBP_SYS:low"],
        [
            (0, "onset", "NIBP_SYS:low", "medium"),
            (0, "repeat_requested", "NIBP_SYS:low", "medium"),
            (60, "repeat_done", "NIBP_SYS:low", None),
        ],
        NO_ESCALATION,
    ),
    case(
        "a high NIBP alarm latches when the next reading is normal",
        [(0, "r", SYS, 205), (300, "r", SYS, 150)],
        [S],
        [(0, "onset", S, "high"), (300, "latched", S, "high")],
        NO_ESCALATION,
    ),
]


@pytest.mark.parametrize(("steps", "keys", "expected", "profile"), NIBP_CASES)
def test_nibp_confirm_by_repeat(
    steps: list[Step], keys: list[str], expected: list[Any], profile: Any
) -> None:
    run_case(steps, keys, expected, profile)


# -- baseline-relative limits (b2: SBP +40 / DBP +25 over the pre-dose baseline) -------------
BASELINE_CASES = [
    case(
        "explicit baseline: SBP +40 is medium beside the absolute 160 low tier",
        [(0, "baseline", 120, 80, 70), (10, "r", SYS, 160), (100, "r", SYS, 162)],
        ["baseline", S],
        [
            (0, "baseline_set", "baseline", None),
            (10, "onset", S, "medium"),
            (10, "repeat_requested", S, "medium"),
            (100, "repeat_done", S, None),
        ],
        NO_ESCALATION,
    ),
    case(
        "baseline derived from the pre-dose NIBP readings at infusion start",
        [
            (0, "r", SYS, 118),
            (0, "r", DIA, 76),
            (300, "r", SYS, 122),
            (300, "r", DIA, 78),
            (310, "infusion", True),
            (600, "r", SYS, 160),
        ],
        ["baseline", S],
        [
            (310, "baseline_set", "baseline", None),
            (600, "onset", S, "medium"),
            (600, "repeat_requested", S, "medium"),
        ],
        NO_ESCALATION,
    ),
    case(
        "DBP +25 over baseline",
        [(0, "baseline", 120, 80, 70), (10, "r", DIA, 105)],
        ["NIBP_DIA:high"],
        [
            (10, "onset", "NIBP_DIA:high", "medium"),
            (10, "repeat_requested", "NIBP_DIA:high", "medium"),
        ],
        NO_ESCALATION,
    ),
    case(
        "below the rise, no alarm",
        [(0, "baseline", 120, 80, 70), (10, "r", SYS, 159)],
        [S],
        [],
        NO_ESCALATION,
    ),
]


@pytest.mark.parametrize(("steps", "keys", "expected", "profile"), BASELINE_CASES)
def test_baseline_relative_limits(
    steps: list[Step], keys: list[str], expected: list[Any], profile: Any
) -> None:
    run_case(steps, keys, expected, profile)


# -- latching and acknowledge (b3 note, c4, c5) ------------------------------------------------
Q = "SPO2:low"
LATCH_CASES = [
    case(
        "high latches after clearing; acknowledging removes it",
        [*every(SPO2, 86, 0, 10), (11, "r", SPO2, 97), (20, "ack", Q, "nurse.a")],
        [Q],
        [
            (5, "onset", Q, "high"),
            (11, "latched", Q, "high"),
            (20, "acknowledged", Q, "high"),
            (20, "end", Q, "high"),
        ],
    ),
    case(
        "acknowledged high does not latch",
        [*every(SPO2, 86, 0, 10), (8, "ack", Q, "nurse.a"), (11, "r", SPO2, 97)],
        [Q],
        [(5, "onset", Q, "high"), (8, "acknowledged", Q, "high"), (11, "end", Q, "high")],
    ),
    case(
        "acknowledged medium stays listed until the condition ends",
        [*every(HR, 120, 0, 40), (35, "ack", "HR:high", "nurse.a"), (41, "r", HR, 100)],
        ["HR:high"],
        [
            (30, "onset", "HR:high", "medium"),
            (35, "acknowledged", "HR:high", "medium"),
            (41, "end", "HR:high", "medium"),
        ],
    ),
    case(
        "a latched alarm whose condition returns is retriggered",
        [*every(SPO2, 86, 0, 10), (11, "r", SPO2, 97), *every(SPO2, 86, 12, 20)],
        [Q],
        [(5, "onset", Q, "high"), (11, "latched", Q, "high"), (17, "retriggered", Q, "high")],
    ),
    case(
        "latched high holds high while the value falls back a tier; ack lowers it",
        [*every(HR, 135, 0, 12), *every(HR, 120, 13, 20), (21, "ack", "HR:high", "nurse.a")],
        ["HR:high"],
        [
            (10, "onset", "HR:high", "high"),
            (21, "acknowledged", "HR:high", "high"),
            (21, "deescalated", "HR:high", "medium"),
        ],
    ),
    case(
        "acknowledging an unknown alarm is harmless",
        [(0, "ack", "HR:high", "nurse.a")],
        ["HR:high"],
        [],
    ),
]


@pytest.mark.parametrize(("steps", "keys", "expected", "profile"), LATCH_CASES)
def test_latching_and_acknowledge(
    steps: list[Step], keys: list[str], expected: list[Any], profile: Any
) -> None:
    run_case(steps, keys, expected, profile)


# -- audio pause (c4) and escalation when unanswered (c13) -------------------------------------
PAUSE_CASES = [
    case(
        "pause expires after the default 2 min",
        [*every(HR, 120, 0, 160), (35, "pause", "nurse.a")],
        ["audio"],
        [(35, "audio_paused", "audio", "medium"), (155, "audio_resumed", "audio", "medium")],
        NO_ESCALATION,
    ),
    case(
        "a configured pause length",
        [*every(HR, 120, 0, 100), (35, "pause", "nurse.a", 30.0)],
        ["audio"],
        [(35, "audio_paused", "audio", "medium"), (65, "audio_resumed", "audio", "medium")],
        NO_ESCALATION,
    ),
    case(
        "a new high condition breaks the pause",
        [*every(HR, 120, 0, 60), (35, "pause", "nurse.a"), *every(SPO2, 86, 40, 50)],
        ["audio"],
        [(35, "audio_paused", "audio", "medium"), (45, "audio_resumed", "audio", "high")],
        NO_ESCALATION,
    ),
    case(
        "an escalation to high breaks the pause",
        [*every(HR, 120, 0, 31), (31, "pause", "nurse.a"), *every(HR, 135, 32, 50)],
        ["audio"],
        [(31, "audio_paused", "audio", "medium"), (42, "audio_resumed", "audio", "high")],
        NO_ESCALATION,
    ),
    case(
        "a new low advisory does not break the pause",
        [*every(HR, 120, 0, 60), (35, "pause", "nurse.a"), (38, "r", SYS, 165)],
        ["audio"],
        [(35, "audio_paused", "audio", "medium")],
        NO_ESCALATION,
    ),
]


@pytest.mark.parametrize(("steps", "keys", "expected", "profile"), PAUSE_CASES)
def test_audio_pause(steps: list[Step], keys: list[str], expected: list[Any], profile: Any) -> None:
    run_case(steps, keys, expected, profile)


ESCALATION_CASES = [
    case(
        "medium unanswered for 2 min -> its signal escalates, its priority stays medium",
        every(HR, 120, 0, 160),
        ["HR:high"],
        [(30, "onset", "HR:high", "medium"), (150, "signal_escalated", "HR:high", "medium")],
    ),
    case(
        "acknowledged in time -> stays medium",
        [*every(HR, 120, 0, 200), (100, "ack", "HR:high", "nurse.a")],
        ["HR:high"],
        [(30, "onset", "HR:high", "medium"), (100, "acknowledged", "HR:high", "medium")],
    ),
    case(
        "escalation counts from reaching medium, not from onset",
        [*every(SYS, 165, 0, 0), *ticks(1, 60, 10), (60, "r", SYS, 185), *ticks(61, 181, 10)],
        [S],
        [
            (0, "onset", S, "low"),
            (60, "escalated", S, "medium"),
            (60, "repeat_requested", S, "medium"),
            (181, "signal_escalated", S, "medium"),  # unconfirmed: never recorded as high
            (181, "repeat_requested", S, "medium"),  # and the repeat is asked for again
        ],
    ),
]


@pytest.mark.parametrize(("steps", "keys", "expected", "profile"), ESCALATION_CASES)
def test_escalation_when_unanswered(
    steps: list[Step], keys: list[str], expected: list[Any], profile: Any
) -> None:
    run_case(steps, keys, expected, profile)


# -- technical alarms (b3) --------------------------------------------------------------------
C = "comm_lost"
TECHNICAL_CASES = [
    case(
        "no data for 10 s -> communication lost, medium",
        [*every(HR, 70, 0, 5), *ticks(6, 30)],
        [C],
        [(15, "onset", C, "medium")],
    ),
    case(
        "... high after 60 s while the infusion runs",
        [(0, "infusion", True), *every(HR, 70, 0, 5), *ticks(6, 70)],
        [C],
        [(15, "onset", C, "medium"), (65, "escalated", C, "high")],
    ),
    case(
        "... stays medium without an infusion and ends with data",
        [*every(HR, 70, 0, 5), *ticks(6, 100), (101, "r", HR, 70)],
        [C],
        [(15, "onset", C, "medium"), (101, "end", C, "medium")],
    ),
    case("no data ever -> communication lost", ticks(1, 12), [C], [(10, "onset", C, "medium")]),
    case(
        "a deliberately stopped link is not lost",
        [*every(HR, 70, 0, 5), (6, "state", DeviceState.STOPPED), *ticks(7, 30)],
        [C],
        [],
    ),
    case("data flowing -> never", every(HR, 70, 0, 120), [C], []),
    case(
        "device reports sensor off -> medium at once; valid SpO2 ends it",
        [*every(SPO2, 98, 0, 4), (5, "sensor_off"), (8, "r", SPO2, 97)],
        ["sensor_off"],
        [(5, "onset", "sensor_off", "medium"), (8, "end", "sensor_off", "medium")],
    ),
    case(
        "SpO2 without a valid value for 10 s -> sensor off",
        [(t, "x", SPO2, None, INVALID) for t in range(13)],
        ["sensor_off"],
        [(10, "onset", "sensor_off", "medium")],
    ),
    case(
        "NIBP overdue after cycle + 2 min during the infusion; a reading ends it",
        [(0, "infusion", True), (10, "r", SYS, 120), *ticks(20, 440, 10), (500, "r", SYS, 120)],
        ["nibp_overdue"],
        [(430, "onset", "nibp_overdue", "medium"), (500, "end", "nibp_overdue", "medium")],
    ),
    case(
        "NIBP on its cycle -> never overdue",
        [
            (0, "infusion", True),
            *[(t, "r", SYS, 120) for t in range(0, 3001, 300)],
            *ticks(0, 3000, 10),
        ],
        ["nibp_overdue"],
        [],
    ),
    case(
        "NIBP overdue is not watched before the infusion",
        [(10, "r", SYS, 120), *ticks(20, 1000, 10)],
        ["nibp_overdue"],
        [],
    ),
    case(
        "NIBP overdue watched for 30 min of recovery, then ends",
        [
            (0, "infusion", True),
            (0, "r", SYS, 120),
            (300, "r", SYS, 120),
            (400, "infusion", False),
            *ticks(410, 2300, 10),
        ],
        ["nibp_overdue"],
        [(720, "onset", "nibp_overdue", "medium"), (2210, "end", "nibp_overdue", "medium")],
    ),
    case(
        "a value flagged questionable -> low information",
        [(0, "x", SPO2, 99, (ReadingFlag.QUESTIONABLE,)), (1, "r", SPO2, 98)],
        ["invalid_value:SPO2"],
        [(0, "onset", "invalid_value:SPO2", "low"), (1, "end", "invalid_value:SPO2", "low")],
    ),
]


@pytest.mark.parametrize(("steps", "keys", "expected", "profile"), TECHNICAL_CASES)
def test_technical_alarms(
    steps: list[Step], keys: list[str], expected: list[Any], profile: Any
) -> None:
    run_case(steps, keys, expected, profile)


# -- profile changes mid-session (H.36) ------------------------------------------------------
def test_raised_limit_mid_session_is_recorded_and_ends_the_alarm() -> None:
    engine = make_engine()
    steps: list[Step] = [
        *every(HR, 115, 0, 35),
        (36, "override", HR, Direction.HIGH, Priority.MEDIUM, 120),
        (37, "r", HR, 115),
    ]
    seen = play(steps, keys=["HR:high", "profile:HR"], engine=engine)
    assert seen == [
        (30, "onset", "HR:high", "medium"),
        (36, "profile_changed", "profile:HR", None),
        (36, "end", "HR:high", "medium"),  # re-judged at once against the newest value
    ]
    rule = engine.policy.rules_for(HR, Direction.HIGH)
    assert sorted(r.limit for r in rule) == [120, 130]
    assert engine.profile.name == "clinic default + patient overrides"


def test_profile_change_event_says_who_when_why_old_and_new() -> None:
    engine = make_engine()
    (event,) = engine.override_limit(
        SPO2, Direction.LOW, Priority.MEDIUM, 90, actor="dr.b", reason="COPD", now=at(5)
    )
    assert event.actor == "dr.b"
    assert event.at == at(5)
    assert event.change is not None
    assert (event.change.parameter, event.change.setting) == ("SpO2", "low limit, medium")
    assert event.change.old == "< 92 for 15 s, medium"
    assert event.change.new == "< 90 for 15 s, medium"
    assert event.change.reason == "COPD"
    assert "SpO2 low limit, medium: < 92 for 15 s, medium -> < 90 for 15 s, medium" in event.message


@pytest.mark.parametrize(
    ("metric", "direction", "priority", "limit", "unit", "fragment"),
    [
        (SPO2, Direction.LOW, Priority.MEDIUM, 40, None, "SpO2 limit 40 is outside"),
        (HR, Direction.HIGH, Priority.MEDIUM, 120, "mmHg", "HR limit unit 'mmHg' is wrong"),
        (HR, Direction.LOW, Priority.MEDIUM, 115, None, "HR: low limit 115 is not below"),
        (HR, Direction.HIGH, Priority.MEDIUM, 140, None, "HR: high-priority high limit 130"),
        (SYS, Direction.HIGH, Priority.HIGH, 170, None, "SBP: high-priority high limit 170"),
    ],
)
def test_invalid_limits_are_refused_naming_the_parameter(
    metric: Metric,
    direction: Direction,
    priority: Priority,
    limit: float,
    unit: str | None,
    fragment: str,
) -> None:
    engine = make_engine()
    before = engine.profile
    with pytest.raises(ValueError, match=fragment):
        engine.override_limit(
            metric, direction, priority, limit, actor="dr.b", reason="x", now=at(1), unit=unit
        )
    assert engine.profile is before


def test_a_change_needs_who_and_why() -> None:
    engine = make_engine()
    with pytest.raises(ValueError, match="why"):
        engine.change_profile(DEFAULT_PROFILE, actor="dr.b", reason=" ", now=at(1))
    with pytest.raises(ValueError, match="who"):
        engine.change_profile(DEFAULT_PROFILE, actor="", reason="x", now=at(1))


# -- the queryable state ------------------------------------------------------------------------
def test_latched_alarm_state_keeps_original_onset_and_condition_start() -> None:
    engine = make_engine()
    play([*every(SPO2, 86, 0, 10), (11, "r", SPO2, 97)], engine=engine)
    (status,) = [a for a in engine.active_alarms() if a.key == "SPO2:low"]
    assert status.priority is Priority.HIGH
    assert status.onset == at(5)
    assert status.condition_start == at(0)
    assert status.latched
    assert not status.condition_active
    assert status.acknowledged_by is None
    assert status.limit == 88
    # Latched alarms are visual only: nothing sounds for them.
    assert engine.audio().priority is None


def test_audio_follows_the_highest_unacknowledged_unpaused_alarm() -> None:
    engine = make_engine(NO_ESCALATION)
    play([*every(HR, 120, 0, 40), *every(SPO2, 90, 25, 40)], engine=engine)
    assert engine.audio().priority is Priority.MEDIUM
    engine.acknowledge("HR:high", "nurse.a", at(41))
    status = {a.key: a for a in engine.active_alarms()}
    assert status["HR:high"].acknowledged_by == "nurse.a"
    assert status["HR:high"].acknowledged_at == at(41)
    assert engine.audio().priority is Priority.MEDIUM  # SpO2 still unacknowledged
    engine.pause_audio("nurse.b", at(42))
    audio = engine.audio()
    assert (audio.priority, audio.silenced_priority, audio.paused_by) == (
        None,
        Priority.MEDIUM,
        "nurse.b",
    )
    assert audio.paused_until == at(162)
    assert {a.audio_paused_until for a in engine.active_alarms()} == {at(162)}
    engine.acknowledge_all("nurse.b", at(43))
    engine.resume_audio("nurse.b", at(44))
    assert not engine.audio().sounding


def test_pending_repeat_requests_are_listed_until_answered() -> None:
    engine = make_engine(NO_ESCALATION)
    engine.process_readings([], at(0))
    play([(0, "r", SYS, 186)], engine=engine)
    (request,) = engine.pending_repeat_requests()
    assert (request.key, request.metric, request.requested_at) == (S, SYS, at(0))
    assert request.due_by == at(300)
    assert "SBP 186 >= 180" in request.message
    play([(60, "r", SYS, 150)], engine=engine)
    assert engine.pending_repeat_requests() == ()


def test_onset_event_carries_declaration_time_and_condition_start() -> None:
    engine = make_engine()
    events = []
    for step in every(HR, 135, 0, 10):
        events += engine.process_readings([reading(step[2], step[3], step[0])], at(step[0]))
    (onset,) = [e for e in events if e.key == "HR:high"]
    assert onset.at == at(10)
    assert onset.condition_start == at(0)
    assert onset.value == 135
    assert onset.limit == 130
    assert onset.message == "HR 135 > 130"


def test_technical_events_have_no_metric_and_say_their_kind() -> None:
    engine = make_engine()
    events = engine.tick(at(12))
    (ev,) = [e for e in events if e.key == "comm_lost"]
    assert ev.metric is None
    assert ev.category.value == "technical"
    assert ev.parameter == "comm_lost"
    assert ev.condition_start == at(0)


def test_times_must_be_timezone_aware() -> None:
    engine = AlarmEngine()
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.tick(at(0).replace(tzinfo=None))


def test_lowered_limit_mid_session_keeps_the_alarm_and_its_onset() -> None:
    engine = make_engine()
    steps: list[Step] = [
        *every(HR, 115, 0, 35),
        (36, "override", HR, Direction.HIGH, Priority.MEDIUM, 100),
        *every(HR, 115, 37, 40),
    ]
    seen = play(steps, keys=["HR:high"], engine=engine)
    assert seen == [(30, "onset", "HR:high", "medium")]
    (status,) = [a for a in engine.active_alarms() if a.key == "HR:high"]
    assert status.onset == at(30)
    assert status.limit == 100


def test_audio_unavailable_is_a_visible_high_technical_alarm() -> None:
    from datetime import UTC, datetime, timedelta

    from console.config import load
    from console.domain.alarm_engine import AlarmEngine

    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    engine = AlarmEngine(load(environ={}).alarm_profile, started_at=t0)
    events = engine.set_audio_available(False, t0, "no audio output device")
    (onset,) = [e for e in events if e.key == "audio_unavailable"]
    assert onset.kind.value == "onset"
    assert onset.priority is not None
    assert onset.priority.name == "HIGH"
    assert "no audio output device" in onset.message
    assert any(a.key == "audio_unavailable" for a in engine.active_alarms())
    later = t0 + timedelta(seconds=5)
    ended = [e for e in engine.set_audio_available(True, later) if e.key == "audio_unavailable"]
    assert [e.kind.value for e in ended][-1] in {"end", "latched"}


def test_a_record_falling_behind_is_its_own_technical_alarm() -> None:
    """Issue 14: a writer that keeps everything but late must not say SESSION NOT RECORDED."""
    from datetime import UTC, datetime, timedelta

    from console.config import load
    from console.domain.alarm_engine import AlarmEngine
    from console.domain.alarm_technical import RECORDING_BEHIND

    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    engine = AlarmEngine(load(environ={}).alarm_profile, started_at=t0)
    events = engine.set_storage_available(False, t0, f"{RECORDING_BEHIND}: 1200 items waiting")
    (onset,) = [e for e in events if e.key == "storage_behind"]
    assert onset.kind.value == "onset"
    assert onset.message.startswith("RECORDING FALLING BEHIND")
    assert "SESSION NOT RECORDED" not in onset.message
    assert {a.key for a in engine.active_alarms()} >= {"storage_behind"}
    # The database then goes away: one storage condition replaces the other.
    later = t0 + timedelta(seconds=5)
    engine.set_storage_available(False, later, "database unavailable: gone")
    keys = {a.key for a in engine.active_alarms() if a.condition_active}
    assert "storage_unavailable" in keys
    assert "storage_behind" not in keys
    engine.set_storage_available(True, later + timedelta(seconds=5))
    keys = {a.key for a in engine.active_alarms() if a.condition_active}
    assert not keys & {"storage_unavailable", "storage_behind"}


def test_no_nibp_overdue_for_a_monitor_without_a_cuff() -> None:
    from datetime import UTC, datetime, timedelta

    from console.config import load
    from console.domain.pipeline import ChairPipeline

    t0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    for measures, expected in ((True, True), (False, False)):
        pipeline = ChairPipeline(
            load(environ={}).alarm_profile,
            [],
            started_at=t0,
            measures_nibp=measures,
            min_silence_real_s=0,
        )
        pipeline.set_infusion_running(True, t0)
        events = pipeline.tick(t0 + timedelta(minutes=20))
        assert any(e.key == "nibp_overdue" for e in events) is expected
