"""The rights table and the lockout rule (console.domain.roles, console.domain.lockout)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.domain.lockout import LOCK_DURATION, MAX_FAILED_ATTEMPTS, LockState
from console.domain.roles import (
    RIGHTS,
    Action,
    Role,
    RoleRefusedError,
    allowed,
    parse_role,
    refusal,
    require,
)

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        (
            Role.NURSE,
            {
                Action.SESSIONS,
                Action.INFUSION_STEPS,
                Action.ANNOTATIONS,
                Action.ACKNOWLEDGE,
                Action.AUDIO_PAUSE,
            },
        ),
        (
            Role.PHYSICIAN,
            {
                Action.PRE_DOSE_OVERRIDE,
                Action.LIMIT_CHANGE_OUTSIDE_PROFILE,
                Action.DISCHARGE_OVERRIDE,
                Action.SIGN_OFF,
            },
        ),
        (Role.QA, {Action.SIMULATED_CHAIRS, Action.SCENARIOS}),
        (Role.ADMIN, {Action.USERS, Action.THRESHOLD_PROFILES}),
    ],
)
def test_each_role_has_exactly_the_rights_the_issue_lists(role: Role, actions: set[Action]) -> None:
    assert {a for a in Action if allowed(role, a)} == actions


def test_every_action_is_in_the_table() -> None:
    assert set(RIGHTS) == set(Action)


def test_a_refusal_is_one_line_naming_the_role_needed() -> None:
    assert refusal(Role.NURSE, Action.SIGN_OFF) == "sign-off needs the physician role"
    assert refusal(Role.PHYSICIAN, Action.SIGN_OFF) is None
    assert (
        refusal(Role.PHYSICIAN, Action.ACKNOWLEDGE) == "acknowledging an alarm needs the nurse role"
    )
    with pytest.raises(
        RoleRefusedError, match=r"^user administration needs the admin role$"
    ) as info:
        require(Role.QA, Action.USERS)
    assert info.value.needed is Role.ADMIN
    require({Role.NURSE, Role.ADMIN}, Action.USERS)  # several roles: any one suffices
    for action in Action:
        text = refusal(set(), action)
        assert text is not None
        assert "\n" not in text
        assert text.endswith(f"needs the {RIGHTS[action].value} role")


def test_parse_role() -> None:
    assert parse_role(" Physician ") is Role.PHYSICIAN
    with pytest.raises(
        ValueError, match="unknown role 'doctor': one of nurse, physician, qa, admin"
    ):
        parse_role("doctor")


def test_five_failures_lock_for_five_minutes_and_then_the_count_restarts() -> None:
    state = LockState()
    for i in range(MAX_FAILED_ATTEMPTS - 1):
        state = state.after_failure(T0 + timedelta(seconds=i))
        assert not state.locked_at(T0 + timedelta(seconds=i))
    assert state.failed_attempts == 4
    fifth = T0 + timedelta(seconds=10)
    state = state.after_failure(fifth)
    assert state.locked_until == fifth + LOCK_DURATION == fifth + timedelta(minutes=5)
    assert state.locked_at(fifth + timedelta(minutes=4, seconds=59))
    after = fifth + timedelta(minutes=5)
    assert not state.locked_at(after)
    assert state.current(after) == LockState()
    again = state.after_failure(after)  # a failure after the lock ran out counts from one
    assert again == LockState(1, None)
