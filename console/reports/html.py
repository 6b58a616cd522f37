"""The session record as HTML (Qt's rich-text subset): the PDF report and the review panels.

One builder serves the printed report and the review window's panels, so a figure reads the
same on paper and on screen.  Qt-free: plain strings; :mod:`console.reports.pdf` lays it out
with QTextDocument and the review window shows the sections in QTextBrowsers.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from console.domain.alarm_profiles import ThresholdProfile
from console.domain.alarm_rules import METRIC_LABELS, format_value
from console.domain.observations import score_label
from console.domain.review import (
    PARAMETER_LABELS,
    ReviewSummary,
    VitalsSnapshot,
    local_time,
    minutes_text,
)
from console.domain.session import SessionEvent
from console.domain.timed_vitals import (
    COLUMNS,
    DBP,
    MAP,
    SBP,
    TimedRow,
    review_marks,
    timed_vitals,
    window_notes,
)
from console.reports.wording import limit_change_words
from console.storage.review import SignOff, StoredSession


@dataclass(frozen=True, slots=True)
class Palette:
    """Colours of the HTML (light on paper, dark in the monitor-style window)."""

    text: str = "#111111"
    muted: str = "#555555"
    rule: str = "#999999"
    head_bg: str = "#e8e8e8"
    sim_bg: str = "#6a1b9a"
    high: str = "#c62828"
    medium: str = "#8d6e00"
    low: str = "#00838f"


PAPER = Palette()
SCREEN = Palette(
    text="#d8dee9",
    muted="#7b8794",
    rule="#3b4652",
    head_bg="#1c2530",
    high="#ff5252",
    medium="#fdd835",
    low="#26c6da",
)


def esc(value: object) -> str:
    """HTML-escaped text of any value (None as ``-``)."""
    return "-" if value is None else html.escape(str(value))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    p: Palette = PAPER,
    *,
    raw: bool = False,
    pad: int = 3,
) -> str:
    """A bordered table; cells are escaped unless ``raw``; ``pad`` is the cell padding (px)."""
    head = "".join(
        f'<th align="left" style="background:{p.head_bg}; padding:{pad}px;">{esc(h)}</th>'
        for h in headers
    )
    body = []
    for row in rows:
        cells = "".join(f'<td style="padding:{pad}px;">{c if raw else esc(c)}</td>' for c in row)
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return f'<p style="color:{p.muted};">none</p>'
    # <thead>: Qt repeats a table's header row on every page the table continues on
    head_row = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""  # key/value: none
    return (
        f'<table width="100%" cellspacing="0" cellpadding="{pad}" border="1" '
        f'style="border-color:{p.rule}; border-collapse:collapse;">'
        f"{head_row}{''.join(body)}</table>"
    )


def _vitals(v: VitalsSnapshot, origin_label: str, s: ReviewSummary) -> list[str]:
    when = v.sbp.at if v.sbp else (v.hr.at if v.hr else None)
    rel = minutes_text(None if when is None else (when - s.origin).total_seconds() / 60.0)
    return [v.bp_text(), v.hr_text(), local_time(when), rel if origin_label else "", v.source]


#: What a timed-vitals cell shows when no valid reading was in the row's window.
NO_READING = "none"


def _num(row: TimedRow, column: str) -> str:
    v = row.values.get(column)
    return NO_READING if v is None else f"{v.value:.0f}"


def _reading_html(row: TimedRow, columns: Sequence[str], p: Palette) -> str:
    """Values of ``columns`` joined by "/", each missing one marked "none"."""
    parts = []
    for c in columns:
        v = row.values.get(c)
        parts.append(
            f'<i style="color:{p.high};">{NO_READING}</i>' if v is None else f"{v.value:.0f}"
        )
    return "/".join(parts)


def timed_vitals_html(
    rows: Sequence[TimedRow], windows: Sequence[str], p: Palette = PAPER, *, pad: int = 3
) -> str:
    """The timed vitals table: one row per mark, SBP/DBP/MAP, HR, SpO2, RR, each marked "none"
    when its window had no valid reading, and the windows in words underneath."""
    body = []
    for row in rows:
        sbp = row.values.get(SBP)
        body.append(
            [
                esc(row.mark.label),
                esc(local_time(row.mark.target, seconds=False)),
                _reading_html(row, (SBP, DBP, MAP), p),
                esc("-" if sbp is None else local_time(sbp.at, seconds=False)),
                *(_reading_html(row, (c,), p) for c in COLUMNS[3:]),
            ]
        )
    note = (
        f'<p style="color:{p.muted}; font-size:7pt;">Windows: {esc("; ".join(windows))}.'
        f' "{NO_READING}": no valid reading in the window.</p>'
    )
    head = ["", "time", "SBP/DBP/MAP", "BP at", "HR", "SpO2", "RR"]
    return table(head, body, p, raw=True, pad=pad) + note


def header_html(stored: StoredSession, summary: ReviewSummary, p: Palette = PAPER) -> str:
    """Patient, session number, date, chair, device, dose; SIMULATED and IN PROGRESS banners."""
    r = stored.record
    pt = stored.patient
    who = "no patient linked" if pt is None else f"{pt.display_name or '-'} (MRN {pt.mrn})"
    number = "-" if r.series_number is None else f"#{r.series_number} of the series"
    parts = []
    if r.simulated:
        parts.append(
            f'<p style="background:{p.sim_bg}; color:#ffffff; font-size:16pt; font-weight:bold;'
            ' padding:4px;">&nbsp;SIMULATED SESSION - NOT PATIENT DATA&nbsp;</p>'
        )
    if summary.in_progress:
        parts.append(
            f'<p style="color:{p.medium}; font-weight:bold;">IN PROGRESS - still being recorded'
            f" (read {esc(local_time(stored.read_at, day=True))}); figures cover the data so"
            " far</p>"
        )
    dob = (
        "-"
        if pt is None
        else ("missing" if pt.date_of_birth is None else pt.date_of_birth.isoformat())
    )
    rows = [
        ("Patient", who),
        ("Date of birth", dob),
        ("Session", f"{r.id} - {number}"),
        ("Date", local_time(r.started_at, day=True, seconds=False)),
        ("Chair / device", f"{r.chair} / {r.device_kind} {r.device_url}".strip()),
        ("Dose", summary.infusion.dose_text()),
        (
            "Monitoring",
            f"{local_time(r.started_at, seconds=False)} - "
            f"{local_time(summary.monitoring_end, seconds=False)}"
            f" ({summary.monitoring_min:.0f} min)",
        ),
        ("Phase", r.phase + (" (resumed after a restart)" if r.resumed else "")),
        ("Thresholds", profile_status(stored)),
    ]
    parts.append(table(["", ""], rows, p))
    return "".join(parts)


def figures_html(summary: ReviewSummary, p: Palette = PAPER) -> str:
    """Baseline, 40-min checkpoint, peak and pre-discharge BP/HR; time to peak; alarm counts."""
    s = summary
    rows = [
        ["Baseline", *_vitals(s.baseline, "x", s)],
        ["40-min checkpoint", *_vitals(s.checkpoint_40, "x", s)],
        ["Peak", *_vitals(s.peak, "x", s)],
        ["Pre-discharge", *_vitals(s.pre_discharge, "x", s)],
    ]
    out = table(["", "BP mmHg", "HR /min", "at", "from infusion start", "basis"], rows, p)
    inf = s.infusion
    facts = [
        ("Total monitoring time", f"{s.monitoring_min:.0f} min"),
        (
            "Infusion",
            f"{local_time(inf.start)} - {local_time(inf.stop)}"
            + ("" if inf.duration_min is None else f" ({inf.duration_min:.0f} min)")
            + (f", stopped: {inf.stop_reason}" if inf.stop_reason else ""),
        ),
        ("Time to peak SBP", minutes_text(s.time_to_peak_sbp_min)),
        (
            "Peak rise from baseline",
            _rise(s.peak, s.baseline),
        ),
        (
            "Alarms",
            f"{s.alarm_count()} ({s.alarm_count('high')} high, {s.alarm_count('medium')} medium,"
            f" {s.alarm_count('low')} low)",
        ),
        ("Data completeness", f"{s.overall_completeness:.1f} % ({len(s.gaps)} gaps)"),
        (
            "Adverse effects",
            "; ".join(
                score_label(e)  # a structured score: "CADSS-6 12"
                or f"{e.kind} {'' if e.score is None else f'{e.score:g}'} {e.text}".strip()
                for e in s.adverse_events
            )
            or "none recorded",
        ),
    ]
    return out + "<br/>" + table(["", ""], facts, p)


def _rise(peak: VitalsSnapshot, base: VitalsSnapshot) -> str:
    if peak.sbp is None or base.sbp is None:
        return "-"
    d = f"{peak.dbp.value - base.dbp.value:+.0f}" if peak.dbp and base.dbp else "?"
    return f"{peak.sbp.value - base.sbp.value:+.0f}/{d} mmHg"


def alarms_html(summary: ReviewSummary, p: Palette = PAPER) -> str:
    """Alarm list: onset, priority, parameter, value, limit, acknowledged (who, when), end."""
    colours = {"high": p.high, "medium": p.medium, "low": p.low}
    rows = []
    for a in summary.alarms:
        ack = a.first_ack
        prio = f'<b style="color:{colours.get(a.priority, p.text)};">{esc(a.priority)}</b>'
        rows.append(
            [
                esc(local_time(a.onset)),
                prio,
                esc(PARAMETER_LABELS.get(a.parameter, a.parameter)),
                esc(format_value(a.parameter, a.value)),  # SpO2 91, never 91.04
                esc(_g(a.limit_value)),
                esc(a.message),
                esc(
                    ("-" if ack is None else f"{ack.actor} {local_time(ack.at)}")
                    + (
                        ""
                        if a.signal_escalated_at is None
                        else f" (unanswered: signal escalated {local_time(a.signal_escalated_at)})"
                    )
                ),
                esc("open" if a.end is None else local_time(a.end)),
            ]
        )
    return table(
        ["onset", "priority", "param", "value", "limit", "message", "acknowledged", "end"],
        rows,
        p,
        raw=True,
    )


def events_html(stored: StoredSession, summary: ReviewSummary, p: Palette = PAPER) -> str:
    """The lifecycle and annotation timeline."""
    rows = [
        [
            local_time(e.at),
            minutes_text((e.at - summary.origin).total_seconds() / 60.0),
            e.kind.replace("_", " "),
            full_detail(e),
            e.author,
        ]
        for e in stored.events
    ]
    return table(["time", "rel.", "event", "detail", "by"], rows, p)


def event_detail(
    rate: float | None, dose: float | None, score: float | None, reason: str, text: str
) -> str:
    """One line describing an event's values."""
    bits = []
    if rate is not None:
        bits.append(f"{rate:g} mL/h")
    if dose is not None:
        bits.append(f"{dose:g} mg")
    if score is not None:
        bits.append(f"score {score:g}")
    if reason:
        bits.append(f"reason: {reason}")
    if text:
        bits.append(text)
    return "; ".join(bits)


#: Event kinds whose ``data`` (checklist item, baseline values) is part of what they say.
DATA_KINDS = frozenset({"discharge_check", "baseline_vitals"})


def full_detail(e: SessionEvent) -> str:
    """An event's values plus, for checklist and baseline entries, their data."""
    detail = event_detail(e.rate_ml_per_h, e.dose_mg, e.score, e.reason, e.text)
    if e.kind not in DATA_KINDS:
        return detail
    shown = ", ".join(f"{k} {v}" for k, v in e.data.items() if v is not None)
    return "; ".join(x for x in (detail, shown) if x)


def infusion_html(summary: ReviewSummary, p: Palette = PAPER) -> str:
    """Pump rate steps and pauses."""
    inf = summary.infusion
    steps = table(
        ["time", "rel.", "step", "rate mL/h", "by", "reason"],
        [
            [
                local_time(x.at),
                minutes_text((x.at - summary.origin).total_seconds() / 60.0),
                x.kind.replace("_", " "),
                _g(x.rate_ml_per_h),
                x.author,
                x.reason,
            ]
            for x in inf.steps
        ],
        p,
    )
    pauses = (
        "<br/>"
        + table(
            ["paused", "resumed", "reason", "by"],
            [[local_time(x.start), local_time(x.end), x.reason, x.author] for x in inf.pauses],
            p,
        )
        if inf.pauses
        else ""
    )
    return f"<p>{esc(inf.dose_text())}</p>{steps}{pauses}"


#: Heading of the thresholds when the session's own profile was stored with it.
STORED_PROFILE_TITLE = "Thresholds in effect (stored with the session)"
#: Note on a session recorded without its profile (before storage revision 0004).
NOT_STORED_NOTE = "not stored with this session; showing the console's current profile"


def profile_status(stored: StoredSession) -> str:
    """One line for the session header: which threshold profile the session ran with."""
    if stored.profile is not None:
        text = f'"{stored.profile.name}" (stored with the session)'
    else:
        text = "not stored with this session (recorded before profiles were stored)"
    n = len(stored.profile_changes)
    if n:
        text += f"; {n} change{'s' if n != 1 else ''} during the session"
    return text


def thresholds_html(
    stored: StoredSession, summary: ReviewSummary, profile: ThresholdProfile, p: Palette = PAPER
) -> str:
    """Limits in effect and every change during the session with who, when and why.

    The limits are the profile stored with the session when there is one; otherwise
    ``profile`` (the console's configured one), marked as such.
    """
    shown, from_record = stored.thresholds(profile)
    tiers = [
        [
            METRIC_LABELS[r.metric],
            r.direction.value,
            r.summary(),
        ]
        for r in sorted(shown.policy.rules, key=lambda r: (r.metric.value, r.direction, r.limit))
    ]
    base = []
    for rule in shown.baseline_rules:
        value = {"NIBP_SYS": summary.baseline.sbp, "NIBP_DIA": summary.baseline.dbp}.get(
            rule.metric.value
        )
        text = f"+{rule.rise:g} mmHg over baseline, {rule.priority.label}"
        if rule.confirm:
            text += ", confirm by repeat"
        if value is not None:
            text += f" = {rule.rule_for(value.value).summary()}"
        base.append([METRIC_LABELS[rule.metric], "high", text])
    timings = [
        [name.replace("_", " "), "on" if v is True else "off" if v is False else f"{v:g}"]
        for name, v in asdict(shown.timings).items()
    ]
    changes = [
        [
            local_time(c["at"]),
            c["actor"],
            c["reason"],
            limit_change_words(c["old_json"], c["new_json"]),
        ]
        for c in stored.profile_changes
    ]
    seen = sorted(
        {(a.parameter, a.limit_value) for a in summary.alarms if a.limit_value is not None},
        key=lambda x: (x[0], x[1] or 0.0),
    )
    if from_record:
        head = (
            f"<p><b>{esc(STORED_PROFILE_TITLE)}</b>: profile &quot;{esc(shown.name)}&quot; as in"
            " effect when the session started; changes during the session are listed below."
            f' <span style="color:{p.muted};">Limits that triggered alarms are as stored with'
            " each alarm.</span></p>"
        )
    else:
        unreadable = (
            f" (the stored profile could not be read: {esc(stored.profile_note)})"
            if stored.profile_note
            else ""
        )
        head = (
            f'<p style="color:{p.medium};"><b>Thresholds: {esc(NOT_STORED_NOTE)}</b>'
            f" &quot;{esc(shown.name)}&quot;{unreadable}; the limits in effect during the"
            " session may have differed. Limits that triggered alarms are as stored with each"
            " alarm.</p>"
        )
    return (
        head
        + table(["param", "side", "limit"], tiers + base, p)
        + "<p><b>Alarm timings (s)</b></p>"
        + table(["setting", "value"], timings, p)
        + "<p><b>Limits that triggered alarms</b></p>"
        + table(
            ["param", "limit"],
            [[PARAMETER_LABELS.get(a, a), _g(v)] for a, v in seen],
            p,
        )
        + "<p><b>Changes during the session</b></p>"
        + table(["time", "by", "reason", "change"], changes, p)
    )


def completeness_html(summary: ReviewSummary, p: Palette = PAPER) -> str:
    """Per-parameter percentage of expected readings, and every gap."""
    rows = [
        [
            PARAMETER_LABELS.get(c.parameter, c.parameter),
            f"{c.percent:.1f} %",
            c.valid,
            c.expected,
            c.invalid,
            f"{c.interval_s:g} s",
            len(c.gaps),
        ]
        for c in summary.completeness
    ]
    gaps = [
        [
            PARAMETER_LABELS.get(g.parameter, g.parameter),
            local_time(g.start),
            local_time(g.end),
            f"{g.duration_s / 60.0:.1f} min",
        ]
        for g in summary.gaps
    ]
    return (
        table(["param", "complete", "valid", "expected", "flagged", "interval", "gaps"], rows, p)
        + "<p><b>Gaps (no valid value)</b></p>"
        + table(["param", "from", "to", "length"], gaps, p)
    )


def discharge_html(stored: StoredSession, p: Palette = PAPER) -> str:
    """The discharge checklist as answered."""
    return table(
        ["item", "passed", "at", "by", "note"],
        [
            [item.replace("_", " "), "yes" if ok else "NO", local_time(at), by, note]
            for item, ok, at, by, note in stored.discharge_checks
        ],
        p,
    )


#: How a signature made without an account is labelled (screen, PDF).
UNVERIFIED_LABEL = "UNVERIFIED (no account)"


def signature_text(s: SignOff) -> str:
    """One signature in words: who (printed name), when, and what it means."""
    what = "Signed" if s.kind == "sign_off" else "Addendum signed"
    status = "verified by password" if s.verified else UNVERIFIED_LABEL
    return (
        f"{what} electronically by {s.signer} on {local_time(s.reviewed_at, day=True)}, "
        f"meaning: {s.meaning} ({status})"
    )


def signoff_html(stored: StoredSession, p: Palette = PAPER) -> str:
    """Physician sign-off and addenda, each as an electronic signature.

    Each signature shows the printed name, date and time, its meaning and whether the signer's
    password was checked (an account) or the name was only typed (no accounts); its note is a
    full-width line below it, so a long note never squeezes the signature's columns.
    """
    if not stored.sign_offs:
        return f'<p style="color:{p.high};"><b>Not yet reviewed by a physician.</b></p>'
    heads = ["", "signed by (printed name)", "date and time", "meaning", "signature"]
    head = "".join(
        f'<th align="left" style="background:{p.head_bg}; padding:3px;">{esc(h)}</th>'
        for h in heads
    )
    rows = [f"<tr>{head}</tr>"]
    for s in stored.sign_offs:
        status = (
            "verified (password)"
            if s.verified
            else f'<b style="color:{p.high};">{esc(UNVERIFIED_LABEL)}</b>'
        )
        cells = [
            esc(s.kind.replace("_", "-")),
            f"<b>{esc(s.signer)}</b>",
            esc(local_time(s.reviewed_at, day=True)),
            esc(s.meaning),
            status,
        ]
        rows.append("<tr>" + "".join(f'<td style="padding:3px;">{c}</td>' for c in cells) + "</tr>")
        if s.note:
            rows.append(
                f'<tr><td colspan="{len(heads)}" style="padding:3px;">'
                f'<span style="color:{p.muted};">note:</span> {esc(s.note)}</td></tr>'
            )
    return (
        f'<table width="100%" cellspacing="0" cellpadding="3" border="1" '
        f'style="border-color:{p.rule}; border-collapse:collapse;">{"".join(rows)}</table>'
    )


def report_html(
    stored: StoredSession,
    summary: ReviewSummary,
    profile: ThresholdProfile,
    *,
    plot_url: str | None = None,
    plot_width: int = 0,
) -> str:
    """The whole printed report."""
    esk = stored.esketamine
    first_device = None if esk is None else esk.first_device_at
    rows = timed_vitals(
        stored.trends, review_marks(summary, stored.events, first_device_at=first_device)
    )
    sections: list[tuple[str, str]] = [
        ("Summary", figures_html(summary)),
        ("Timed vitals", timed_vitals_html(rows, window_notes(rows))),
        ("Alarms", alarms_html(summary)),
        ("Events and annotations", events_html(stored, summary)),
        ("Dose and infusion", infusion_html(summary)),
        ("Thresholds", thresholds_html(stored, summary, profile)),
        ("Data completeness", completeness_html(summary)),
        ("Discharge checklist", discharge_html(stored)),
        ("Physician sign-off", signoff_html(stored)),
    ]
    body: list[str] = [
        "<h1>Infusion session report</h1>",
        header_html(stored, summary),
    ]
    if plot_url:
        body.append("<h2>Trends</h2>")
        body.append(f'<p><img src="{plot_url}" width="{plot_width}"/></p>')
    for title, content in sections:
        body.append(f"<h2>{esc(title)}</h2>{content}")
    body.append(
        f'<p style="color:{PAPER.muted}; font-size:7pt;">Generated from the stored record '
        f"(read {esc(local_time(stored.read_at, day=True))}). Times are local clinic time.</p>"
    )
    return "<html><body>" + "".join(body) + "</body></html>"


def _g(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
