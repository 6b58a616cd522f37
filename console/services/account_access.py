"""What the screens may use of the accounts (issue 16): log-in, PIN check and the rights table.

The UI reaches storage only through the services layer (an import-linter contract), so the
later shift log-in, PIN quick switch and idle lock screen name here what they use:

- ``AccountRepository(engine).has_accounts()``: whether to ask for a log-in at all (a database
  without accounts runs as before, with typed names);
- ``.authenticate(name, password)`` and ``.verify_pin(name, pin)``: the :class:`Account`, or
  :class:`AuthError` / :class:`AccountLockedError` with the one line to show;
- :func:`require` / :func:`refusal` with ``account.role`` and an :class:`Action`: the one line
  that names the role an action needs.

These calls touch the database: from a widget, run them on the DatabaseTasks worker, never on
the GUI thread.
"""

from __future__ import annotations

from console.domain.roles import Action, Role, RoleRefusedError, allowed, refusal, require
from console.storage.accounts import (
    Account,
    AccountError,
    AccountLockedError,
    AccountRepository,
    AuthError,
)

__all__ = [
    "Account",
    "AccountError",
    "AccountLockedError",
    "AccountRepository",
    "Action",
    "AuthError",
    "Role",
    "RoleRefusedError",
    "allowed",
    "refusal",
    "require",
]
