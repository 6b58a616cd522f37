"""When failed log-ins lock an account, and for how long (issue 16).

Pure arithmetic on counts and times, kept out of storage so the rule is stated once and tested
with any clock: 5 failed attempts in a row lock the account for 5 minutes; a correct password
while unlocked resets the count; once the lock has run out the count starts again from zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: Failed attempts in a row that lock an account.
MAX_FAILED_ATTEMPTS = 5
#: How long a locked account stays locked.
LOCK_DURATION = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class LockState:
    """An account's failed-attempt count and lock expiry, as stored."""

    failed_attempts: int = 0
    locked_until: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        """Whether the account is locked at ``now``."""
        return self.locked_until is not None and now < self.locked_until

    def current(self, now: datetime) -> LockState:
        """The state at ``now``: an expired lock is gone and its count with it."""
        if self.locked_until is not None and now >= self.locked_until:
            return LockState()
        return self

    def after_failure(self, now: datetime) -> LockState:
        """The state after one more wrong password at ``now`` (locks on the fifth)."""
        state = self.current(now)
        count = state.failed_attempts + 1
        if count >= MAX_FAILED_ATTEMPTS:
            return LockState(count, now + LOCK_DURATION)
        return LockState(count, None)
