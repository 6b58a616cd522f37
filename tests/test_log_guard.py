"""The log guard itself (tests/log_guard.py): it fails a test on an unexpected warning, and lets
through exactly what a test declares.  Run in an inner pytest session (``pytester``)."""

from __future__ import annotations

import pytest

INNER = """
import logging
import threading

import pytest

log = logging.getLogger("selftest.area")


def test_unexpected_warning():
    log.warning("boom 1")


def test_unexpected_error_on_another_thread():
    t = threading.Thread(target=lambda: log.error("from a runner thread"))
    t.start()
    t.join()


@pytest.mark.expected_log("selftest", r"^boom \\d+$")
def test_declared_warning():
    log.warning("boom 2")


@pytest.mark.expected_log("selftest", r"^boom \\d+$")
@pytest.mark.expected_log("selftest.area", r"lost")
def test_declared_twice():
    log.warning("boom 3")
    log.error("journal lost")


@pytest.mark.expected_log("selftest", r"^boom \\d+$")
def test_declared_but_another_message():
    log.warning("bang")


@pytest.mark.expected_log("selftest.are", r"boom")
def test_prefix_is_a_dotted_name_not_a_string_prefix():
    log.warning("boom 4")


def test_info_is_not_checked():
    log.info("all is well")


def test_noise_of_a_listed_library_is_ignored():
    logging.getLogger("alembic.runtime.migration").warning("not ours")


def test_a_caplog_test_owns_its_log(caplog):
    log.warning("boom 5")
    assert [r.getMessage() for r in caplog.records] == ["boom 5"]


@pytest.fixture
def noisy_fixture():
    yield
    log.warning("boom in teardown")


def test_a_fixture_teardown_is_covered(noisy_fixture):
    pass
"""

#: Inner test -> does the guard fail it?
GUARDED = {
    "test_unexpected_warning": True,
    "test_unexpected_error_on_another_thread": True,
    "test_declared_warning": False,
    "test_declared_twice": False,
    "test_declared_but_another_message": True,
    "test_prefix_is_a_dotted_name_not_a_string_prefix": True,
    "test_info_is_not_checked": False,
    "test_noise_of_a_listed_library_is_ignored": False,
    "test_a_caplog_test_owns_its_log": False,
    "test_a_fixture_teardown_is_covered": True,
}


# The inner tests log in this process: the outer guard sees them too, and they are expected.
@pytest.mark.expected_log("selftest", r"")
def test_the_guard_fails_exactly_the_unexpected_warnings(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.log_guard"]\n')
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rA")
    out = result.stdout.str()
    failing = sum(GUARDED.values())
    # Each guarded test passes its body and errors at teardown, where the guard runs.
    result.assert_outcomes(passed=len(GUARDED), errors=failing)
    for name, guarded in GUARDED.items():
        assert (f"ERROR test_inner.py::{name} - " in out) is guarded, name
    assert "WARNING selftest.area (test_inner.py:" in out
    assert "boom 1" in out
    assert "from a runner thread" in out
    assert "thread Thread-" in out  # which thread logged it
    assert "boom in teardown" in out
    assert "not ours" not in out.split("short test summary")[-1]


def test_a_malformed_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tests.log_guard"]\n')
    pytester.makepyfile(
        test_inner="""
import pytest

@pytest.mark.expected_log("only a logger")
def test_it():
    pass
"""
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert "use @pytest.mark.expected_log(logger_prefix, message_regex)" in result.stdout.str()
    assert result.ret != 0
