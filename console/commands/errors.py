"""The one error every headless command reports the same way: one line, exit code 2.

Its own module so that both the commands' shared helpers (console.commands.sessions) and the
log-in of ``--user`` (console.commands.login) can raise it without importing each other.
"""

from __future__ import annotations

#: Exit code of bad input, a database that cannot be used or a refused log-in.
EXIT_USAGE = 2


class CommandError(Exception):
    """A problem to report as one line on stderr with exit code 2."""
