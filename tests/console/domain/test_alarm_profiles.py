"""Threshold profiles: validation, per-patient overrides, change records, configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console.config import ConfigError, load
from console.domain.alarm_profiles import (
    AlarmTimings,
    LimitOverride,
    ThresholdProfile,
    diff_profiles,
)
from console.domain.alarm_rules import (
    AlarmPolicy,
    BaselineRule,
    Direction,
    LimitError,
    LimitRule,
    Priority,
    check_unit,
)
from devices.model import Metric
from tests.console.domain.alarm_script import DEFAULT_PROFILE, at


def test_clinic_default_profile_follows_the_clinical_table() -> None:
    policy = DEFAULT_PROFILE.policy
    hr = {(r.limit, r.priority): r.delay_s for r in policy.rules_for(Metric.HR, Direction.HIGH)}
    assert hr == {(110, Priority.MEDIUM): 30, (130, Priority.HIGH): 10}
    sbp = {r.limit: r for r in policy.rules_for(Metric.NIBP_SYS, Direction.HIGH)}
    assert sbp[180].confirm
    assert sbp[180].priority_when_confirmed is Priority.HIGH
    assert not sbp[200].confirm
    assert sbp[160].priority is Priority.LOW
    assert [(r.metric, r.rise) for r in DEFAULT_PROFILE.baseline_rules] == [
        (Metric.NIBP_SYS, 40),
        (Metric.NIBP_DIA, 25),
    ]
    assert DEFAULT_PROFILE.timings == AlarmTimings()


def test_per_patient_overrides_make_a_new_validated_profile() -> None:
    patient = DEFAULT_PROFILE.with_overrides(
        [
            LimitOverride(Metric.SPO2, Direction.LOW, Priority.MEDIUM, 90, unit="%"),
            LimitOverride(Metric.HR, Direction.HIGH, Priority.MEDIUM, 120, unit="bpm"),
        ]
    )
    assert patient.name == "clinic default + patient overrides"
    spo2 = {r.priority: r.limit for r in patient.policy.rules_for(Metric.SPO2, Direction.LOW)}
    assert spo2 == {Priority.MEDIUM: 90, Priority.HIGH: 88}
    assert DEFAULT_PROFILE.policy.rules_for(Metric.SPO2, Direction.LOW)[0].limit == 92
    changes = diff_profiles(DEFAULT_PROFILE, patient, actor="dr.b", reason="COPD", at=at(0))
    assert [(c.parameter, c.old, c.new) for c in changes] == [
        ("HR", "> 110 for 30 s, medium", "> 120 for 30 s, medium"),
        ("SpO2", "< 92 for 15 s, medium", "< 90 for 15 s, medium"),
    ]


def test_timing_changes_are_recorded_too() -> None:
    changed = DEFAULT_PROFILE.with_timings(audio_pause_s=60, latch_high=False)
    changes = diff_profiles(DEFAULT_PROFILE, changed, actor="admin", reason="policy", at=at(0))
    assert [(c.setting, c.old, c.new) for c in changes] == [
        ("audio_pause_s", "120", "60"),
        ("latch_high", "on", "off"),
    ]


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: LimitRule(Metric.SPO2, Direction.LOW, 101, Priority.HIGH), "SpO2 limit 101"),
        (
            lambda: LimitRule(Metric.NIBP_SYS, Direction.HIGH, 180, Priority.MEDIUM, delay_s=30),
            "SBP is measured intermittently",
        ),
        (
            lambda: LimitRule(Metric.HR, Direction.HIGH, 120, Priority.MEDIUM, confirm=True),
            "HR is continuous",
        ),
        (
            lambda: LimitRule(
                Metric.NIBP_SYS,
                Direction.HIGH,
                180,
                Priority.HIGH,
                confirm=True,
                confirmed_priority=Priority.LOW,
            ),
            "below the first-reading priority",
        ),
        (lambda: LimitRule(Metric.HR, Direction.HIGH, 120, Priority.HIGH, delay_s=-1), "delay"),
    ],
)
def test_bad_rules_are_refused(build, fragment: str) -> None:
    with pytest.raises(LimitError, match=fragment):
        AlarmPolicy((build(),))


def test_tiers_must_be_in_order_of_urgency() -> None:
    with pytest.raises(LimitError, match="SpO2: high-priority low limit 93"):
        AlarmPolicy(
            (
                LimitRule(Metric.SPO2, Direction.LOW, 92, Priority.MEDIUM),
                LimitRule(Metric.SPO2, Direction.LOW, 93, Priority.HIGH),
            )
        )


@pytest.mark.parametrize(
    ("metric", "unit", "ok"),
    [
        (Metric.NIBP_SYS, "mmHg", True),
        (Metric.NIBP_SYS, "mm[Hg]", True),
        (Metric.HR, "bpm", True),
        (Metric.SPO2, "%", True),
        (Metric.SPO2, "mmHg", False),
        (Metric.TEMP, "°C", True),
        (Metric.TEMP, "F", False),
    ],
)
def test_units(metric: Metric, unit: str, ok: bool) -> None:
    if ok:
        check_unit(metric, unit)
    else:
        with pytest.raises(LimitError, match="is measured in"):
            check_unit(metric, unit)


def test_baseline_rules_are_validated() -> None:
    with pytest.raises(LimitError, match="SBP and DBP only"):
        ThresholdProfile(baseline_rules=(BaselineRule(Metric.HR, 20),))
    with pytest.raises(LimitError, match="5-100 mmHg"):
        ThresholdProfile(baseline_rules=(BaselineRule(Metric.NIBP_SYS, 200),))


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"nibp_confirm_window_s": 600}, "nibp_confirm_window_s = 600 must be 120-300"),
        ({"escalate_unanswered_s": 10}, "escalate_unanswered_s must be 0 (off) or >= 30"),
        ({"comm_lost_escalate_s": 5.0}, "comm_lost_escalate_s"),
    ],
)
def test_bad_timings_are_refused(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(LimitError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        DEFAULT_PROFILE.with_timings(**changes)


# -- configuration -------------------------------------------------------------------------------
def test_alarm_settings_from_a_user_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[alarms]\nnibp_confirm_window_s = 120\naudio_pause_s = 60\nnibp_interval_s = 600\n"
        "[alarms.baseline]\nsbp_rise_mmhg = 30\ndbp_rise_mmhg = 0\n"
    )
    s = load(cfg, environ={})
    assert s.alarm_profile.timings.nibp_confirm_window_s == 120
    assert s.alarm_profile.timings.audio_pause_s == 60
    assert s.alarm_nibp_interval_s == 600
    assert [(r.metric, r.rise) for r in s.alarm_profile.baseline_rules] == [(Metric.NIBP_SYS, 30)]
    assert s.alarm_profile.policy == s.alarm_policy


def test_old_style_limits_without_the_new_keys_still_load(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[limits]]\nmetric = "HR"\ndirection = "high"\nlimit = 120\npriority = "medium"\n'
    )
    (rule,) = load(cfg, environ={}).alarm_policy.rules
    assert (rule.delay_s, rule.confirm, rule.inclusive) == (0, False, True)


LIMIT = '[[limits]]\nmetric = "{m}"\ndirection = "high"\nlimit = {v}\npriority = "medium"\n'


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[alarms]\naudio_pause_s = 5\n", "[alarms] alarm setting audio_pause_s = 5"),
        ('[alarms]\nlatch_high = "yes"\n', "[alarms] latch_high must be bool"),
        ("[alarms]\nsnooze_s = 5\n", "[alarms] unknown key 'snooze_s'"),
        ("[alarms]\nnibp_interval_s = 10\n", "[alarms] nibp_interval_s must be 30-3600"),
        ("[alarms.baseline]\nsbp_rise_mmhg = 300\n", "[alarms.baseline] sbp_rise_mmhg"),
        ('[alarms.baseline]\npriority = "urgent"\n', "[alarms.baseline] priority"),
        (LIMIT.format(m="HR", v=120) + 'unit = "mmHg"\n', "limits[0].unit: HR limit unit"),
        (LIMIT.format(m="NIBP_SYS", v=180) + "delay_s = 30\n", "limits[0]: SBP is measured"),
        (LIMIT.format(m="HR", v=120) + "confirm = true\n", "limits[0]: HR is continuous"),
        (LIMIT.format(m="HR", v=120) + 'delay_s = "30"\n', "limits[0].delay_s must be a number"),
        (
            LIMIT.format(m="NIBP_SYS", v=180) + 'confirm = true\nconfirmed_priority = "max"\n',
            "limits[0].confirmed_priority",
        ),
    ],
)
def test_bad_alarm_config_names_its_key(tmp_path: Path, toml: str, fragment: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as info:
        load(cfg, environ={})
    assert fragment in str(info.value)
