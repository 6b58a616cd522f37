"""``run``'s verdict checks the record and says only true things about it (issue 12: 2, 3, 7).

Each test runs ``python main.py run`` as QA does (a subprocess) against a real fault: a port that
cannot be opened, a device that never talks, a filesystem that is really full (a small tmpfs),
a database locked by another process when the run ends.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.runs import (
    ROOT,
    finish,
    rerun_writes_the_journal,
    run,
    run_cmd,
    run_env,
    scenario_file,
)

pytestmark = pytest.mark.slow


# -- item 7: a port that cannot be opened ------------------------------------------------------
@pytest.mark.parametrize(
    ("port", "extra"),
    [
        ("/dev/no-such-port", []),
        ("REGULAR_FILE", []),
        ("DIRECTORY", []),
        ("/dev/null", []),
        ("socket://127.0.0.1:1", []),
        ("/dev/null", ["--baud", "-5"]),
    ],
)
def test_a_port_that_cannot_be_opened_is_one_line_and_exit_2(
    tmp_path: Path, port: str, extra: list[str]
) -> None:
    if port == "REGULAR_FILE":
        port = str(tmp_path / "plain.txt")
        Path(port).write_text("not a serial port\n")
    elif port == "DIRECTORY":
        port = str(tmp_path)
    db = tmp_path / "qa.db"
    code, summary, stderr = run(
        run_env(tmp_path),
        "--device",
        "ge-datex",
        "--port",
        port,
        "--duration",
        "5",
        "--db",
        f"sqlite:///{db}",
        *extra,
        timeout=60,
    )
    assert code == 2, stderr
    assert summary == {}
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr
    assert not db.exists()  # no session was opened for it


# -- item 7: a device that opens and never talks ------------------------------------------------
@pytest.mark.parametrize("device", ["ge-datex", "datex"])  # the kind or the protocol (issue 15)
def test_a_silent_device_fails_with_the_communication_loss(tmp_path: Path, device: str) -> None:
    master, slave = os.openpty()
    try:
        code, summary, stderr = run(
            run_env(tmp_path),
            "--device",
            device,
            "--port",
            os.ttyname(slave),
            "--duration",
            "60",
            "--speed",
            "20",
            "--db",
            f"sqlite:///{tmp_path / 'qa.db'}",
            timeout=60,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert code == 1, stderr
    assert summary["passed"] is False
    assert summary["readings"] == {}
    assert "no reading was received" in stderr
    lost = [e for e in summary["technical_episodes"] if e["kind"] == "COMM_LOST"]
    assert lost
    assert lost[0]["scripted"] is False
    assert "unscripted communication loss COMM_LOST" in stderr


# -- item 7: the record in the summary -----------------------------------------------------------
def test_the_summary_has_the_record_per_parameter(tmp_path: Path) -> None:
    code, summary, stderr = run(
        run_env(tmp_path),
        "--scenario",
        str(scenario_file(tmp_path, 10)),
        "--db",
        f"sqlite:///{tmp_path / 'qa.db'}",
    )
    assert code == 0, stderr
    # The contract of the earlier summary is kept, field for field.
    contract = {
        "session_id",
        "scenario",
        "protocol",
        "device",
        "speed",
        "seed",
        "duration_s",
        "simulated",
        "readings",
        "invalid_readings",
        "frame_errors",
        "alarms",
        "expected",
        "unexpected",
        "passed",
    }
    assert contract <= set(summary)
    record = summary["record"]
    assert set(record) >= {"HR", "SPO2", "PR", "RR", "TEMP", "NIBP_SYS"}
    for parameter, row in record.items():
        assert row["sent"] > 0, parameter
        assert row["sent"] == row["received"] == row["stored"], (parameter, row)
        assert row["journaled"] == 0
        assert row["lost"] == 0
    assert record["HR"]["sent"] == 599  # one record a second, 1..599 s (600 s is the end)
    assert summary["technical_episodes"] == []
    assert summary["storage"]["ended_at_stored"] is True
    with sqlite3.connect(tmp_path / "qa.db") as db:
        ended = db.execute("SELECT ended_at FROM sessions").fetchone()[0]
    assert ended is not None


# -- item 2: a full disk -------------------------------------------------------------------------
@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A really small filesystem (tmpfs, 640 KiB): needs root, as on the CI machine."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=640k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_keeps_the_rest_in_the_journal_and_says_so(
    tmp_path: Path, small_tmpfs: Path
) -> None:
    db_url = f"sqlite:///{small_tmpfs / 'qa.db'}"
    env = run_env(tmp_path, data_home=tmp_path / "data")  # the journal is on a disk with room
    code, summary, stderr = run(env, "--scenario", str(scenario_file(tmp_path, 30)), "--db", db_url)
    assert code == 1, stderr
    assert summary["passed"] is False
    hr = summary["record"]["HR"]
    assert hr["sent"] == 1799
    assert hr["stored"] > 0  # the disk filled up part-way
    assert hr["journaled"] > 0
    assert hr["stored"] + hr["journaled"] == hr["sent"]
    assert all(row["lost"] == 0 for row in summary["record"].values())
    journal = summary["storage"]["journal"]
    assert journal
    assert Path(journal).is_file()
    assert str(tmp_path / "data") in journal
    assert summary["storage"]["ended_at_journaled"] is True
    assert f"kept in the journal {journal}" in stderr
    assert "<memory>" not in stderr

    # Room again: the next run writes the kept batches first, and the first session is whole.
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    assert rerun_writes_the_journal(
        env, tmp_path, small_tmpfs / "qa.db", summary["session_id"]
    ) == (
        hr["sent"],
        True,
    )


def test_full_disk_for_the_journal_too_reports_the_loss(tmp_path: Path, small_tmpfs: Path) -> None:
    env = run_env(tmp_path, data_home=small_tmpfs / "data")  # database and journal both full
    code, summary, stderr = run(
        env,
        "--scenario",
        str(scenario_file(tmp_path, 30)),
        "--db",
        f"sqlite:///{small_tmpfs / 'qa.db'}",
    )
    assert code == 1, stderr
    assert summary["passed"] is False
    hr = summary["record"]["HR"]
    assert hr["lost"] > 0
    assert hr["stored"] + hr["journaled"] + hr["lost"] == hr["sent"]
    assert summary["storage"]["lost_batches"] > 0
    assert "readings lost (not stored, not journaled)" in stderr
    assert "<memory>" not in stderr
    assert "for next start" not in stderr  # nothing in memory is "kept"


def test_a_file_size_limit_on_database_and_journal_reports_the_loss(tmp_path: Path) -> None:
    """The same with RLIMIT_FSIZE (no root needed): every file the run writes stops at 640 KiB."""
    limit = 640 * 1024
    proc = subprocess.run(
        run_cmd(
            "--scenario", str(scenario_file(tmp_path, 30)), "--db", f"sqlite:///{tmp_path / 'q.db'}"
        ),
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        env=run_env(tmp_path),
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
    )
    code, summary, stderr = finish(proc)
    assert code == 1, stderr
    hr = summary["record"]["HR"]
    assert hr["stored"] > 0
    assert hr["lost"] > 0
    assert hr["stored"] + hr["journaled"] + hr["lost"] == hr["sent"] == 1799
    assert summary["storage"]["ended_at_stored"] is False
    assert "readings lost (not stored, not journaled)" in stderr
    assert "the end of the session (ended_at) was not stored" in stderr
    assert "<memory>" not in stderr


# -- item 3: the database is down when the run ends ----------------------------------------------
def test_database_down_at_the_end_still_prints_the_summary(tmp_path: Path) -> None:
    db_path = tmp_path / "qa.db"
    env = run_env(tmp_path, data_home=tmp_path / "data")
    scenario = str(scenario_file(tmp_path, 30))
    proc = subprocess.Popen(
        run_cmd("--scenario", scenario, "--db", f"sqlite:///{db_path}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    lock = None
    try:
        deadline = time.monotonic() + 60
        while lock is None and time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                with sqlite3.connect(db_path, timeout=0.1) as db:
                    (n,) = db.execute("SELECT count(*) FROM readings").fetchone()
            except sqlite3.Error:
                continue
            if n > 200:  # the run is under way: another process locks the database for good
                lock = sqlite3.connect(db_path, timeout=10, isolation_level=None)
                lock.execute("BEGIN EXCLUSIVE")
        assert lock is not None, "the run never stored a reading"
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if lock is not None:
            lock.execute("ROLLBACK")
            lock.close()
    assert "Traceback" not in stderr
    assert proc.returncode == 1, stderr
    summary = json.loads(stdout)
    assert summary["passed"] is False
    hr = summary["record"]["HR"]
    assert hr["journaled"] > 0
    assert hr["lost"] == 0
    assert hr["stored"] + hr["journaled"] == hr["sent"]
    assert summary["storage"]["ended_at_stored"] is False
    assert summary["storage"]["ended_at_journaled"] is True
    assert "kept in the journal" in stderr

    # The database is back: the next run writes the journal, and the first session is whole.
    assert rerun_writes_the_journal(env, tmp_path, db_path, summary["session_id"]) == (
        hr["sent"],
        True,
    )
