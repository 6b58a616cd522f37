"""The Spravato REMS Patient Monitoring Form, as data filled from the stored record.

Every outpatient esketamine session needs this form (clinical.md G 32).  :func:`rems_form`
fills each field the record can answer and leaves the others None; the PDF prints None as
"missing" and :func:`rems_missing` lists the required fields still missing (sign-off of an
esketamine session is to refuse while that list is not empty; the lead wires that in).

What the record answers today, and how:

* patient, MRN, date of birth: the linked patient; sex, concomitant medications, healthcare
  setting, lot number and ready-to-leave time: not recorded yet (always missing until the
  esketamine session type stores them);
* monitoring clinician: who recorded the dosing start;
* date, dose: the session date and the dose planned/given;
* total monitoring minutes: first administration (dosing start) to the end of monitoring
  (missing while the session runs);
* vitals acceptable before dosing: the pre-dose gate's verdict (clear, or a physician's review
  or override recorded before the start); at the end: the discharge check ``vitals_stable``;
* BP before dosing, ~40 min after the first administration, before the end of monitoring: the
  timed vitals table's Baseline, 40-min checkpoint and Pre-discharge rows;
* sedation / dissociation: Yes when an assessment shows it (MOAA/S below 5 or an unscored
  sedation note; CADSS/dissociation score above 0 or unscored), No when assessed and all
  normal, missing when never assessed; respiratory depression: Yes on an SpO2 or RR low alarm,
  No when SpO2 or RR was monitored without one, missing when neither was recorded.

"Esketamine" is decided from the stored route (console.domain.session.ROUTES): a session whose
route is ``IN`` (intranasal) is an esketamine session; IV/IM/SC are ketamine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime

from console.domain.review import ReviewSummary
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
    """Whether the session is intranasal esketamine (route ``IN`` in the record)."""
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


def rems_form(stored: StoredSession, summary: ReviewSummary) -> RemsForm:
    """The form filled from the record (pure; see the module docstring for each field)."""
    r, pt = stored.record, stored.patient
    rows = timed_vitals(stored.trends, review_marks(summary, stored.events))
    by_label = {row.mark.label: row for row in rows}
    inf = summary.infusion
    start_event = next((e for e in stored.events if e.kind == EventKind.INFUSION_START), None)
    total = None
    if inf.start is not None and not summary.in_progress:
        total = (summary.monitoring_end - inf.start).total_seconds() / 60.0
    dose = inf.given_dose_mg if inf.given_dose_mg is not None else inf.planned_dose_mg
    return RemsForm(
        patient_name=(pt.display_name or None) if pt else None,
        patient_id=pt.mrn if pt else None,
        date_of_birth=pt.date_of_birth if pt else None,
        sex=_text_or_none(getattr(pt, "sex", None)),  # not in the record yet
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


def form_fields(form: RemsForm) -> Sequence[str]:
    """Names of the form's fields (the dataclass order), for tests and renderers."""
    return [f.name for f in fields(form) if f.name in FIELD_LABELS]
