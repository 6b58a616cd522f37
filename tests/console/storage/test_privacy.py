"""Patient data stay private (issue 12, item 16): the default database is 0600 in a 0700
directory, and no message about a database URL shows its password."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from console.commands import sessions
from console.config import default_db_url
from console.storage.engine import StorageConfigError, describe_url, make_engine
from console.storage.migrate import upgrade_to_head

PASSWORD = "s3cret-pw"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_database_is_0600_in_a_0700_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    old_umask = os.umask(0o022)  # a usual desktop umask: SQLite alone would make 0644
    try:
        url = default_db_url()
        engine = make_engine(url)
        upgrade_to_head(engine)
        with engine.begin() as conn:  # WAL files exist while connections are open
            conn.exec_driver_sql("SELECT 1")
            db = Path(url.removeprefix("sqlite:///"))
            assert _mode(db.parent) == 0o700
            assert _mode(db) == 0o600
            for suffix in ("-wal", "-shm"):
                extra = Path(f"{db}{suffix}")
                if extra.exists():
                    assert _mode(extra) == 0o600, suffix
        engine.dispose()
    finally:
        os.umask(old_umask)


def test_a_data_directory_made_0755_earlier_is_tightened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url = default_db_url()
    directory = Path(url.removeprefix("sqlite:///")).parent
    directory.chmod(0o755)
    default_db_url()
    assert _mode(directory) == 0o700


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://app:{PASSWORD}@db.clinic:notaport/infusion",
        f"postgresql+psycopg:/app:{PASSWORD}@@@",
        f"nosuchdriver://app:{PASSWORD}@db.clinic/infusion",
    ],
)
def test_a_bad_url_never_shows_its_password(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(StorageConfigError) as err:
        make_engine(url)
    assert PASSWORD not in str(err.value)
    assert PASSWORD not in describe_url(url)
    assert sessions.main(["--db", url]) == 2
    out = capsys.readouterr()
    assert out.err.count("\n") == 1, out.err
    assert PASSWORD not in out.err + out.out
