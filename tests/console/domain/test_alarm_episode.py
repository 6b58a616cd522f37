"""Issue 11 item 9: alarm text and priority agree; the episode's worst value and onset are kept;
SpO2, HR and RR values are whole numbers in every alarm message."""

from __future__ import annotations

from console.domain.alarm_episode import alarm_text, priority_tag
from console.domain.alarm_events import AlarmEventKind
from console.domain.alarm_rules import Priority, format_value
from devices.model import Metric
from tests.console.domain.alarm_script import (
    DEFAULT_PROFILE,
    at,
    every,
    make_engine,
    play,
    reading,
)

SPO2, HR, SYS = Metric.SPO2, Metric.HR, Metric.NIBP_SYS
NO_ESCALATION = DEFAULT_PROFILE.with_timings(escalate_unanswered_s=0)


def _status(engine, key):
    (status,) = [a for a in engine.active_alarms() if a.key == key]
    return status


def test_latched_desaturation_shows_its_worst_and_its_onset_as_integers() -> None:
    engine = make_engine(NO_ESCALATION)
    play(
        [
            *every(SPO2, 91.04, 0, 20),  # < 92 for 15 s: medium
            *every(SPO2, 84.65, 21, 30),  # < 88 for 5 s: high (latches)
            *every(SPO2, 91.04, 31, 35),
            (36, "r", SPO2, 97.0),  # condition over: latched, held high
        ],
        engine=engine,
    )
    status = _status(engine, "SPO2:low")
    assert status.latched
    assert status.priority is Priority.HIGH
    assert status.episode is not None
    assert status.episode.worst_value == 84.65
    text = alarm_text(status)
    # The words explain the high priority (< 88) and give the onset too.
    assert text.startswith("SpO2 85 < 88"), text
    assert "onset SpO2 91 < 92" in text
    assert "." not in text  # no decimals anywhere


def test_held_high_nibp_alarm_never_reads_as_its_low_tier() -> None:
    """A confirmed SBP >= 180 (high) whose next reading is 165 (the low >= 160 tier) stays
    high; its line must name the high tier, not "SBP 165 >= 160"."""
    engine = make_engine(NO_ESCALATION)
    events = play(
        [(0, "r", SYS, 186.0), (60, "r", SYS, 187.0), (120, "r", SYS, 165.0)],
        engine=engine,
        keys=["NIBP_SYS:high"],
    )
    assert events[-1][3] == "high"
    status = _status(engine, "NIBP_SYS:high")
    assert status.priority is Priority.HIGH
    text = alarm_text(status)
    assert text.startswith("SBP 187 >= 180, confirmed by repeat"), text
    assert "now SBP 165 >= 160" in text
    assert "onset SBP 186 >= 180" in text


def test_latched_event_in_the_record_names_the_condition_that_made_it_high() -> None:
    engine = make_engine(NO_ESCALATION)
    out = []
    for t in range(0, 11):
        out += engine.process_readings([reading(SPO2, 86.0, t)], at(t))
    out += engine.process_readings([reading(SPO2, 90.0, 11)], at(11))
    out += engine.process_readings([reading(SPO2, 97.0, 12)], at(12))
    latched = [e for e in out if e.kind is AlarmEventKind.LATCHED]
    assert latched, [e.kind for e in out]
    assert "SpO2 86 < 88 stays latched" in latched[-1].message


def test_values_are_whole_numbers_except_temperature() -> None:
    assert format_value(SPO2, 91.04) == "91"
    assert format_value(HR, 135.6) == "136"
    assert format_value(Metric.RR, 7.5) == "8"
    assert format_value("NIBP_SYS", 201.4) == "201"
    assert format_value(Metric.TEMP, 37.25) == "37.2"
    assert format_value("HR", None) == "-"
    engine = make_engine(NO_ESCALATION)
    play(every(HR, 135.55, 0, 20), engine=engine)
    assert _status(engine, "HR:high").message == "HR 136 > 130"


def test_priority_tag_uses_the_iec_marker_and_word_of_the_real_priority() -> None:
    assert priority_tag(Priority.HIGH) == "*** high"
    assert priority_tag(Priority.MEDIUM) == "** medium"
    assert priority_tag(Priority.LOW) == "* low"
