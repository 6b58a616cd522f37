"""The documents of issue 17: the report's pages, the session note, the REMS form, the FHIR record.

PDFs are read back with ``pdftotext`` (pages split at form feeds) and ``pdfinfo``, so the tests
check what a reader sees, not what the code meant to draw.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy.engine import Engine

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.review import summarize
from console.reports.fhir import build_bundle
from console.reports.fhir_record import ALARM_SYSTEM, DISCHARGE_SYSTEM, SCALE_SYSTEM
from console.reports.rems import FIELD_LABELS, is_esketamine, rems_form, rems_missing
from console.reports.session_note import session_note
from console.reports.wording import limit_change_words
from console.storage.review import ReviewRepository, StoredSession
from tests.console.review.builders import build_series
from tests.console.review.cli_export import file_database
from tests.console.review.cli_export import run_export as _export
from tests.console.review.doc_builders import build_esketamine_session, build_long_session

ROOT = Path(__file__).resolve().parents[3]


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} (poppler-utils) is not installed")
    return path


def _pages(path: Path) -> list[str]:
    """The text of each page (pdftotext separates pages by form feeds)."""
    out = subprocess.run(
        [_tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = unicodedata.normalize("NFKC", out).split("\f")
    return [" ".join(p.split()) for p in pages if p.strip()]


def _page_count(path: Path) -> int:
    out = subprocess.run(
        [_tool("pdfinfo"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def _load(engine: Engine, sid: int) -> StoredSession:
    return ReviewRepository(engine).load(sid)


def _series_session(engine: Engine, *, signed: bool = False) -> int:
    """The first session of Jane Doe's series (tests/console/review/builders.py)."""
    _pid, ids = build_series(engine, n=1)
    if signed:
        ReviewRepository(engine).sign_off(ids[0], by="dr.lee", note="reviewed")
    return ids[0]


def _long(engine: Engine, *, notes: int, alarms: int) -> StoredSession:
    return _load(engine, build_long_session(engine, notes=notes, alarms=alarms))


# -- wording ----------------------------------------------------------------------------------
def test_limit_changes_are_said_in_words() -> None:
    old = '{"parameter": "NIBP_SYS", "setting": "high limit, medium", "value": "> 180"}'
    new = (
        '{"parameter": "NIBP_SYS", "setting": "high limit, medium", "value": "> 170",'
        ' "profile": "first"}'
    )
    assert limit_change_words(old, new) == (
        'SBP high limit, medium changed from > 180 to > 170 (profile "first")'
    )
    added = limit_change_words(
        '{"parameter": "HR", "setting": "low limit, high", "value": null}',
        '{"parameter": "HR", "setting": "low limit, high", "value": "< 40"}',
    )
    assert added == "HR low limit, high added: < 40"
    timing = limit_change_words(
        '{"parameter": "alarms", "setting": "audio_pause_s", "value": "120"}',
        '{"parameter": "alarms", "setting": "audio_pause_s", "value": "60"}',
    )
    assert timing == "Alarm setting audio pause changed from 120 s to 60 s"
    assert "not json" in limit_change_words("not json", "{}")  # never hidden


# -- the report -------------------------------------------------------------------------------
@pytest.mark.gui
def test_every_report_page_has_the_patient_the_session_and_page_x_of_y(
    qtbot: object, sqlite_migrated: Engine, tmp_path: Path
) -> None:
    from console.reports.pdf import write_pdf

    sid = _series_session(sqlite_migrated)
    n = write_pdf(_load(sqlite_migrated, sid), tmp_path / "report.pdf", ThresholdProfile())
    pages = _pages(tmp_path / "report.pdf")
    assert len(pages) == n == _page_count(tmp_path / "report.pdf") >= 3
    for i, text in enumerate(pages, start=1):
        assert f"page {i} of {n}" in text
        assert "Doe, Jane MRN MRN-4711 DOB 1975-04-12" in text, i
        assert f"session {sid}, " in text, i
    whole = " ".join(pages)
    assert "Date of birth 1975-04-12" in whole
    # timed vitals: every 10 min of the 40-min infusion, the checkpoint, before discharge
    for label in ("Timed vitals", "Baseline", "+10 min", "+20 min", "+30 min", "40-min checkpoint"):
        assert label in whole, label
    assert re.search(r"\+40 min \d\d:\d\d \d+/", whole) is None  # no +40 row: the checkpoint is it
    # the limit change in words, not the stored JSON
    assert "SBP high medium changed from 180 to 170" in whole
    assert "parameter=" not in whole
    assert "old_json" not in whole


@pytest.mark.gui
def test_no_table_row_is_split_across_pages(qtbot: object, sqlite_migrated: Engine) -> None:
    from PySide6.QtCore import QSizeF
    from PySide6.QtGui import QTextDocument

    from console.reports.html import report_html
    from console.reports.pdf import (
        FOOT_PT,
        HEAD_PT,
        _layout,
        _stylesheet,
        ensure_gui_application,
        rows_across_pages,
    )

    ensure_gui_application()
    stored = _long(sqlite_migrated, notes=60, alarms=20)
    html = report_html(stored, summarize(stored.inputs()), ThresholdProfile())
    size = QSizeF(510.0, 774.0)
    # without the fix, Qt splits rows (so this test can fail) ...
    raw = QTextDocument()
    raw.setPageSize(QSizeF(size.width(), size.height() - HEAD_PT - FOOT_PT))
    raw.setDefaultStyleSheet(_stylesheet(8.0))
    raw.setHtml(html)
    assert rows_across_pages(raw), "the long report should have rows across pages unfixed"
    # ... and with it no row crosses a page boundary
    doc = _layout(html, size, 8.0, {})
    assert doc.pageCount() >= 3
    assert rows_across_pages(doc) == []


@pytest.mark.gui
def test_a_rows_cells_are_on_one_page_of_the_pdf(
    qtbot: object, sqlite_migrated: Engine, tmp_path: Path
) -> None:
    from console.reports.pdf import write_pdf

    out = tmp_path / "long.pdf"
    write_pdf(_long(sqlite_migrated, notes=60, alarms=20), out, ThresholdProfile())
    pages = _pages(out)
    assert len(pages) >= 3
    # each note's cell wraps onto a second line; a split row would leave the second line (and
    # its "comfortable") on the next page
    seen = 0
    for i, page in enumerate(pages, start=1):
        starts = page.count("observation note number")
        assert starts == page.count("comfortable"), f"page {i}"
        seen += starts
    assert seen == 60


# -- the note ---------------------------------------------------------------------------------
def test_the_note_holds_what_the_record_says(sqlite_migrated: Engine) -> None:
    stored = _load(sqlite_migrated, _series_session(sqlite_migrated, signed=True))
    note = session_note(stored, summarize(stored.inputs()))
    assert note.mrn == "MRN-4711"
    assert str(note.date_of_birth) == "1975-04-12"
    assert [r.mark.label for r in note.vitals] == [
        "Baseline",
        "+10 min",
        "+20 min",
        "+30 min",
        "40-min checkpoint",
        "Pre-discharge",
    ]
    assert [(s.scale, s.score) for s in note.scales] == [
        ("CADSS-6 (0-24)", 12.0),
        ("Nausea (0-10)", None),
    ]
    assert [(a.parameter, a.ack_by) for a in note.alarms] == [("SBP", "dr.lee")]
    assert len(note.discharge) == 5
    assert all(c.passed for c in note.discharge)
    assert note.signed is not None
    assert note.signed.by == "dr.lee"
    kinds = [e.kind for e in note.events]
    assert "infusion_start" in kinds
    assert "discharge_check" not in kinds  # in its own section
    assert "dissociation" not in kinds  # a scale


@pytest.mark.gui
def test_note_of_a_routine_40_min_iv_session_is_one_page(
    qtbot: object, sqlite_migrated: Engine, tmp_path: Path
) -> None:
    from console.reports.pdf import write_note_pdf

    out = tmp_path / "note.pdf"
    fitted = write_note_pdf(
        _load(sqlite_migrated, _series_session(sqlite_migrated, signed=True)), out
    )
    assert fitted.pages == 1
    assert fitted.condensed is False
    assert _page_count(out) == 1
    text = _pages(out)[0]
    for part in (
        "Session note",
        "Vitals",
        "Scales",
        "Events",
        "Alarms",
        "Discharge checks",
        "Signature",
        "40-min checkpoint",
        "CADSS-6",
        "page 1 of 1",
        "DOB 1975-04-12",
    ):
        assert part in text, part
    assert "dr.lee" in text
    assert "sign-off" in text


@pytest.mark.gui
def test_a_long_session_note_is_condensed_and_says_where_the_rest_is(
    qtbot: object, sqlite_migrated: Engine, tmp_path: Path
) -> None:
    from console.reports.pdf import write_note_pdf

    out = tmp_path / "long-note.pdf"
    fitted = write_note_pdf(_long(sqlite_migrated, notes=40, alarms=4), out)
    assert fitted.condensed is True
    assert fitted.pages == _page_count(out)
    text = " ".join(_pages(out))
    assert "observation note number" not in text  # notes left to the report
    assert "key events only; every event is in the report" in text
    assert "every 10-min row is in the report" in text
    for i, page in enumerate(_pages(out), start=1):
        assert f"page {i} of {fitted.pages}" in page


# -- the REMS form ----------------------------------------------------------------------------
def test_rems_form_is_filled_from_the_record(sqlite_migrated: Engine) -> None:
    sid = build_esketamine_session(sqlite_migrated)
    stored = _load(sqlite_migrated, sid)
    assert is_esketamine(stored)
    form = rems_form(stored, summarize(stored.inputs()))
    assert form.patient_id == "MRN-E-77"
    assert str(form.date_of_birth) == "1968-09-30"
    assert form.monitoring_clinician == "rn.ola"
    assert form.dose == "56 mg"
    assert form.total_monitoring_min == pytest.approx(135.0)  # 13:05 dosing .. 15:20 end
    assert form.vitals_ok_before_dosing is True
    assert form.vitals_ok_at_end is True
    assert form.bp_before_dosing is not None
    assert form.bp_before_dosing.text() == "128/80"
    assert form.bp_40_min is not None
    assert form.bp_40_min.text() == "148/80"  # first NIBP 35-45 min after dosing
    assert form.bp_end_of_monitoring is not None
    assert form.sedation is True  # MOAA/S 4
    assert form.dissociation is True  # CADSS-6 3
    assert form.respiratory_depression is True  # the SpO2 low alarm
    assert rems_missing(form) == [
        "Sex",
        *FIELD_LABELS_MEDICATIONS,
        "Healthcare setting",
        "Lot number",
        "Ready to leave (min after first administration)",
    ]


FIELD_LABELS_MEDICATIONS = [
    FIELD_LABELS[k]
    for k in ("benzodiazepines", "sedative_hypnotics", "psychostimulants", "maois", "opioids")
]


def test_rems_missing_lists_exactly_the_fields_left_empty(sqlite_migrated: Engine) -> None:
    sid = build_esketamine_session(sqlite_migrated, with_patient=False, ended=False)
    stored = _load(sqlite_migrated, sid)
    form = rems_form(stored, summarize(stored.inputs()))
    missing = rems_missing(form)
    for label in (
        "Patient name",
        "Patient ID (MRN)",
        "Date of birth",
        "Total monitoring time (min)",
        "Vital signs acceptable at the end of monitoring",
    ):
        assert label in missing
    filled = replace(form, sex="F", lot_number="L123", healthcare_setting="Clinic A")
    assert "Sex" not in rems_missing(filled)
    assert "Lot number" not in rems_missing(filled)
    assert len(rems_missing(filled)) == len(missing) - 3
    every: dict[str, Any] = {name: "x" for name in FIELD_LABELS}
    assert rems_missing(replace(form, **every)) == []


@pytest.mark.gui
def test_rems_pdf_carries_every_field_and_marks_the_missing_ones(
    qtbot: object, sqlite_migrated: Engine, tmp_path: Path
) -> None:
    from console.reports.pdf import write_rems_pdf

    sid = build_esketamine_session(sqlite_migrated)
    out = tmp_path / "rems.pdf"
    pages, form = write_rems_pdf(_load(sqlite_migrated, sid), out)
    assert pages == _page_count(out) == 1
    text = _pages(out)[0]
    for label in FIELD_LABELS.values():
        assert label.split(" (")[0] in text, label
    assert text.count("missing") >= len(rems_missing(form)) + 1  # each field, and the list
    assert "Roe, Sam" in text
    assert "128/80 at" in text


@pytest.mark.slow
def test_cli_export_note_and_rems(tmp_path: Path) -> None:
    url, (sid, esk) = file_database(
        tmp_path / "cli.sqlite3",
        lambda engine: (_series_session(engine), build_esketamine_session(engine)),
    )
    note, rems = tmp_path / "note.pdf", tmp_path / "rems.pdf"
    done = _export("--db", url, "--session", str(sid), "--format", "note", "--out", str(note))
    assert done.returncode == 0, done.stderr
    assert "(1 page" in done.stderr
    assert _page_count(note) == 1
    done = _export("--db", url, "--session", str(esk), "--format", "rems", "--out", str(rems))
    assert done.returncode == 0, done.stderr
    assert "missing: Sex" in done.stderr
    assert "SPRAVATO" in _pages(rems)[0]
    # an IV session has no REMS form: one line, exit 2, nothing written
    bad = tmp_path / "iv-rems.pdf"
    done = _export("--db", url, "--session", str(sid), "--format", "rems", "--out", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"infusion-console export: session {sid} is not an esketamine session (route IV, not"
        " IN); the REMS form is for intranasal esketamine only"
    ]
    assert not bad.exists()
    done = _export("--db", url, "--session", str(esk), "--format", "note", "--out", "-")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "infusion-console export: --format note needs a file name for --out, not -"
    ]


# -- FHIR -------------------------------------------------------------------------------------
def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


def test_fhir_bundle_carries_the_clinical_record(sqlite_migrated: Engine) -> None:
    sid = build_esketamine_session(sqlite_migrated)
    ReviewRepository(sqlite_migrated).sign_off(sid, by="dr.lee", note="reviewed")
    ReviewRepository(sqlite_migrated).sign_off(sid, by="dr.kay", note="late addendum")
    bundle = build_bundle(_load(sqlite_migrated, sid))
    data = json.loads(bundle.model_dump_json(exclude_none=True))
    Bundle.model_validate(data)  # validates with the R4B models
    entries = data["entry"]
    urls = {e["fullUrl"] for e in entries}
    refs = _references(entries)
    assert refs
    assert set(refs) <= urls  # every reference resolves inside the bundle
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e)
    url_of = {e["fullUrl"]: e["resource"] for e in entries}

    patient = by_type["Patient"][0]["resource"]
    assert patient["birthDate"] == "1968-09-30"
    assert "gender" not in patient  # the record has no sex yet
    names = {p["resource"]["name"][0]["text"] for p in by_type["Practitioner"]}
    assert names == {"rn.ola", "dr.lee", "dr.kay"}

    (issue,) = (e["resource"] for e in by_type["DetectedIssue"])
    assert issue["severity"] == "moderate"  # a medium alarm
    assert issue["code"]["coding"][0] == {
        "system": ALARM_SYSTEM,
        "code": "SPO2:low",
        "display": "SpO2 90 < 92",
    }
    assert url_of[issue["author"]["reference"]]["resourceType"] == "Device"
    (ack,) = issue["mitigation"]
    assert ack["action"]["coding"][0]["code"] == "acknowledged"
    assert url_of[ack["author"]["reference"]]["name"][0]["text"] == "rn.ola"
    assert "end" in issue["identifiedPeriod"]

    obs = [e["resource"] for e in by_type["Observation"]]
    scales = [o for o in obs if o["code"]["coding"][0]["system"] == SCALE_SYSTEM]
    assert [(o["code"]["coding"][0]["code"], o["valueQuantity"]["value"]) for o in scales] == [
        ("moaa-s", 4.0),
        ("cadss-6", 3.0),
        ("moaa-s", 5.0),
    ]
    assert all(o["category"][0]["coding"][0]["code"] == "survey" for o in scales)
    assert all(
        url_of[o["performer"][0]["reference"]]["resourceType"] == "Practitioner" for o in scales
    )
    checks = [o for o in obs if o["code"]["coding"][0]["system"] == DISCHARGE_SYSTEM]
    assert len(checks) == 5
    assert all(o["valueBoolean"] is True for o in checks)

    provs = [e["resource"] for e in by_type["Provenance"]]
    assert [p["activity"]["coding"][0]["code"] for p in provs] == ["sign_off", "addendum"]
    encounter_url = by_type["Encounter"][0]["fullUrl"]
    for p, who in zip(provs, ("dr.lee", "dr.kay"), strict=True):
        assert p["target"] == [{"reference": encounter_url}]
        assert p["agent"][0]["type"]["coding"][0]["code"] == "verifier"
        assert url_of[p["agent"][0]["who"]["reference"]]["name"][0]["text"] == who
    assert provs[1]["reason"][0]["text"] == "late addendum"
