"""Headless subcommands of ``python main.py`` (``infusion-console``).

Each entry maps a subcommand to ``"module:function"``; the function takes the remaining argv
and returns the exit code.  Modules are imported only when their command runs, so the GUI start
does not pay for them.  Add a command by adding a module here and one line to :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import cast

#: name -> ("module:function", one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("console.commands.run:main", "run one whole session headless; JSON summary"),
    "sessions": ("console.commands.sessions:main", "list stored sessions (table or --json)"),
    "export": (
        "console.commands.export:main",
        "export one session as CSV (record_type column), PDF report or FHIR R4 Bundle",
    ),
    "desktop-entry": (
        "console.commands.desktop_entry:main",
        "add the console to a Linux desktop's application menu (--install)",
    ),
    "review": (
        "console.commands.review:main",
        "open the physician's review window (session browser, or --session ID)",
    ),
    "users": (
        "console.commands.users:main",
        "manage accounts and roles (add, list, disable, passwd)",
    ),
    "audit": (
        "console.commands.audit:main",
        "verify the tamper-evident audit trail, or show a session's entries",
    ),
}


def load_command(name: str) -> Callable[[Sequence[str]], int]:
    """Import and return the entry function of subcommand ``name``."""
    target, _help = COMMANDS[name]
    module_name, _, func_name = target.partition(":")
    module = importlib.import_module(module_name)
    return cast(Callable[[Sequence[str]], int], getattr(module, func_name))
