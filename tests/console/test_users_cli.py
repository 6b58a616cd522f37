"""The command-line contracts of issue 16, end to end in subprocesses on SQLite.

``users add/list/disable/passwd`` (the first admin, the new password on standard input, the
admin's from INFUSION_CONSOLE_PASSWORD), and ``--user`` on ``run``, ``sessions``, ``export``
and ``review`` of a database with accounts: without it one line and exit 2, ``run`` only for
the qa role; without accounts every command works as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.console.runs import scenario_file

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PW = "Adm1n-Secret-XYZ"
QA_PW = "Qa-Secret-ABCDEF"
NURSE_PW = "Nurse-Secret-QRS"

pytestmark = pytest.mark.slow


def cli(
    *args: str, stdin: str = "", password: str | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("INFUSION_CONSOLE_PASSWORD", None)
    env["QT_QPA_PLATFORM"] = "offscreen"
    if password is not None:
        env["INFUSION_CONSOLE_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )


def refused(proc: subprocess.CompletedProcess[str], text: str) -> None:
    """Exit 2 with exactly one line on stderr that says ``text``."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert text in proc.stderr, proc.stderr


def test_users_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    refused(
        cli("users", "add", "bob", "--role", "nurse", "--db", db, stdin=NURSE_PW + "\n"),
        "the first must be an admin (--role admin), not nurse",
    )
    first = cli("users", "add", "alice", "--role", "admin", "--db", db, stdin=ADMIN_PW + "\n")
    assert first.returncode == 0, first.stderr
    assert "added alice (admin)" in first.stderr
    refused(
        cli("users", "add", "bob", "--role", "nurse", "--db", db, stdin=NURSE_PW + "\n"),
        "users add needs --user NAME",
    )
    refused(
        cli(
            "users", "add", "bob", "--role", "nurse", "--user", "alice", "--db", db,
            stdin=NURSE_PW + "\n", password="wrong-admin-pw",
        ),
        "wrong user name or password",
    )  # fmt: skip
    for name, role, pw in (("bob", "nurse", NURSE_PW), ("quinn", "qa", QA_PW)):
        added = cli(
            "users", "add", name, "--role", role, "--user", "alice", "--db", db,
            stdin=pw + "\n", password=ADMIN_PW,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    refused(
        cli(
            "users", "add", "eve", "--role", "admin", "--user", "bob", "--db", db,
            stdin="Eve-Secret-123\n", password=NURSE_PW,
        ),
        "user administration needs the admin role",
    )  # fmt: skip
    listing = cli("users", "list", "--json", "--user", "alice", "--db", db, password=ADMIN_PW)
    assert listing.returncode == 0, listing.stderr
    users = {u["name"]: (u["role"], u["status"]) for u in json.loads(listing.stdout)}
    assert users == {
        "alice": ("admin", "active"),
        "bob": ("nurse", "active"),
        "quinn": ("qa", "active"),
    }
    table = cli("users", "list", "--user", "alice", "--db", db, password=ADMIN_PW)
    assert table.stdout.splitlines()[0].split() == ["NAME", "ROLE", "STATUS", "FULL", "NAME"]
    changed = cli(
        "users", "passwd", "bob", "--user", "alice", "--db", db,
        stdin="Nurse-New-Secret\n", password=ADMIN_PW,
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    refused(cli("sessions", "--user", "bob", "--db", db, password=NURSE_PW), "wrong user name")
    assert cli("sessions", "--user", "bob", "--db", db, password="Nurse-New-Secret").returncode == 0
    disabled = cli("users", "disable", "bob", "--user", "alice", "--db", db, password=ADMIN_PW)
    assert disabled.returncode == 0, disabled.stderr
    refused(
        cli("sessions", "--user", "bob", "--db", db, password="Nurse-New-Secret"),
        "account bob is disabled",
    )
    refused(cli("users", "list", "--db", db, password=ADMIN_PW), "users list needs --user NAME")
    # No password variable and no terminal: one line, never the new password line of stdin.
    refused(
        cli("users", "passwd", "quinn", "--user", "alice", "--db", db, stdin="Stolen-Line-1\n"),
        "no password: set INFUSION_CONSOLE_PASSWORD",
    )


def test_commands_need_user_on_a_database_with_accounts(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    short = str(scenario_file(tmp_path, 2))
    # Without accounts: as before (no --user).
    before = cli("run", "--scenario", short, "--db", db)
    assert before.returncode == 0, before.stderr
    session_id = json.loads(before.stdout)["session_id"]
    assert cli("sessions", "--db", db).returncode == 0
    cli("users", "add", "alice", "--role", "admin", "--db", db, stdin=ADMIN_PW + "\n")
    for name, role, pw in (("bob", "nurse", NURSE_PW), ("quinn", "qa", QA_PW)):
        cli(
            "users", "add", name, "--role", role, "--user", "alice", "--db", db,
            stdin=pw + "\n", password=ADMIN_PW,
        )  # fmt: skip
    out = str(tmp_path / "s.csv")
    for args in (
        ("run", "--scenario", short),
        ("sessions",),
        ("export", "--session", str(session_id), "--out", out),
        ("review", "--session", str(session_id)),
    ):
        refused(cli(*args, "--db", db), f"this database has accounts: {args[0]} needs --user")
        refused(cli(*args, "--db", db, "--user", "bob", password="wrong-password"), "wrong user")
    refused(
        cli("run", "--scenario", short, "--db", db, "--user", "bob", password=NURSE_PW),
        "running a scenario needs the qa role (bob is nurse)",
    )
    ok = cli("run", "--scenario", short, "--db", db, "--user", "quinn", password=QA_PW)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["passed"] is True
    # The trail credits the session the QA account ran to that account, not to the console.
    shown = cli("audit", "show", "--session", str(json.loads(ok.stdout)["session_id"]),
                "--json", "--db", db)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    starts = [e for e in json.loads(shown.stdout) if e["action"] == "session_start"]
    assert [e["actor"] for e in starts] == ["quinn"]
    listed = cli("sessions", "--json", "--db", db, "--user", "bob", password=NURSE_PW)
    assert len(json.loads(listed.stdout)) == 2
    exported = cli(
        "export", "--session", str(session_id), "--out", out, "--db", db, "--user", "bob",
        password=NURSE_PW,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert Path(out).read_text().startswith("record_type,")


def _wait_for_echo_off(fd: int, timeout: float = 10.0) -> None:
    """Until the terminal stops echoing (getpass is then reading; typed earlier, it is
    flushed).  On Linux the master side reports the slave's terminal settings."""
    import termios
    import time

    deadline = time.monotonic() + timeout
    while termios.tcgetattr(fd)[3] & termios.ECHO and time.monotonic() < deadline:
        time.sleep(0.02)


def _on_a_terminal(args: list[str], answers: list[str], timeout: float = 60) -> tuple[int, str]:
    """Run the console on a pseudo-terminal, typing ``answers`` at its password prompts."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: the console with the pty as its terminal
        env = {k: v for k, v in os.environ.items() if k != "INFUSION_CONSOLE_PASSWORD"}
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, str(ROOT / "main.py"), *args], env)
    out = b""
    pending = list(answers)
    answered = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal: it exited
                break
            if not chunk:
                break
            out += chunk
            # Answer a prompt only once it is shown: getpass flushes what was typed before.
            if pending and out[answered:].rstrip().endswith(b":"):
                _wait_for_echo_off(fd)  # getpass turns echo off right after its prompt
                os.write(fd, pending.pop(0).encode() + b"\n")
                answered = len(out)
    finally:
        os.close(fd)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_passwords_are_typed_twice_at_a_prompt_on_a_terminal(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tty.sqlite3'}"
    code, out = _on_a_terminal(
        ["users", "add", "alice", "--role", "admin", "--db", db], [ADMIN_PW, "Different-123"]
    )
    assert code == 2, out
    assert "new password of alice:" in out
    assert "new password of alice again:" in out
    assert "the two passwords differ; nothing was changed" in out
    assert ADMIN_PW not in out  # getpass does not echo
    code, out = _on_a_terminal(
        ["users", "add", "alice", "--role", "admin", "--db", db], [ADMIN_PW, ADMIN_PW]
    )
    assert code == 0, out
    code, out = _on_a_terminal(["users", "list", "--user", "alice", "--db", db], [ADMIN_PW])
    assert code == 0, out
    assert "password of alice:" in out
    assert "alice  admin  active" in out
