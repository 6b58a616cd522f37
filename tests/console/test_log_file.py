"""A crash leaves a trace in the console's log file (issue 15).

Run in child interpreters: the crash is real (``faulthandler._sigabrt``), and the test process
keeps its own logging and faulthandler.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _child(code: str, log_dir: Path) -> subprocess.CompletedProcess[str]:
    prelude = "import logging, faulthandler\nfrom pathlib import Path\nimport console.log as L\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LOG_DIR": str(log_dir)},
        check=False,
    )


def test_a_crash_leaves_its_trace_in_the_log_file(tmp_path: Path) -> None:
    done = _child(
        "import os\n"
        "path = L.setup_logging('INFO', log_dir=Path(os.environ['LOG_DIR']))\n"
        "logging.getLogger('storage').info('chair 1: 3 held batches written')\n"
        "faulthandler._sigabrt()\n",
        tmp_path,
    )
    assert done.returncode != 0  # it really crashed
    text = (tmp_path / "console.log").read_text()
    assert "INFO    storage [MainThread] chair 1: 3 held batches written" in text
    assert "Fatal Python error: Aborted" in text
    assert "Current thread" in text  # the stack of the thread that crashed


def test_the_crash_trace_follows_the_file_over_a_rollover(tmp_path: Path) -> None:
    done = _child(
        "import os\n"
        "L.LOG_FILE_BYTES = 400\n"
        "L.setup_logging('INFO', log_dir=Path(os.environ['LOG_DIR']))\n"
        "for i in range(20):\n"
        "    logging.getLogger('devices').info('reading %d of a long enough line', i)\n"
        "faulthandler._sigabrt()\n",
        tmp_path,
    )
    assert done.returncode != 0
    assert (tmp_path / "console.log.1").exists()  # it rolled over
    assert "Fatal Python error: Aborted" in (tmp_path / "console.log").read_text()
    assert "Fatal Python error" not in (tmp_path / "console.log.1").read_text()


def test_an_unwritable_log_directory_is_one_line_and_the_console_goes_on(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    done = _child(
        "import os\nprint(L.setup_logging('INFO', log_dir=Path(os.environ['LOG_DIR'])))\n",
        blocked,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
    assert done.stderr.startswith("infusion-console: no log file (")
    assert len(done.stderr.strip().splitlines()) == 1
