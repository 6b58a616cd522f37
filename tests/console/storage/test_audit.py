"""The audit trail (issue 16) on both backends: an honest record verifies, and one edited,
deleted or inserted reading, alarm-log row, event or trail entry is found and named."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from console.commands import audit as audit_cmd
from console.domain.alarms import AlarmEvent, AlarmEventKind, Direction, Priority
from console.domain.session import EventKind, Phase, SessionEvent
from console.storage.audit import (
    GENESIS_HASH,
    append_entry,
    canonical_json,
    entry_content,
    entry_hash,
)
from console.storage.audit_verify import TrailBrokenError, snapshot, verify
from console.storage.engine import make_engine
from console.storage.repository import SessionRepository
from console.storage.review import ReviewRepository
from console.storage.schema import AuditEntryRow, AuditHeadRow
from console.storage.writer import (
    AlarmItem,
    ProfileChangeItem,
    ReadingsItem,
    SessionEndItem,
    SessionEventItem,
    StorageWriter,
    TechnicalItem,
)
from devices.model import METRIC_UNITS, Metric, Reading, TechnicalEvent, TechnicalEventKind

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NURSE = "nurse Ann"
PHYSICIAN = "Dr Bee"
READING_BATCHES = 4


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _alarm(kind: AlarmEventKind, minutes: float, actor: str | None = None) -> AlarmEvent:
    return AlarmEvent(
        kind,
        "NIBP_SYS:high",
        Metric.NIBP_SYS,
        Direction.HIGH,
        Priority.HIGH,
        205.0,
        200.0,
        at(minutes),
        "SBP 205 >= 200",
        actor,
    )


def _readings(batch: int) -> tuple[Reading, ...]:
    return tuple(
        Reading(metric, 60.0 + batch + i, METRIC_UNITS[metric], at(batch) + timedelta(seconds=i))
        for i, metric in enumerate((Metric.HR, Metric.SPO2, Metric.NIBP_SYS))
    )


def honest_session(engine: Engine) -> int:
    """A real session through the repository and the writer: readings, a technical event,
    alarm onset/acknowledge/audio pause, lifecycle events, a discharge check, a limit change,
    its end and the physician's sign-off."""
    repo = SessionRepository(engine)
    repo.upgrade()
    pid = repo.add_patient("MRN-A1", "A.B.", weight_kg=70, weight_measured_on=date(2026, 3, 1))
    sid = repo.create_session(
        chair="Chair 1", started_at=T0, simulated=False, device_kind="ge-datex", patient_id=pid
    )
    writer = StorageWriter(engine)
    writer.start()
    try:
        for batch in range(READING_BATCHES):
            writer.submit(ReadingsItem(sid, _readings(batch)))
            assert writer.flush(timeout_s=10)
        writer.submit(TechnicalItem(sid, TechnicalEvent(TechnicalEventKind.CONNECTED, at(0))))
        writer.submit(AlarmItem(sid, _alarm(AlarmEventKind.ONSET, 5)))
        writer.submit(AlarmItem(sid, _alarm(AlarmEventKind.ACKNOWLEDGED, 6, NURSE)))
        writer.submit(AlarmItem(sid, _alarm(AlarmEventKind.AUDIO_PAUSED, 6, NURSE)))
        writer.submit(AlarmItem(sid, _alarm(AlarmEventKind.END, 8)))
        for kind, minutes, extra in (
            (EventKind.BASELINE_VITALS, 1, {}),
            (
                EventKind.INFUSION_PLANNED,
                2,
                {"dose_mg": 35.0, "rate_ml_per_h": 50.0, "data": {"weight_kg": 70}},
            ),
            (EventKind.INFUSION_START, 3, {"phase": Phase.INFUSION}),
            (EventKind.DISCHARGE_CHECK, 30, {"data": {"item": "alert", "passed": True}}),
        ):
            event = SessionEvent(kind=kind.value, at=at(minutes), author=NURSE, **extra)
            writer.submit(SessionEventItem(sid, event))
        writer.submit(
            ProfileChangeItem(at(4), PHYSICIAN, "tolerant", '{"sys": 180}', '{"sys": 190}', sid)
        )
        writer.submit(SessionEndItem(sid, at(40)))
        assert writer.flush(timeout_s=10)
    finally:
        writer.stop()
    ReviewRepository(engine).sign_off(sid, by=PHYSICIAN, note="seen")
    return sid


def _entries(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(AuditEntryRow)) or 0)


def _verify_line(engine: Engine, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = audit_cmd.main(["verify", "--db", engine.url.render_as_string(hide_password=False)])
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("\n") == 1, out
    return code, out.rstrip("\n")


def _tamper(engine: Engine, sql: str) -> None:
    """Change the database behind the console's back, as someone with the tables' owner
    rights would: every guard the database has is switched off for it first (PostgreSQL: the
    trail's append-only trigger and the signed record's triggers; SQLite: the signed record's
    triggers, dropped and created again).  The trail must still find the change."""
    pg = engine.dialect.name == "postgresql"
    guarded = ("audit_trail", "events", "discharge_checks", "session_reviews")
    with engine.begin() as conn:
        if pg:
            for table in guarded:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            conn.execute(text(sql))
            for table in guarded:
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            return
        triggers = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        ).all()
        for name, _sql in triggers:
            conn.execute(text(f'DROP TRIGGER "{name}"'))
        conn.execute(text(sql))
        for _name, create in triggers:
            conn.execute(text(str(create)))


def test_an_honest_record_verifies(migrated: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    sid = honest_session(migrated)
    code, line = _verify_line(migrated, capsys)
    assert code == 0
    assert line == (
        f"audit trail intact: {_entries(migrated)} entries, {READING_BATCHES} batches of readings"
    )
    with migrated.connect() as conn:
        actions = set(conn.scalars(select(AuditEntryRow.action)))
        actors = dict(
            conn.execute(
                select(AuditEntryRow.action, AuditEntryRow.actor).where(
                    AuditEntryRow.session_id == sid
                )
            ).all()
        )
    assert {
        "trail_started",
        "patient_added",
        "session_start",
        "readings_batch",
        "technical_batch",
        "alarm_onset",
        "alarm_acknowledged",
        "alarm_audio_paused",
        "event_infusion_planned",
        "discharge_check",
        "limit_change",
        "session_end",
        "sign_off",
    } <= actions
    assert actors["alarm_acknowledged"] == NURSE
    assert actors["limit_change"] == PHYSICIAN
    assert actors["sign_off"] == PHYSICIAN


FIRST_READING = "(SELECT min(id) FROM readings)"
READING_COLUMNS = "session_id, parameter, value, unit, valid, flags, device_time, received_at"

TAMPERING = {
    "reading edited": (
        f"UPDATE readings SET value = value + 1 WHERE id = {FIRST_READING}",
        r"at entry \d+ \(readings_batch, session 1\): readings row 1 edited",
    ),
    "reading deleted": (
        "DELETE FROM readings WHERE id = 5",
        r"at entry \d+ \(readings_batch, session 1\): readings row 5 deleted",
    ),
    "reading inserted": (
        f"INSERT INTO readings ({READING_COLUMNS}) SELECT {READING_COLUMNS} FROM readings "
        f"WHERE id = {FIRST_READING}",
        rf"^audit trail broken: readings row {3 * READING_BATCHES + 1} inserted "
        r"\(no trail entry records it\)$",
    ),
    "alarm log row edited": (
        "UPDATE alarm_log SET actor = 'somebody else' WHERE kind = 'acknowledged'",
        r"at entry \d+ \(alarm_acknowledged, session 1\): alarm_log row 2 edited",
    ),
    "event edited": (
        "UPDATE events SET author = 'somebody else' WHERE kind = 'infusion_planned'",
        r"at entry \d+ \(event_infusion_planned, session 1\): events row 2 edited",
    ),
    "session row edited": (
        "UPDATE sessions SET phase = 'closed'",
        r"^audit trail broken: sessions row 1 edited \(phase is not what entry \d+ "
        r"\(event_infusion_start, session 1\) set\)$",
    ),
    "session plan edited": (
        "UPDATE sessions SET dose_mg = 70",
        r"^audit trail broken: sessions row 1 edited \(dose_mg is not what entry \d+ "
        r"\(event_infusion_planned, session 1\) set\)$",
    ),
    "trail entry edited": (
        "UPDATE audit_trail SET actor = 'somebody else' WHERE action = 'limit_change'",
        r"at entry \d+ \(limit_change, session 1\): edited \(its hash does not match",
    ),
    "trail entry deleted": (
        "DELETE FROM audit_trail WHERE seq = 4",
        r"at entry 5 \(readings_batch, session 1\): entry 4 was deleted before it$",
    ),
    "newest trail entry deleted": (
        "DELETE FROM audit_trail WHERE seq = (SELECT max(seq) FROM audit_trail)",
        r"after entry \d+ \(technical_batch, session 1\): entry \d+ was deleted "
        r"\(the chain head says \d+\)$",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_found_and_named(
    case: str, migrated: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    sql, expected = TAMPERING[case]
    honest_session(migrated)
    assert _verify_line(migrated, capsys)[0] == 0
    _tamper(migrated, sql)
    code, line = _verify_line(migrated, capsys)
    assert code == 1
    assert line.startswith("audit trail broken")
    assert re.search(expected, line), line


def test_an_entry_rewritten_with_its_own_hash_breaks_the_next_link(migrated: Engine) -> None:
    """Recomputing an edited entry's hash is not enough: the next entry no longer follows."""
    honest_session(migrated)
    with migrated.connect() as conn:
        seq = int(
            conn.execute(
                select(AuditEntryRow.seq).where(AuditEntryRow.action == "sign_off")
            ).scalar_one()
        )
        row = conn.execute(select(AuditEntryRow).where(AuditEntryRow.seq == seq - 1)).one()
    values = dict(row._mapping)
    values["actor"] = "somebody else"
    forged = entry_hash(values["prev_hash"], entry_content(values))
    _tamper(
        migrated,
        f"UPDATE audit_trail SET actor = 'somebody else', hash = '{forged}' WHERE seq = {seq - 1}",
    )
    with migrated.connect() as conn, pytest.raises(TrailBrokenError) as info:
        verify(conn)
    assert f"at entry {seq - 1} (" in str(info.value)
    assert f"edited or replaced (entry {seq} does not follow from it)" in str(info.value)


def test_concurrent_appends_do_not_fork_the_chain(migrated: Engine) -> None:
    honest_session(migrated)
    threads_n, each = 4, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def work(n: int) -> None:
        try:
            start.wait()
            for k in range(each):
                with migrated.begin() as conn:
                    append_entry(
                        conn, actor=f"user {n}", action="test_append", target_table="x", after=k
                    )
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    writer = StorageWriter(migrated)
    writer.start()
    try:
        for w in workers:
            w.start()
        for batch in range(10):  # the storage writer appends meanwhile too
            writer.submit(ReadingsItem(1, _readings(100 + batch)))
        for w in workers:
            w.join(60)
        assert writer.flush(timeout_s=30)
    finally:
        writer.stop()
    assert errors == []
    with migrated.connect() as conn:
        seqs = list(conn.scalars(select(AuditEntryRow.seq).order_by(AuditEntryRow.seq)))
        links = conn.execute(
            select(AuditEntryRow.prev_hash, AuditEntryRow.hash).order_by(AuditEntryRow.seq)
        ).all()
        head = conn.execute(select(AuditHeadRow.seq, AuditHeadRow.hash)).one()
        result = verify(conn)
    assert seqs == list(range(1, len(seqs) + 1))
    assert links[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(links))
    assert (head.seq, head.hash) == (seqs[-1], links[-1].hash)
    assert result.entries == len(seqs)
    assert result.reading_batches >= READING_BATCHES + 1


def test_show_lists_a_sessions_entries(
    migrated: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = honest_session(migrated)
    url = migrated.url.render_as_string(hide_password=False)
    assert audit_cmd.main(["show", "--session", str(sid), "--db", url, "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert entries[0]["action"] == "session_start"
    assert set(entries[0]) == {
        "seq",
        "at",
        "actor",
        "action",
        "target_table",
        "target_id",
        "session_id",
        "before",
        "after",
        "prev_hash",
        "hash",
    }
    acks = [e for e in entries if e["action"] == "alarm_acknowledged"]
    assert acks[0]["actor"] == NURSE
    assert acks[0]["after"]["condition"] == "NIBP_SYS:high"
    assert audit_cmd.main(["show", "--session", str(sid), "--db", url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "SEQ",
        "AT",
        "(UTC)",
        "ACTOR",
        "ACTION",
        "TARGET",
        "BEFORE",
        "AFTER",
    ]
    assert len(table) == len(entries) + 1
    assert any("sign_off" in line and PHYSICIAN in line for line in table)
    assert audit_cmd.main(["show", "--session", "999", "--db", url]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize(
    "value",
    [
        None,
        "x",
        1,
        1.5,
        -0.0,
        True,
        [1, 'é\n"', None, False],
        {"b": [1, {"z": 1, "a": 2}], "a": ""},
    ],
)
def test_canonical_json_is_sorted_compact_utf8_json(value: object) -> None:
    """The documented serialization, whichever encoder the module picked."""
    assert canonical_json(value) == json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert canonical_json({"t": datetime(2026, 3, 1, 10, 0, tzinfo=UTC)}) == (
        '{"t":"2026-03-01T10:00:00.000000+00:00"}'
    )
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json(float("nan"))


def test_verify_while_a_writer_appends_sees_one_moment(migrated: Engine) -> None:
    """A console keeps writing while verify reads: every pass is intact, none half-sees a
    batch (rows without their entry, or an entry without its rows)."""
    sid = honest_session(migrated)
    stop = threading.Event()
    writer = StorageWriter(migrated, batch_interval_s=0.01)
    writer.start()

    def feed() -> None:
        batch = 1000
        while not stop.is_set():
            writer.submit(ReadingsItem(sid, _readings(batch)))
            batch += 1
            stop.wait(0.005)

    feeder = threading.Thread(target=feed)
    feeder.start()
    seen: list[int] = []
    try:
        for _ in range(5):
            with snapshot(migrated) as conn:
                seen.append(verify(conn).reading_batches)
    finally:
        stop.set()
        feeder.join(10)
        assert writer.flush(timeout_s=30)
        writer.stop()
    assert seen == sorted(seen)
    with snapshot(migrated) as conn:
        assert verify(conn).reading_batches >= seen[-1]


@pytest.mark.expected_log(
    "storage",
    r"^storage: database unavailable: OperationalError: no such table: audit_head "
    r"\(spooling to the local journal\)$",
)
def test_batches_replayed_from_the_journal_are_in_the_trail(tmp_path: Path) -> None:
    """Readings spooled while the database was unusable get their entries when replayed."""
    url = f"sqlite:///{tmp_path / 'late.sqlite3'}"
    engine = make_engine(url)
    writer = StorageWriter(engine, journal_dir=tmp_path / "journal")
    writer.start()
    try:
        for batch in range(3):
            writer.submit(ReadingsItem(1, _readings(batch)))
        assert not writer.flush(timeout_s=1.0)  # no tables yet: spooled
        assert writer.batches_spooled >= 1
        repo = SessionRepository(engine)
        repo.upgrade()
        repo.create_session(chair="c", started_at=T0, simulated=False, device_kind="ge-datex")
        assert writer.flush(timeout_s=10.0)
    finally:
        writer.stop()
    with snapshot(engine) as conn:
        result = verify(conn)
    engine.dispose()
    assert result.reading_batches >= 1
    assert len(SessionRepository(make_engine(url)).readings(1)) == 3 * 3


def test_the_audit_command_is_headless(tmp_path: Path) -> None:
    """``infusion-console audit`` through the real entry point, without importing Qt."""
    url = f"sqlite:///{tmp_path / 'record.sqlite3'}"
    engine = make_engine(url)
    honest_session(engine)
    engine.dispose()
    probe = (
        "import sys\n"
        "from console.cli import main\n"
        f"code = main(['audit', 'verify', '--db', {url!r}])\n"
        "print(code, any(m.startswith('PySide6') for m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    lines = result.stdout.splitlines()
    assert lines[0].startswith("audit trail intact: "), result.stdout + result.stderr
    assert lines[1] == "0 False"
