"""The Spravato REMS Patient Monitoring Form, as data filled from the stored record.

Every outpatient esketamine session needs this form (clinical.md G 32).  :func:`rems_form`
fills each field the record can answer and leaves the others None; the PDF prints None as
"missing" and :func:`rems_missing` lists the required fields still missing (sign-off of an
esketamine session is to refuse while that list is not empty; the lead wires that in).

What the record answers, and how.  An esketamine session (session type from its start
questions) is read from its esketamine record (console.domain.esketamine: dose and lot, the
devices with their times, the three BP checkpoints, the end checks with the ready-to-leave
time, who monitored) and its start questions (the five medication classes, the healthcare
setting, date of birth and sex).  Older records without them fall back to what the timeline
holds:

* patient, MRN, date of birth: the linked patient;
* monitoring clinician: who recorded the devices and the end checks (else the dosing start);
* date, dose: the session date and the dose (esketamine: "56 mg (2 devices)", lot separately);
* total monitoring minutes: first administration to the end of monitoring (missing while the
  session runs);
* vitals acceptable before dosing: the pre-dose gate at the first device (else the gate's
  verdict, a physician's review or override recorded before the start); at the end: the
  discharge gate at the close (else the discharge check ``vitals_stable``);
* BP before dosing, ~40 min after the first administration, before the end of monitoring: the
  esketamine checkpoints (else the timed vitals table's Baseline, 40-min checkpoint and
  Pre-discharge rows);
* sedation / dissociation / respiratory depression: the end checks' "occurred" (else from the
  scores and alarms: MOAA/S below 5, CADSS above 0, an SpO2 or RR low alarm).

Any field the record lacks stays None ("missing" on the form).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime

from console.domain.esketamine import BpReading, EsketamineRecord, SessionType
from console.domain.review import ReviewSummary, summarize
from console.domain.session import EventKind, GateVerdict
from console.domain.timed_vitals import DBP, SBP, TimedRow, review_marks, timed_vitals
from console.storage.review import StoredSession

#: The route of intranasal esketamine (Spravato) among ROUTES.
ESKETAMINE_ROUTE = "IN"
#: Concomitant medication classes the form asks about, Yes/No each.
MEDICATION_CLASSES: tuple[str, ...] = (
    "Benzodiazepines",
    "Non-benzodiazepine sedative hypnotics",
    "Psychostimulants",
    "Monoamine oxidase inhibitors (MAOIs)",
    "Opioids",
)
#: MOAA/S of a fully awake patient (below it = sedated).
MOAAS_AWAKE = 5.0
#: Alarm parameters whose low alarm documents respiratory depression.
RESPIRATORY = frozenset({"SPO2", "RR"})


@dataclass(frozen=True, slots=True)
class BloodPressure:
    """One BP of the form, with when it was taken."""

    sbp: float
    dbp: float | None
    at: datetime

    def text(self) -> str:
        """``132/82``."""
        return f"{self.sbp:.0f}/" + ("-" if self.dbp is None else f"{self.dbp:.0f}")


@dataclass(frozen=True, slots=True)
class RemsForm:
    """The REMS Patient Monitoring Form's fields (None = missing from the record)."""

    patient_name: str | None
    patient_id: str | None
    date_of_birth: date | None
    sex: str | None
    benzodiazepines: bool | None
    sedative_hypnotics: bool | None
    psychostimulants: bool | None
    maois: bool | None
    opioids: bool | None
    monitoring_clinician: str | None
    healthcare_setting: str | None
    treatment_date: date | None
    dose: str | None
    lot_number: str | None
    total_monitoring_min: float | None
    ready_to_leave_min: float | None
    vitals_ok_before_dosing: bool | None
    vitals_ok_at_end: bool | None
    bp_before_dosing: BloodPressure | None
    bp_40_min: BloodPressure | None
    bp_end_of_monitoring: BloodPressure | None
    sedation: bool | None
    dissociation: bool | None
    respiratory_depression: bool | None
    #: Not a form field: the session (for the header) and whether it was simulated.
    session_id: int = 0
    simulated: bool = False


#: Printed label of every required field, in the form's order.
FIELD_LABELS: dict[str, str] = {
    "patient_name": "Patient name",
    "patient_id": "Patient ID (MRN)",
    "date_of_birth": "Date of birth",
    "sex": "Sex",
    "benzodiazepines": MEDICATION_CLASSES[0],
    "sedative_hypnotics": MEDICATION_CLASSES[1],
    "psychostimulants": MEDICATION_CLASSES[2],
    "maois": MEDICATION_CLASSES[3],
    "opioids": MEDICATION_CLASSES[4],
    "monitoring_clinician": "Monitoring healthcare provider",
    "healthcare_setting": "Healthcare setting",
    "treatment_date": "Date of treatment session",
    "dose": "Dose",
    "lot_number": "Lot number",
    "total_monitoring_min": "Total monitoring time (min)",
    "ready_to_leave_min": "Ready to leave (min after first administration)",
    "vitals_ok_before_dosing": "Vital signs acceptable before dosing",
    "vitals_ok_at_end": "Vital signs acceptable at the end of monitoring",
    "bp_before_dosing": "BP before dosing",
    "bp_40_min": "BP ~40 min after the first administration",
    "bp_end_of_monitoring": "BP before the end of monitoring",
    "sedation": "Sedation",
    "dissociation": "Dissociation",
    "respiratory_depression": "Respiratory depression",
}


def is_esketamine(stored: StoredSession) -> bool:
    """Whether the session is intranasal esketamine: its session type, or for a record from
    before session types, route ``IN`` in the record."""
    if stored.session_type is SessionType.ESKETAMINE:
        return True
    route = stored.record.route
    plan = next((e for e in stored.events if e.kind == EventKind.INFUSION_PLANNED), None)
    if plan is not None and plan.data.get("route"):
        route = str(plan.data["route"])
    return (route or "").upper() == ESKETAMINE_ROUTE


def rems_missing(form: RemsForm) -> list[str]:
    """Labels of the required fields the form still lacks, in the form's order."""
    return [label for name, label in FIELD_LABELS.items() if getattr(form, name) is None]


def _bp(row: TimedRow | None) -> BloodPressure | None:
    if row is None:
        return None
    sbp, dbp = row.values.get(SBP), row.values.get(DBP)
    if sbp is None:
        return None
    return BloodPressure(sbp.value, None if dbp is None else dbp.value, sbp.at)


def _vitals_ok_before(stored: StoredSession, dosing: datetime | None) -> bool | None:
    before = [e for e in stored.events if dosing is None or e.at <= dosing]
    base = [e for e in before if e.kind == EventKind.BASELINE_VITALS]
    if not base:
        return None
    verdict = str(base[-1].data.get("verdict") or "")
    if verdict == GateVerdict.CLEAR:
        return True
    kinds = {e.kind for e in before if e.at >= base[-1].at}
    if verdict == GateVerdict.REVIEW and EventKind.PHYSICIAN_REVIEW in kinds:
        return True
    return EventKind.PHYSICIAN_OVERRIDE in kinds


def _vitals_ok_at_end(stored: StoredSession) -> bool | None:
    answers = [ok for item, ok, *_rest in stored.discharge_checks if item == "vitals_stable"]
    return answers[-1] if answers else None


def _assessed(stored: StoredSession, kind: EventKind, normal: float) -> bool | None:
    """Yes when any assessment shows the effect, No when all are ``normal``, None if none."""
    found = [e for e in stored.events if e.kind == kind]
    if not found:
        return None
    if kind == EventKind.SEDATION:
        return any(e.score is None or e.score < normal for e in found)
    return any(e.score is None or e.score > normal for e in found)


def _respiratory_depression(stored: StoredSession, summary: ReviewSummary) -> bool | None:
    for a in summary.alarms:
        if a.parameter in RESPIRATORY and a.condition.endswith(":low"):
            return True
    monitored = any(c.parameter in RESPIRATORY and c.valid > 0 for c in summary.completeness)
    return False if monitored else None


def _text_or_none(value: object) -> str | None:
    return None if value is None or not str(value).strip() else str(value)


def _checkpoint(reading: BpReading | None) -> BloodPressure | None:
    return None if reading is None else BloodPressure(reading.sbp, reading.dbp, reading.at)


def _esketamine_fields(stored: StoredSession) -> dict[str, object]:
    """The fields an esketamine record and its start questions answer (absent: not answered,
    so the timeline's fallback stands)."""
    out: dict[str, object] = {}
    intake = stored.intake
    if intake is not None:
        answers = intake.medications
        for name, key in (
            ("benzodiazepines", "benzodiazepines"),
            ("sedative_hypnotics", "non_benzodiazepine_sedative_hypnotics"),
            ("psychostimulants", "psychostimulants"),
            ("maois", "maois"),
            ("opioids", "opioids"),
        ):
            if answers.get(key) is not None:
                out[name] = answers[key]
        setting = ", ".join(t for t in (intake.setting_name.strip(), intake.setting_type) if t)
        if setting:
            out["healthcare_setting"] = setting
        if intake.sex:
            out["sex"] = intake.sex
        if intake.date_of_birth is not None:
            out["date_of_birth"] = intake.date_of_birth
    record: EsketamineRecord | None = stored.esketamine
    if record is None:
        return out
    out["dose"] = f"{record.dose_mg:g} mg ({record.devices_planned} devices)"
    if record.lot.strip():
        out["lot_number"] = record.lot.strip()
    if record.monitored_by:
        out["monitoring_clinician"] = ", ".join(record.monitored_by)
    if record.monitoring_min is not None:
        out["total_monitoring_min"] = record.monitoring_min
    if record.ready_to_leave_min is not None:
        out["ready_to_leave_min"] = record.ready_to_leave_min
    if record.vitals_acceptable_before_dosing is not None:
        out["vitals_ok_before_dosing"] = record.vitals_acceptable_before_dosing
    if record.vitals_acceptable_before_completion is not None:
        out["vitals_ok_at_end"] = record.vitals_acceptable_before_completion
    for name, reading in (
        ("bp_before_dosing", record.bp_before_dosing),
        ("bp_40_min", record.bp_at_40_min),
        ("bp_end_of_monitoring", record.bp_before_end),
    ):
        if reading is not None:
            out[name] = _checkpoint(reading)
    if record.end_checks is not None:
        for effect in ("sedation", "dissociation", "respiratory_depression"):
            out[effect] = bool(record.end_checks.occurred.get(effect))
    return out


def rems_form(stored: StoredSession, summary: ReviewSummary) -> RemsForm:
    """The form filled from the record (pure; see the module docstring for each field)."""
    r, pt = stored.record, stored.patient
    esk = stored.esketamine
    first_device = None if esk is None else esk.first_device_at
    rows = timed_vitals(
        stored.trends, review_marks(summary, stored.events, first_device_at=first_device)
    )
    by_label = {row.mark.label: row for row in rows}
    inf = summary.infusion
    start_event = next((e for e in stored.events if e.kind == EventKind.INFUSION_START), None)
    total = None
    if inf.start is not None and not summary.in_progress:
        total = (summary.monitoring_end - inf.start).total_seconds() / 60.0
    dose = inf.given_dose_mg if inf.given_dose_mg is not None else inf.planned_dose_mg
    form = RemsForm(
        patient_name=(pt.display_name or None) if pt else None,
        patient_id=pt.mrn if pt else None,
        date_of_birth=pt.date_of_birth if pt else None,
        sex=_text_or_none(getattr(pt, "sex", None)),
        benzodiazepines=None,
        sedative_hypnotics=None,
        psychostimulants=None,
        maois=None,
        opioids=None,
        monitoring_clinician=(start_event.author or None) if start_event else None,
        healthcare_setting=None,
        treatment_date=r.started_at.astimezone().date(),
        dose=None if dose is None else f"{dose:g} mg",
        lot_number=None,
        total_monitoring_min=total,
        ready_to_leave_min=None,
        vitals_ok_before_dosing=_vitals_ok_before(stored, inf.start),
        vitals_ok_at_end=_vitals_ok_at_end(stored),
        bp_before_dosing=_bp(by_label.get("Baseline")),
        bp_40_min=_bp(by_label.get("40-min checkpoint")),
        bp_end_of_monitoring=_bp(by_label.get("Pre-discharge")),
        sedation=_assessed(stored, EventKind.SEDATION, MOAAS_AWAKE),
        dissociation=_assessed(stored, EventKind.DISSOCIATION, 0.0),
        respiratory_depression=_respiratory_depression(stored, summary),
        session_id=r.id,
        simulated=r.simulated,
    )
    return replace(form, **_esketamine_fields(stored))  # type: ignore[arg-type]


def form_fields(form: RemsForm) -> Sequence[str]:
    """Names of the form's fields (the dataclass order), for tests and renderers."""
    return [f.name for f in fields(form) if f.name in FIELD_LABELS]


def sign_off_refusal(stored: StoredSession, nibp_interval_s: float) -> str | None:
    """Why the physician cannot sign this session off yet, or None.

    An esketamine session's sign-off waits for a complete REMS form (issue 17): the form is
    sent after every session, so a signed record must answer every field.  Addenda and IV
    sessions are not held.
    """
    if stored.signed_off or not is_esketamine(stored):
        return None
    missing = rems_missing(rems_form(stored, summarize(stored.inputs(nibp_interval_s))))
    if not missing:
        return None
    return "the REMS form is not complete: " + ", ".join(missing)
