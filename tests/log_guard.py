"""A pytest plugin: a test fails when our code logs a WARNING or ERROR it did not expect.

Loaded by the root ``conftest.py`` (``pytest_plugins``), so every test runs under it.  Kept in a
module of its own so that ``tests/test_log_guard.py`` can load the very same plugin into a
``pytester`` run and show that it fails a test.

Why: a warning in the log is how the console tells the operator something went wrong (a lost
journal, a dead link, a refused reading).  A test that passes while one of those is logged has
usually passed by accident; the guard makes it either a declared, asserted part of the test or
a failure.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

#: The marker a test uses to declare the warnings it provokes on purpose.
MARKER = "expected_log"

#: Third-party loggers whose warnings are theirs, not ours (a deprecation notice from a library
#: is not a fault in the console).  Prefixes of logger names; add one only with a reason.
NOISE_LOGGERS: tuple[str, ...] = (
    # Hypothesis reports its own health checks through pytest, not as our failures.
    "hypothesis",
    # Alembic logs "Context impl", "Will assume ..." at INFO; nothing of ours at WARNING.
    "alembic",
)


@dataclass(frozen=True)
class Expected:
    """One ``expected_log(logger, pattern)``: a logger name prefix and a message regex."""

    logger: str
    pattern: re.Pattern[str]

    def matches(self, record: logging.LogRecord) -> bool:
        """A record of this logger (or a child of it) whose message the pattern finds."""
        name = record.name
        in_logger = not self.logger or name == self.logger or name.startswith(self.logger + ".")
        return in_logger and self.pattern.search(record.getMessage()) is not None


class _Recorder(logging.Handler):
    """Keeps every WARNING-or-worse record from any thread while a test runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _is_noise(record: logging.LogRecord) -> bool:
    return any(record.name == p or record.name.startswith(p + ".") for p in NOISE_LOGGERS)


def expected_from(node: pytest.Item) -> list[Expected]:
    """All ``expected_log`` markers of a test (its own, its class's and its module's)."""
    expected: list[Expected] = []
    for mark in node.iter_markers(MARKER):
        if len(mark.args) != 2 or mark.kwargs:
            raise pytest.UsageError(
                f"{node.nodeid}: use @pytest.mark.{MARKER}(logger_prefix, message_regex)"
            )
        logger, pattern = mark.args
        expected.append(Expected(str(logger), re.compile(str(pattern))))
    return expected


def unexpected(records: list[logging.LogRecord], expected: list[Expected]) -> list[str]:
    """One line for each record that is neither noise nor declared by the test."""
    return [
        f"{r.levelname} {r.name} ({r.pathname.rsplit('/', 1)[-1]}:{r.lineno}, "
        f"thread {r.threadName}): {r.getMessage()}"
        for r in records
        if not _is_noise(r) and not any(e.matches(r) for e in expected)
    ]


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker here too, so a ``pytester`` run of this plugin knows it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(logger_prefix, message_regex): this test logs a matching WARNING/ERROR on "
        "purpose (tests/log_guard.py)",
    )


@pytest.fixture(autouse=True)
def _fail_on_unexpected_log(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test (at teardown) if a WARNING or worse was logged that it did not expect.

    Rules:

    * Every logger counts except the third-party ones in :data:`NOISE_LOGGERS`.  Records from
      any thread count (device runners and storage writers log on their own threads); a
      subprocess's log is not seen.
    * ``@pytest.mark.expected_log("storage", r"journal .* unreadable")`` allows records whose
      logger is ``storage`` or ``storage.*`` and whose message matches the regex
      (``re.search``).  Several markers may be stacked; a module-level ``pytestmark`` applies to
      all of its tests (use that only where every test there is a fault test).  The marker
      allows, it does not require: a warning that depends on timing stays allowed when it does
      not come.
    * A test that requests ``caplog`` owns its log: the guard steps aside, and the test is
      expected to assert on ``caplog.records`` (what it expects, and that nothing else came).
    * Fixture teardown is covered: the guard is torn down after the test's own fixtures, so a
      warning logged while a console shuts down fails the test too.  The markers are read
      then, so a fixture may add one (``request.node.add_marker``) for what it knows it caused.
    """
    if "caplog" in request.fixturenames:
        yield
        return
    recorder = _Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    # A root level raised above WARNING (by an earlier test's set-up) would hide warnings.
    old_level = root.level
    if old_level > logging.WARNING:
        root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(recorder)
        root.setLevel(old_level)
    # Read after the test: a fixture may declare what its set-up did (``node.add_marker``).
    bad = unexpected(recorder.records, expected_from(request.node))
    if bad:
        pytest.fail(
            f"{len(bad)} unexpected log record(s) at WARNING or above "
            f"(declare them with @pytest.mark.{MARKER}(logger, regex) or fix the code):\n  "
            + "\n  ".join(bad),
            pytrace=False,
        )
