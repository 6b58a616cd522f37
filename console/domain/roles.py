"""Who may do what: the four roles and the table of rights (issue 16).

Qt- and SQL-free so that every front end asks the same question the same way: the headless
commands, the review window's sign-off and, later, the GUI's shift login and PIN quick switch
all call :func:`require` (or :func:`refusal` to say no without an exception).  A refusal is one
line that names the role the action needs ("sign-off needs the physician role"); the caller
keeps whatever the user typed, so being refused never costs the text.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class Role(enum.StrEnum):
    """An account's role (stored as this text in ``users.role``)."""

    NURSE = "nurse"
    PHYSICIAN = "physician"
    QA = "qa"
    ADMIN = "admin"


class Action(enum.StrEnum):
    """Something only some roles may do.  The value is the name a refusal uses."""

    # nurse
    SESSIONS = "starting or ending a session"
    INFUSION_STEPS = "an infusion step"
    ANNOTATIONS = "an annotation"
    ACKNOWLEDGE = "acknowledging an alarm"
    AUDIO_PAUSE = "pausing the alarm audio"
    # physician
    PRE_DOSE_OVERRIDE = "a pre-dose override"
    LIMIT_CHANGE_OUTSIDE_PROFILE = "a limit change outside the profile"
    DISCHARGE_OVERRIDE = "a discharge override"
    SIGN_OFF = "sign-off"
    # qa
    SIMULATED_CHAIRS = "a simulated chair"
    SCENARIOS = "running a scenario"
    # admin
    USERS = "user administration"
    THRESHOLD_PROFILES = "changing a threshold profile"


#: The rights table: the role each action needs.  One role per action, as the issue lists them;
#: an action is not shared, so a refusal can always name exactly one role.
RIGHTS: Mapping[Action, Role] = {
    Action.SESSIONS: Role.NURSE,
    Action.INFUSION_STEPS: Role.NURSE,
    Action.ANNOTATIONS: Role.NURSE,
    Action.ACKNOWLEDGE: Role.NURSE,
    Action.AUDIO_PAUSE: Role.NURSE,
    Action.PRE_DOSE_OVERRIDE: Role.PHYSICIAN,
    Action.LIMIT_CHANGE_OUTSIDE_PROFILE: Role.PHYSICIAN,
    Action.DISCHARGE_OVERRIDE: Role.PHYSICIAN,
    Action.SIGN_OFF: Role.PHYSICIAN,
    Action.SIMULATED_CHAIRS: Role.QA,
    Action.SCENARIOS: Role.QA,
    Action.USERS: Role.ADMIN,
    Action.THRESHOLD_PROFILES: Role.ADMIN,
}


class RoleRefusedError(PermissionError):
    """An action the user's role does not allow; ``str()`` is the one line to show."""

    def __init__(self, action: Action) -> None:
        self.action = action
        self.needed = RIGHTS[action]
        super().__init__(refusal_text(action))


def refusal_text(action: Action) -> str:
    """``"sign-off needs the physician role"``."""
    return f"{action.value} needs the {RIGHTS[action].value} role"


def allowed(roles: Role | Iterable[Role], action: Action) -> bool:
    """Whether a user holding ``roles`` may do ``action``."""
    held = {roles} if isinstance(roles, Role) else set(roles)
    return RIGHTS[action] in held


def refusal(roles: Role | Iterable[Role], action: Action) -> str | None:
    """None when allowed, else the one line that says which role ``action`` needs."""
    return None if allowed(roles, action) else refusal_text(action)


def require(roles: Role | Iterable[Role], action: Action) -> None:
    """Raise :class:`RoleRefusedError` unless ``roles`` allow ``action``."""
    if not allowed(roles, action):
        raise RoleRefusedError(action)


def parse_role(text: str) -> Role:
    """The role named ``text`` (case-insensitive).

    Raises:
        ValueError: one line listing the roles.
    """
    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r}: one of {names}") from None
