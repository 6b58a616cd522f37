"""Expected-log markers shared by several fault tests (see tests/log_guard.py).

A fault that several tests provoke logs the same lines in each; naming them once keeps the
patterns in step with the code that logs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., object])

#: The writer noticed its SQLite file deleted or replaced under it, and put it back.
DATABASE_FILE_GONE = (
    pytest.mark.expected_log("storage", r"^database file \S+ was (deleted|replaced) while in use$"),
    pytest.mark.expected_log(
        "storage",
        r"^storage: database file \S+ was (deleted|replaced); "
        r"data are kept in the local journal until it is restored$",
    ),
    pytest.mark.expected_log(
        "storage", r"^database file \S+ restored from the copy the console still had open"
    ),
)

#: The database refused a batch (a foreign key, a check): it is kept aside, the rest written.
BATCH_REFUSED = (
    pytest.mark.expected_log(
        "storage",
        r"^storage: \d+ row\(s\) of batch \w+ not stored \(kept aside\): "
        r"the database refused it \((IntegrityError|ForeignKeyViolation)",
    ),
    pytest.mark.expected_log(
        "storage",
        r"^storage: \d+ row\(s\) could not be stored \(kept aside in rejected-\w+\.jsonl\): "
        r"the database refused it \((IntegrityError|ForeignKeyViolation)",
    ),
)

#: Batches held for a chair while it had no record go into its next one.
HELD_BATCHES_ADOPTED = (
    pytest.mark.expected_log(
        "storage", r"^chair [\w ]+: \d+ held batches from an earlier run go into its next record$"
    ),
)

#: No audio output on this machine (CI): the console raises its technical alarm.
NO_AUDIO_OUTPUT = (
    pytest.mark.expected_log("ui.sound", r"^alarm audio unavailable: no audio output device$"),
)


def expect_logs(*groups: tuple[pytest.MarkDecorator, ...]) -> Callable[[F], F]:
    """Apply every ``expected_log`` marker of the given groups to a test."""

    def apply(test: F) -> F:
        for group in groups:
            for mark in group:
                test = mark(test)
        return test

    return apply
