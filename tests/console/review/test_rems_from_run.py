"""Issue 17's "done when": a headless esketamine run, then ``export --format rems``, gives a
filled form with the three BP checkpoints; an esketamine session whose form lacks a field
cannot be signed off (addenda and IV sessions are not held)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from console.domain.review import summarize
from console.reports.rems import rems_form, rems_missing, sign_off_refusal
from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.review import ReviewRepository
from tests.console.review.doc_builders import build_esketamine_session

ROOT = Path(__file__).resolve().parents[3]
NIBP_S = 300.0

pytestmark = pytest.mark.slow


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip


def _export(tmp_path: Path, db: str, session: int, fmt: str, out: Path) -> None:
    done = _cli(
        tmp_path, "export", "--session", str(session), "--format", fmt, "--out", str(out),
        "--db", db,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    if fmt == "rems":
        assert "every required field filled" in done.stderr


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_an_esketamine_run_exports_a_filled_rems_form(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'qa.db'}"
    run = _cli(tmp_path, "run", "--scenario", "esketamine-routine", "--speed", "max", "--db", db)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    esk = summary["session"]["esketamine"]
    out = tmp_path / "rems.pdf"
    _export(tmp_path, db, summary["session_id"], "rems", out)
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    for key in ("bp_before_dosing", "bp_at_40_min", "bp_before_end"):
        bp = esk[key]
        assert f"{bp['sbp']:.0f}/{bp['dbp']:.0f}" in text, key
    assert "56 mg (2 devices)" in text
    assert "SIM-ESK-24A" in text
    assert "female" in text
    assert "none - every required" in text  # the form's own list of missing fields
    # The FHIR bundle of the same record: the patient's sex, and each device given.
    bundle_path = tmp_path / "b.json"
    _export(tmp_path, db, summary["session_id"], "fhir", bundle_path)
    resources = [e["resource"] for e in json.loads(bundle_path.read_text())["entry"]]
    (patient,) = [r for r in resources if r["resourceType"] == "Patient"]
    assert patient["gender"] == "female"
    devices = [r for r in resources if r["resourceType"] == "MedicationAdministration"]
    assert [d["dosage"]["dose"]["value"] for d in devices] == [28.0, 28.0]
    assert all("lot SIM-ESK-24A" in d["note"][0]["text"] for d in devices)
    # Its one-page note: the timed vitals counted from the first device, the devices and lot.
    note = tmp_path / "note.pdf"
    _export(tmp_path, db, summary["session_id"], "note", note)
    note_text = subprocess.run(
        ["pdftotext", "-layout", str(note), "-"], capture_output=True, text=True, check=True
    ).stdout
    for row in ("Baseline", "+10 min", "+20 min", "+30 min", "40-min checkpoint", "Pre-discharge"):
        assert row in note_text, row
    assert "esketamine 56 mg (2 devices, lot SIM-ESK-24A)" in note_text
    assert note_text.count("\f") == 1  # one page
    # The stored record answers every field, so the physician may sign it.
    engine = make_engine(db)
    try:
        stored = ReviewRepository(engine).load(summary["session_id"])
        assert sign_off_refusal(stored, NIBP_S) is None
    finally:
        engine.dispose()


def test_an_incomplete_esketamine_record_cannot_be_signed_off(tmp_path: Path) -> None:
    """A record from before the start questions (route IN only): the form lacks sex, the
    medications, the setting and the lot; sign-off is refused naming them, IV is not held."""
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        upgrade_to_head(engine)
        sid = build_esketamine_session(engine)
        stored = ReviewRepository(engine).load(sid)
        missing = rems_missing(rems_form(stored, summarize(stored.inputs(NIBP_S))))
        assert "Sex" in missing
        assert "Lot number" in missing
        why = sign_off_refusal(stored, NIBP_S)
        assert why is not None
        assert why.startswith("the REMS form is not complete: ")
        assert "Lot number" in why
        assert "Opioids" in why
    finally:
        engine.dispose()
