"""Replay a real monitor capture as a virtual monitor (GE Datex DRI).

The capture's physiological records are sent again at the pace they were recorded (their
``r_time`` spacing, relative to the first record), once the console has sent its
displayed-values request, exactly as the real monitor would have.  The bytes are the
capture's own records, re-framed; their device times stay those of the recording, so the console
sees a real monitor's clock next to its own.  Wave records and frames that fail their checksum
in the capture are left out (they are the capture's own damage, not the scenario's).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from devices.errors import ProtocolError
from devices.protocols import ge_datex
from devices.simulator.faults import MonitorFaults, corrupt_frame

#: A real monitor does not replay what it failed to send; catch up at most this many records.
MAX_CATCH_UP_RECORDS = 120  # enough to ride out a host stall at x300 without dropping data


def load_capture(path: Path) -> list[tuple[float, bytes]]:
    """(seconds since the first record, unframed record) of every PHDB record in a capture."""
    framer = ge_datex.DatexFramer()
    records = framer.feed(path.read_bytes()).records
    timed: list[tuple[int, bytes]] = []
    for record in records:
        try:
            decoded = ge_datex.decode_record(record)
        except ProtocolError:
            continue
        if decoded.maintype == ge_datex.DRI_MT_PHDB and ge_datex.decode_displayed_values(decoded):
            timed.append((decoded.r_time, record))
    if not timed:
        raise ValueError(f"{path}: no displayed-values records to replay")
    t0 = timed[0][0]
    return [(float(t - t0), record) for t, record in timed]


class DatexReplayMonitor:
    """A virtual DRI monitor whose output is a real capture."""

    def __init__(self, capture: Path, session_start: datetime) -> None:
        self.capture = capture
        self.session_start = session_start
        self.records = load_capture(capture)
        self.faults = MonitorFaults()
        self._framer = ge_datex.DatexFramer()
        self._origin_s: float | None = None
        self._next = 0
        self.requests_seen = 0
        self.records_sent = 0

    @property
    def duration_s(self) -> float:
        """Length of the recording."""
        return self.records[-1][0]

    def session_seconds(self, now: datetime) -> float:
        """Session time of ``now``."""
        return (now - self.session_start).total_seconds()

    def receive(self, data: bytes, now: datetime) -> None:
        """A displayed-values request starts the replay (a stop request ends it)."""
        for record in self._framer.feed(data).records:
            request = ge_datex.parse_phdb_request(record)
            if request is None:
                continue
            self.requests_seen += 1
            if request.interval_s <= 0:
                self._origin_s = None
            elif self._origin_s is None:
                # Resume where the recording was: a re-sent request after a reconnect continues.
                done = self.records[self._next - 1][0] if self._next else 0.0
                self._origin_s = self.session_seconds(now) - done

    def due(self, now: datetime) -> list[bytes]:
        """The recorded records whose time has come."""
        if self._origin_s is None:
            return []
        elapsed = self.session_seconds(now) - self._origin_s
        out: list[bytes] = []
        while self._next < len(self.records) and self.records[self._next][0] <= elapsed:
            record = self.records[self._next][1]
            self._next += 1
            if len(out) >= MAX_CATCH_UP_RECORDS or self.faults.silent:
                continue
            frame = ge_datex.frame_record(record)
            how = self.faults.take_corruption()
            out.append(frame if how is None else corrupt_frame(frame, how))
            self.records_sent += 1
        return out

    def seconds_until_due(self, now: datetime) -> float | None:
        """Session seconds until the next recorded record, None when idle or finished."""
        if self._origin_s is None or self._next >= len(self.records):
            return None
        at = self._origin_s + self.records[self._next][0]
        return max(0.0, at - self.session_seconds(now))
