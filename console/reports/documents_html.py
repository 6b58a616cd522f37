"""HTML of the session note, the REMS form and the timed vitals table (Qt rich-text subset).

Renderers only: what is printed was decided by console.reports.session_note and
console.reports.rems; a field those left None prints as "missing" (in the high colour, so a
reader sees at a glance what the record lacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from console.domain.review import local_time, minutes_text
from console.domain.timed_vitals import short_windows
from console.reports.html import PAPER, esc, table, timed_vitals_html
from console.reports.rems import FIELD_LABELS, RemsForm, rems_missing
from console.reports.session_note import (
    CONDENSED_EVERY_MIN,
    MISSING,
    SessionNote,
    condensed_events,
    condensed_vitals,
)

#: How a missing value looks.
MISSING_HTML = f'<b style="color:{PAPER.high};">{MISSING}</b>'


#: Cell padding of the note's tables (px): the note has one page to fill.
NOTE_PAD = 1


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, raw: bool = False) -> str:
    return table(headers, rows, raw=raw, pad=NOTE_PAD)


def _missing_or(value: object) -> str:
    return MISSING_HTML if value is None else esc(value)


def _yes_no(value: bool | None) -> str:
    if value is None:
        return MISSING_HTML
    return "Yes" if value else "No"


def _text(value: object) -> str:
    if value is None:
        return MISSING_HTML
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, float):
        return esc(f"{value:.0f}")
    if isinstance(value, date | datetime):
        return esc(value.isoformat())
    text = getattr(value, "text", None)
    if callable(text):
        at = getattr(value, "at", None)
        suffix = "" if at is None else f" at {local_time(at, seconds=False)}"
        return esc(f"{text()}{suffix}")
    return esc(value)


def rems_html(form: RemsForm) -> str:
    """The REMS Patient Monitoring Form, every field, missing ones marked."""
    sections = {
        "Patient": ("patient_name", "patient_id", "date_of_birth", "sex"),
        "Is the patient taking any of the following?": (
            "benzodiazepines",
            "sedative_hypnotics",
            "psychostimulants",
            "maois",
            "opioids",
        ),
        "Treatment session": (
            "monitoring_clinician",
            "healthcare_setting",
            "treatment_date",
            "dose",
            "lot_number",
            "total_monitoring_min",
            "ready_to_leave_min",
        ),
        "Vital signs": (
            "vitals_ok_before_dosing",
            "vitals_ok_at_end",
            "bp_before_dosing",
            "bp_40_min",
            "bp_end_of_monitoring",
        ),
        "Did the patient experience any of the following?": (
            "sedation",
            "dissociation",
            "respiratory_depression",
        ),
    }
    parts = ["<h1>SPRAVATO&reg; REMS Patient Monitoring Form</h1>"]
    if form.simulated:
        parts.append(
            f'<p style="background:{PAPER.sim_bg}; color:#ffffff; font-weight:bold;">'
            "&nbsp;SIMULATED SESSION - NOT PATIENT DATA - DO NOT SUBMIT&nbsp;</p>"
        )
    parts.append(
        f"<p>Filled from the stored record of session {form.session_id}. Fields the record does"
        f" not hold are marked {MISSING_HTML} and must be completed before submission.</p>"
    )
    for title, names in sections.items():
        parts.append(f"<h3>{esc(title)}</h3>")
        parts.append(
            table(
                ["", ""],
                [[esc(FIELD_LABELS[n]), _text(getattr(form, n))] for n in names],
                raw=True,
                pad=2,
            )
        )
    missing = rems_missing(form)
    parts.append(
        "<h3>Missing required fields</h3>"
        + (
            f"<p>{MISSING_HTML}: {esc(', '.join(missing))}</p>"
            if missing
            else "<p>none - every required field is filled</p>"
        )
    )
    return "<html><body>" + "".join(parts) + "</body></html>"


def _who(note: SessionNote) -> str:
    name = note.patient_name or MISSING
    mrn = note.mrn or MISSING
    return f"{name} (MRN {mrn})"


def note_html(note: SessionNote, *, condensed: bool = False) -> str:
    """The session note.  ``condensed`` keeps only the key events and one line per checklist
    (for long sessions whose full note would not fit one page)."""
    rel_origin = "infusion start" if note.infusion_start else "session start"
    dob = _missing_or(None if note.date_of_birth is None else note.date_of_birth.isoformat())
    head = [
        ["Patient", esc(_who(note)) if note.mrn else MISSING_HTML, "Date of birth", dob],
        [
            "Session",
            esc(
                f"{note.session_id}"
                + ("" if note.series_number is None else f" (#{note.series_number})")
            ),
            "Date",
            esc(local_time(note.started_at, day=True, seconds=False)),
        ],
        ["Dose", _missing_or(note.dose), "Chair", esc(note.chair)],
        [
            "Infusion",
            esc(
                "not started"
                if note.infusion_start is None
                else f"{local_time(note.infusion_start, seconds=False)} - "
                f"{local_time(note.infusion_stop, seconds=False)}"
                + (f" ({note.stop_reason})" if note.stop_reason else "")
            ),
            "Monitoring",
            esc(
                f"{local_time(note.started_at, seconds=False)} - "
                f"{local_time(note.monitoring_end, seconds=False)} ({note.monitoring_min:.0f} min)"
                + (" IN PROGRESS" if note.in_progress else "")
            ),
        ],
    ]
    parts = ["<h1>Session note</h1>"]
    if note.simulated:
        parts.append(
            f'<p style="background:{PAPER.sim_bg}; color:#ffffff; font-weight:bold;">'
            "&nbsp;SIMULATED SESSION - NOT PATIENT DATA&nbsp;</p>"
        )
    parts.append(_table(["", "", "", ""], head, raw=True))
    parts.append("<h3>Vitals</h3>")
    rows = condensed_vitals(note.vitals) if condensed else note.vitals
    if len(rows) < len(note.vitals):
        parts.append(
            f'<p style="font-size:7pt;">Every {CONDENSED_EVERY_MIN:g} min of the infusion shown'
            " here; every 10-min row is in the report.</p>"
        )
    parts.append(timed_vitals_html(rows, [short_windows()], pad=NOTE_PAD))
    parts.append("<h3>Scales</h3>")
    parts.append(
        _table(
            ["time", "rel.", "scale", "score", "by", "note"],
            [
                [
                    local_time(s.at, seconds=False),
                    minutes_text(s.minutes),
                    s.scale,
                    "-" if s.score is None else f"{s.score:g}",
                    s.by,
                    s.text,
                ]
                for s in note.scales
            ],
        )
    )
    events = condensed_events(note.events) if condensed else note.events
    title = "Events" + (" (key events only; every event is in the report)" if condensed else "")
    parts.append(f"<h3>{esc(title)}</h3>")
    parts.append(
        _table(
            ["time", "rel.", "event", "detail", "by"],
            [
                [
                    local_time(e.at, seconds=False),
                    minutes_text(e.minutes),
                    e.kind.replace("_", " "),
                    e.detail,
                    e.by,
                ]
                for e in events
            ],
        )
    )
    parts.append("<h3>Alarms</h3>")
    parts.append(
        _table(
            ["onset", "priority", "param", "message", "acknowledged by", "at", "end"],
            [
                [
                    local_time(a.onset),
                    a.priority,
                    a.parameter,
                    a.message,
                    a.ack_by or "not acknowledged",
                    local_time(a.ack_at),
                    "open" if a.end is None else local_time(a.end),
                ]
                for a in note.alarms
            ],
        )
    )
    parts.append("<h3>Discharge checks</h3>")
    parts.append(_discharge(note, condensed))
    parts.append("<h3>Signature</h3>")
    parts.append(_signature(note))
    parts.append(
        f'<p style="color:{PAPER.muted}; font-size:7pt;">Times are local clinic time;'
        f' "rel." is minutes from the {rel_origin}.</p>'
    )
    return "<html><body>" + "".join(parts) + "</body></html>"


def _discharge(note: SessionNote, condensed: bool) -> str:
    if condensed and note.discharge:
        failed = [c for c in note.discharge if not c.passed]
        last = max(note.discharge, key=lambda c: c.at)
        text = (
            f"{len(note.discharge) - len(failed)} of {len(note.discharge)} passed"
            f" (last {local_time(last.at, seconds=False)} by {last.by})"
        )
        if failed:
            text += "; NOT passed: " + ", ".join(c.item.replace("_", " ") for c in failed)
        return f"<p>{esc(text)}</p>"
    return _table(
        ["item", "passed", "at", "by", "note"],
        [
            [
                c.item.replace("_", " "),
                "yes" if c.passed else "NO",
                local_time(c.at, seconds=False),
                c.by,
                c.note,
            ]
            for c in note.discharge
        ],
    )


def _signature(note: SessionNote) -> str:
    if not note.signatures:
        return f"<p>{MISSING_HTML}: not yet signed off by a physician.</p>"
    return _table(
        ["", "physician", "time", "note"],
        [
            [s.kind.replace("_", "-"), s.by, local_time(s.at, day=True, seconds=False), s.note]
            for s in note.signatures
        ],
    )
