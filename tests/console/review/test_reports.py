"""PDF report, FHIR bundle and the export command for pdf, csv and fhir."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy.engine import Engine

from console.domain.alarm_profiles import ThresholdProfile
from console.reports.fhir import build_bundle
from console.reports.pdf import write_pdf
from console.storage.engine import make_engine
from console.storage.migrate import upgrade_to_head
from console.storage.review import ReviewRepository
from tests.console.review.builders import build_series, build_session
from tests.console.review.cli_export import run_export as _export

ROOT = Path(__file__).resolve().parents[3]


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    # Qt's text shaping writes ligatures (ﬀ, ﬁ); fold them so headings match plain text.
    return " ".join(unicodedata.normalize("NFKC", done.stdout).split())


@pytest.mark.gui
def test_pdf_report_has_every_section(
    qtbot: object, sqlite_migrated: Engine, tmp_path: Path
) -> None:
    _pid, ids = build_series(sqlite_migrated, n=1)
    out = tmp_path / "report.pdf"
    pages = write_pdf(ReviewRepository(sqlite_migrated).load(ids[0]), out, ThresholdProfile())
    assert pages >= 2
    assert out.read_bytes().startswith(b"%PDF")
    text = _pdf_text(out)
    for heading in (
        "Infusion session report",
        "Trends",
        "Summary",
        "Alarms",
        "Events and annotations",
        "Dose and infusion",
        "Thresholds",
        "Data completeness",
        "Discharge checklist",
        "Physician sign-off",
    ):
        assert heading in text, heading
    assert "MRN-4711" in text
    assert "#1 of the series" in text
    assert "36 mg (0.5 mg/kg x 72 kg)" in text
    assert "Baseline" in text
    assert "Pre-discharge" in text
    assert "Time to peak SBP" in text
    assert "dr.lee" in text  # who acknowledged the alarm
    assert "first session: tighter SBP limit" in text  # the limit change and its reason
    assert "Not yet reviewed" in text


@pytest.mark.gui
def test_pdf_of_a_simulated_session_in_progress_says_so(
    qtbot: object, sqlite_migrated: Engine, tmp_path: Path
) -> None:
    built = build_session(sqlite_migrated, ended=False)
    out = tmp_path / "live.pdf"
    write_pdf(ReviewRepository(sqlite_migrated).load(built.session_id), out, ThresholdProfile())
    text = _pdf_text(out)
    assert "SIMULATED SESSION" in text
    assert "IN PROGRESS" in text


def test_fhir_bundle_validates_and_carries_loinc_codes(sqlite_migrated: Engine) -> None:
    _pid, ids = build_series(sqlite_migrated, n=1)
    bundle = build_bundle(ReviewRepository(sqlite_migrated).load(ids[0]))
    again = Bundle.model_validate_json(bundle.model_dump_json())  # parses back
    assert again.entry is not None
    # Any: each entry is a different resource type; the asserts below say which.
    resources: list[Any] = [e.resource for e in again.entry]
    types = [r.get_resource_type() for r in resources]
    assert types[:4] == ["Patient", "Device", "Encounter", "MedicationAdministration"]
    codes = {
        c.code for r in resources if r.get_resource_type() == "Observation" for c in r.code.coding
    }
    assert {"8867-4", "59408-5", "9279-1", "85354-9"} <= codes
    bp = next(
        r
        for r in resources
        if r.get_resource_type() == "Observation" and r.code.coding[0].code == "85354-9"
    )
    assert {c.code.coding[0].code for c in bp.component} == {"8480-6", "8462-4", "8478-0"}
    encounter = resources[2]
    assert encounter.status == "finished"
    assert resources[0].identifier[0].value == "MRN-4711"
    assert all(r.meta is None for r in resources)  # real session: no test-data tag


def test_fhir_bundle_of_a_simulated_session_is_tagged_test_data(sqlite_migrated: Engine) -> None:
    built = build_session(sqlite_migrated, ended=False)
    bundle = build_bundle(ReviewRepository(sqlite_migrated).load(built.session_id))
    assert bundle.entry is not None
    resources: list[Any] = [e.resource for e in bundle.entry]
    assert all(r.meta.tag[0].code == "HTEST" for r in resources)
    assert resources[2].status == "in-progress"


@pytest.mark.slow
def test_cli_export_pdf_csv_fhir_and_unknown_session(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
        sid = build_session(engine).session_id
    finally:
        engine.dispose()
    pdf, fhir, table = tmp_path / "s.pdf", tmp_path / "s.json", tmp_path / "s.csv"
    done = _export("--db", url, "--session", str(sid), "--format", "pdf", "--out", str(pdf))
    assert done.returncode == 0, done.stderr
    assert "Infusion session report" in _pdf_text(pdf)
    done = _export("--db", url, "--session", str(sid), "--format", "fhir", "--out", str(fhir))
    assert done.returncode == 0, done.stderr
    Bundle.model_validate(json.loads(fhir.read_text()))
    done = _export("--db", url, "--session", str(sid), "--format", "csv", "--out", str(table))
    assert done.returncode == 0, done.stderr
    with table.open() as fh:
        kinds = {row["record_type"] for row in csv.DictReader(fh)}
    assert {"session", "reading", "alarm", "alarm_log", "event"} <= kinds
    for fmt in ("pdf", "csv", "fhir"):
        done = _export(
            "--db", url, "--session", "999", "--format", fmt, "--out", str(tmp_path / "x")
        )
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            "infusion-console export: no session with id 999"
        ]
        assert not (tmp_path / "x").exists()
