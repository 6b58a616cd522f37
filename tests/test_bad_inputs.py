"""Every bad input on every command line is one line on stderr and exit code 2 (issue 12 item 15).

Run as a user would, in a subprocess: the GUI (``main.py``), its headless subcommands
(``sessions``, ``export``, ``review``, ``run``) and the device tools (``python -m devices``).
Before, twelve of these printed a traceback (a config directory or a non-UTF-8 config, a
database URL with a non-numeric port, an unknown ``--device``, a ``--tcp`` port out of
range, an unwritable data directory ...), ``--config /dev/zero`` read forever, ``export
--out /dev/full`` replaced the device node with a file, and a malformed URL printed its
password (item 16).  Scenario files with negative or absurd durations are refused.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from tests.console.review.builders import build_session

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "topsecret"
BAD_PORT_URL = f"postgresql+psycopg://app:{PASSWORD}@db.example:abc/infusion"

#: (id, command line after the interpreter, extra environment, a word the one line must contain)
CASES: list[tuple[str, str, dict[str, str], str]] = [
    ("gui-unknown-device", "main.py --device nosuch --port /dev/null", {}, "nosuch"),
    ("gui-config-is-a-directory", "main.py --config {tmp}/adir", {}, "directory"),
    ("gui-config-not-utf8", "main.py --config {tmp}/latin1.toml", {}, "UTF-8"),
    ("gui-config-device-node", "main.py --config /dev/zero", {}, "regular file"),
    ("gui-db-port-not-a-number", "main.py --db {bad_url}", {}, "not a database URL"),
    ("gui-scenario-negative", "main.py --scenario {tmp}/negative.toml", {}, "duration"),
    ("gui-scenario-absurd", "main.py --scenario {tmp}/absurd.toml", {}, "duration"),
    ("gui-scenario-not-utf8", "main.py --scenario {tmp}/latin1.toml", {}, "utf-8"),
    ("gui-seed-not-a-number", "main.py --seed abc", {}, "--seed"),
    ("gui-data-dir-unwritable", "main.py", {"XDG_DATA_HOME": "/proc/none"}, "data directory"),
    ("sessions-db-port", "main.py sessions --db {bad_url}", {}, "not a database"),
    (
        "sessions-data-dir-unwritable",
        "main.py sessions",
        {"XDG_DATA_HOME": "/proc/none"},
        "data directory",
    ),
    (
        "export-data-dir-not-a-directory",
        "main.py export --session 1 --out {tmp}/x.csv",
        {"XDG_DATA_HOME": "/etc/passwd"},
        "data directory",
    ),
    (
        "export-csv-unwritable",
        "main.py export --session 1 --out /proc/x.csv --db {db}",
        {},
        "cannot be written",
    ),
    (
        "export-pdf-unwritable",
        "main.py export --session 1 --format pdf --out /proc/x.pdf --db {db}",
        {},
        "cannot be written",
    ),
    (
        "export-fhir-unwritable",
        "main.py export --session 1 --format fhir --out /proc/x.json --db {db}",
        {},
        "cannot be written",
    ),
    (
        "export-onto-a-device-node",
        "main.py export --session 1 --out /dev/full --db {db}",
        {},
        "not a regular file",
    ),
    ("export-session-not-a-number", "main.py export --session x --out -", {}, "x"),
    ("review-db-port", "main.py review --db {bad_url}", {}, "not a database URL"),
    (
        "run-config-is-a-directory",
        "main.py run --scenario routine --config {tmp}/adir --db {db}",
        {},
        "directory",
    ),
    ("run-db-port", "main.py run --scenario routine --db {bad_url}", {}, "URL"),
    (
        "run-scenario-negative",
        "main.py run --scenario {tmp}/negative.toml --db {db}",
        {},
        "duration",
    ),
    (
        "run-duration-nan",
        "main.py run --device ge-datex --port /dev/null --duration nan --db {db}",
        {},
        "--duration",
    ),
    ("run-speed-zero", "main.py run --scenario routine --speed 0", {}, "speed"),
    ("devices-no-command", "-m devices", {}, "COMMAND"),
    (
        "simulate-port-unwritable",
        "-m devices simulate --protocol datex --scenario routine --port /proc/none/ttyX",
        {},
        "cannot open",
    ),
    (
        "simulate-tcp-port-out-of-range",
        "-m devices simulate --protocol datex --scenario routine --tcp 99999",
        {},
        "port",
    ),
    (
        "simulate-scenario-negative",
        "-m devices simulate --protocol datex --scenario {tmp}/negative.toml --pty",
        {},
        "duration",
    ),
    (
        "simulate-event-negative",
        "-m devices simulate --protocol datex --scenario {tmp}/event.toml --pty",
        {},
        "duration_s",
    ),
    (
        "simulate-scenario-nan",
        "-m devices simulate --protocol datex --scenario {tmp}/nan.toml --pty",
        {},
        "infusion_min",
    ),
    (
        "decode-seconds-nan",
        "-m devices decode --protocol datex --port /dev/null --seconds nan",
        {},
        "--seconds",
    ),
    ("decode-unknown-protocol", "-m devices decode --protocol nope --port /dev/null", {}, "nope"),
]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bad configuration and scenario files, and a database holding session 1."""
    tmp = tmp_path_factory.mktemp("bad")
    (tmp / "adir").mkdir()
    (tmp / "latin1.toml").write_bytes(b'name = "caf\xe9"\n')
    (tmp / "negative.toml").write_text('name = "negative"\nduration_min = -10\n')
    (tmp / "absurd.toml").write_text('name = "absurd"\nduration_min = 1e12\n')
    (tmp / "nan.toml").write_text('name = "nan"\n[timeline]\ninfusion_min = nan\n')
    (tmp / "event.toml").write_text(
        'name = "event"\n[[events]]\nat_min = 5\naction = "hr"\ndelta = -10\nduration_s = -60\n'
    )
    engine = make_engine(f"sqlite:///{tmp / 'ok.sqlite3'}")
    try:
        upgrade_to_head(engine)
        assert build_session(engine).session_id == 1
    finally:
        engine.dispose()
    return tmp


@pytest.mark.parametrize(
    ("argv", "env", "word"), [pytest.param(a, e, w, id=i) for i, a, e, w in CASES]
)
def test_bad_input_is_one_line_and_exit_2(
    bad_files: Path, argv: str, env: dict[str, str], word: str
) -> None:
    tmp = bad_files
    db = f"sqlite:///{tmp / 'ok.sqlite3'}"
    args = [a.format(tmp=tmp, db=db, bad_url=BAD_PORT_URL) for a in argv.split()]
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_STATE_HOME": str(tmp / "state"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        **env,
    }
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, done.stderr[-2000:]
    assert word in lines[0]
    assert PASSWORD not in done.stderr + done.stdout
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode), "export replaced /dev/full"
