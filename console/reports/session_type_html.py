"""The session type, the start-of-session answers and the esketamine record as HTML
(issue 17), for the review's "Start / REMS" tab.

Read from :class:`~console.storage.review.StoredSession` (``intake``, ``session_type``,
``esketamine``), the same fields the REMS export reads, so the physician sees what the form
will say.  A separate module from :mod:`console.reports.html`, which the PDF report shares.
"""

from __future__ import annotations

from console.domain.esketamine import END_CHECK_EFFECTS, BpReading
from console.domain.review import local_time
from console.reports.html import PAPER, Palette, esc, table
from console.storage.review import StoredSession


def _bp(reading: BpReading | None, stored: StoredSession, p: Palette) -> str:
    if reading is None:
        return f'<span style="color:{p.high};"><b>no reading</b></span>'
    rec = stored.esketamine
    first = rec.first_device_at if rec is not None else None
    return esc(f"{reading.text(first)} ({local_time(reading.at)})")


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no (physician decision recorded)")


def session_type_html(stored: StoredSession, p: Palette = PAPER) -> str:
    """Session type, start data (medications, setting, date of birth, sex) and, for an
    esketamine session, dose, lot, devices, the three BP checkpoints and the end checks."""
    parts = [f"<h3>{esc(stored.session_type.label)}</h3>"]
    intake = stored.intake
    if intake is None:
        parts.append(
            f'<p style="color:{p.muted};">No start-of-session answers stored (recorded before '
            "they were asked).</p>"
        )
    else:
        born = None if intake.date_of_birth is None else intake.date_of_birth.isoformat()
        rows = [
            ["Date of birth", born or "not entered"],
            ["Sex", intake.sex or "not entered"],
            ["Healthcare setting", intake.setting_name or "not entered"],
            ["Setting type", intake.setting_type or "not entered"],
            *[line.split(": ", 1) for line in intake.medication_text().split("; ")],
        ]
        parts.append(table(["", ""], rows, p))
    rec = stored.esketamine
    if rec is None:
        return "".join(parts)
    times = ", ".join(local_time(t) for t in rec.devices_given_at) or "none"
    monitoring = None if rec.monitoring_min is None else f"{rec.monitoring_min:.0f} min"
    ready = None if rec.ready_to_leave_min is None else f"{rec.ready_to_leave_min:.0f} min"
    rows = [
        ["Dose", f"{rec.dose_mg:g} mg intranasal ({rec.devices_planned} devices)"],
        ["Lot", rec.lot],
        ["Devices given", f"{len(rec.devices_given_at)} at {times}"],
        *[["Device warning", w] for w in rec.device_warnings],
        ["BP before dosing", _bp(rec.bp_before_dosing, stored, p)],
        ["BP at ~40 min", _bp(rec.bp_at_40_min, stored, p)],
        ["BP before end of monitoring", _bp(rec.bp_before_end, stored, p)],
        ["Vitals acceptable before dosing", esc(_yes_no(rec.vitals_acceptable_before_dosing))],
        [
            "Vitals acceptable before completion",
            esc(_yes_no(rec.vitals_acceptable_before_completion)),
        ],
        ["Monitored by", esc(", ".join(rec.monitored_by) or "-")],
        ["First device to end of monitoring", esc(monitoring or "session open")],
        ["Ready to leave (after the first device)", esc(ready or "not recorded")],
    ]
    checks = rec.end_checks
    for key, label in END_CHECK_EFFECTS.items():
        if checks is None:
            text = "not recorded"
        elif not checks.occurred.get(key):
            text = "did not occur"
        else:
            text = "occurred, resolved" if checks.resolved.get(key) else "occurred, NOT resolved"
        rows.append([label.capitalize(), esc(text)])
    parts.append("<h3>Esketamine (REMS)</h3>")
    parts.append(table(["", ""], [[esc(a), b] for a, b in rows], p, raw=True))
    return "".join(parts)


__all__ = ["session_type_html"]
