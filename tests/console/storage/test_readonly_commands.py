"""Read-only commands never create a database (issue 12, item 1): a missing SQLite file is one
line and exit 2, and nothing is left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.commands import export, sessions
from console.storage.engine import DatabaseMissingError, make_engine

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "argv",
    [
        ["sessions"],
        ["sessions", "--json"],
        ["export", "--session", "1", "--out", "x.csv"],
    ],
)
def test_a_missing_sqlite_file_is_one_line_and_exit_2(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "gone.sqlite3"
    main = sessions.main if argv[0] == "sessions" else export.main
    assert main([*argv[1:], "--db", f"sqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"no database at {db}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no empty database, no -wal


def test_review_refuses_a_missing_file_before_any_window(tmp_path: Path) -> None:
    db = tmp_path / "gone.sqlite3"
    result = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "review", "--db", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "no database at" in result.stderr
    assert not db.exists()


def test_a_file_deleted_after_the_check_is_not_recreated(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite3"
    make_engine(f"sqlite:///{db}").dispose()  # a console made it
    with make_engine(f"sqlite:///{db}").connect():
        pass
    engine = make_engine(f"sqlite:///{db}", create=False)
    db.unlink()
    with pytest.raises(Exception, match="no database file at"):
        engine.connect()
    engine.dispose()
    assert not db.exists()
    with pytest.raises(DatabaseMissingError):
        make_engine(f"sqlite:///{db}", create=False)
