"""What an accelerated simulated console legitimately logs on a busy machine, declared only
where the test shows the cause.

Why: at x60 to x300 a simulated monitor writes a whole minute of frames per wall second onto a
pty with no flow control, and drops what the host does not read in time, as a real monitor
does (``WireEndpoint._send``).  When the runner thread is starved (2 cores, several test
suites), frames arrive cut and the runner logs "frame error" warnings.  On a quiet machine a
x300 console drops nothing and logs none (checked: 385 kB sent, 0 dropped, 0 frame errors), so
these warnings are allowed only when an endpoint of the test really dropped bytes.

Likewise a fresh SQLite file is migrated within a 1 s budget at start-up
(``console.app.SCHEMA_WAIT_S``); on a loaded machine that budget can run out and the console
says so and opens the window anyway (the designed slow-database path).  Allowed for SQLite
URLs only: a PostgreSQL test that expects it says so itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devices.simulator.pty_endpoint import WireEndpoint

#: A simulated chair's runner ("runner-Chair 2") rejecting a frame the wire cut.
WIRE_LOSS = pytest.mark.expected_log("devices.runner", r"^runner-Chair \d+: frame error #\d+: ")
#: The start-up budget of a local SQLite file ran out (console.app).
SLOW_START = (
    pytest.mark.expected_log("console", r"^database sqlite:///\S+ has not answered within "),
    pytest.mark.expected_log(
        "console", r"^resumable simulated sessions not checked: the database is slow$"
    ),
)


def watch_simulated_wires(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[WireEndpoint]]:
    """Record every simulated wire the test starts; afterwards declare :data:`WIRE_LOSS` if
    one of them dropped bytes, and :data:`SLOW_START`.  For an autouse fixture (a generator:
    yields the endpoints started so far)."""
    started: list[WireEndpoint] = []
    original = WireEndpoint.start

    def start(self: WireEndpoint) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(WireEndpoint, "start", start)
    yield started
    if any(e.bytes_dropped for e in started):
        request.node.add_marker(WIRE_LOSS)
    for mark in SLOW_START:
        request.node.add_marker(mark)
