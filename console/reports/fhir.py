"""The session record as a FHIR R4 Bundle (built and validated with ``fhir.resources``' R4B models).

``fhir.resources`` 7+ defaults to FHIR R5; its ``fhir.resources.R4B`` package holds the R4B
(4.3.0) models, whose Patient, Encounter, Device, Observation, MedicationAdministration and
Bundle are the R4 (4.0.1) resources on the wire (R4B changed medication-definition and
evidence resources, none of these).  Every resource is built through those models, so a bundle
that would not validate cannot be written.

Contents (type ``collection``, one attachment per session):

* Patient (MRN as identifier) - or an anonymous Patient for sessions without one;
* Device (the monitor: driver kind and port);
* Encounter (the session: period, status ``in-progress`` while unfinished); a simulated session
  is tagged ``HTEST`` (v3 ActReason "test health data") on every resource, so it can never be
  mistaken for patient data downstream;
* MedicationAdministration (ketamine dose and rate, when a dose was recorded; one per
  esketamine device given, 28 mg intranasal, with the lot in its note);
* the clinical record (console.reports.fhir_record): Practitioners, alarms as DetectedIssues
  with their acknowledgements, annotations, scales and discharge checks as Observations, and
  each sign-off as a Provenance;
* Observations with LOINC codes and the vital-signs category: HR 8867-4, SpO2 59408-5,
  RR 9279-1, temperature 8310-5, and the BP panel 85354-9 with SBP 8480-6, DBP 8462-4 and
  MAP 8478-0 as components (one per cuff cycle).  Continuous parameters are summarised as one
  Observation per ``continuous_interval_s`` (default one minute: the median of the valid
  readings, the count in the note), because one Observation per 1 Hz reading would make a
  45-minute session 10,000+ resources; readings the device flagged invalid are left out (their
  share is in the PDF's completeness table).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
from fhir.resources.R4B.bundle import Bundle

from console.domain.esketamine import DEVICE_MG
from console.domain.review import DBP, HR, MAP, RR, SBP, SPO2, TEMP, ReviewSummary, summarize
from console.reports.fhir_record import add_record, gender, people
from console.storage.review import StoredSession

FHIR_MODELS = "fhir.resources.R4B (FHIR 4.3.0, R4-compatible resources)"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL_SIGNS_CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}
SIMULATED_TAG = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
    "code": "HTEST",
    "display": "test health data",
}
#: parameter -> (LOINC code, display, UCUM unit)
CONTINUOUS_CODES: dict[str, tuple[str, str, str]] = {
    HR: ("8867-4", "Heart rate", "/min"),
    SPO2: ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%"),
    RR: ("9279-1", "Respiratory rate", "/min"),
    TEMP: ("8310-5", "Body temperature", "Cel"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
BP_COMPONENTS: dict[str, tuple[str, str]] = {
    SBP: ("8480-6", "Systolic blood pressure"),
    DBP: ("8462-4", "Diastolic blood pressure"),
    MAP: ("8478-0", "Mean blood pressure"),
}
#: RxNorm ingredient code of ketamine.
KETAMINE_RXNORM = ("6130", "ketamine")
#: NIBP values of one cuff cycle arrive within this many seconds of each other.
NIBP_CYCLE_TOLERANCE_S = 5.0


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def _dt(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(round(epoch_s, 3), tz=UTC)


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": round(float(value), 2), "unit": unit, "system": UCUM, "code": unit}


def build_bundle(
    stored: StoredSession,
    *,
    continuous_interval_s: float = 60.0,
    summary: ReviewSummary | None = None,
) -> Bundle:
    """The session as a validated R4(B) ``collection`` Bundle.

    Args:
        stored: the record.
        continuous_interval_s: one Observation per this many seconds for HR, SpO2, RR, temp.
        summary: the computed review (alarm periods with their acknowledgements), if the caller
            has it already.

    Raises:
        pydantic.ValidationError: a resource does not validate (a bug here, never data).
    """
    r = stored.record
    summary = summary or summarize(stored.inputs())
    meta: dict[str, Any] = {"tag": [SIMULATED_TAG]} if r.simulated else {}
    refs = {name: f"urn:uuid:{uuid.uuid4()}" for name in ("patient", "device", "encounter")}
    who = {name: f"urn:uuid:{uuid.uuid4()}" for name in people(stored, summary)}
    entries: list[dict[str, Any]] = []

    def add(resource: dict[str, Any], full_url: str | None = None) -> None:
        if meta:
            resource["meta"] = meta
        entries.append({"fullUrl": full_url or f"urn:uuid:{uuid.uuid4()}", "resource": resource})

    pt = stored.patient
    patient: dict[str, Any] = {"resourceType": "Patient", "active": True}
    if pt is not None:
        patient["identifier"] = [{"type": {"text": "MRN"}, "value": pt.mrn}]
        if pt.display_name:
            patient["name"] = [{"text": pt.display_name}]
        if pt.date_of_birth is not None:
            patient["birthDate"] = pt.date_of_birth.isoformat()
        sex = gender(getattr(pt, "sex", None))
        if sex is not None:
            patient["gender"] = sex
    add(patient, refs["patient"])
    add(
        {
            "resourceType": "Device",
            "deviceName": [{"name": r.device_kind, "type": "model-name"}],
            "identifier": [{"value": r.device_url}] if r.device_url else [],
            "note": [{"text": "simulated monitor"}] if r.simulated else [],
        },
        refs["device"],
    )
    period: dict[str, str] = {"start": _iso(r.started_at)}
    if r.ended_at is not None:
        period["end"] = _iso(r.ended_at)
    add(
        {
            "resourceType": "Encounter",
            "status": "finished" if r.ended_at is not None else "in-progress",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "AMB",
                "display": "ambulatory",
            },
            "identifier": [{"system": "urn:infusion-console:session", "value": str(r.id)}],
            "type": [{"text": "IV ketamine infusion session"}],
            "subject": {"reference": refs["patient"]},
            "period": period,
            "location": [{"location": {"display": r.chair}}],
            "participant": [{"individual": {"reference": url}} for url in who.values()],
        },
        refs["encounter"],
    )
    context = {
        "subject": {"reference": refs["patient"]},
        "encounter": {"reference": refs["encounter"]},
        "device": {"reference": refs["device"]},
    }
    status = "final" if r.ended_at is not None else "preliminary"
    if r.dose_mg is not None:
        add(_medication(stored, refs))
    for administration in _esketamine_devices(stored, refs):
        add(administration)
    for parameter, (code, display, unit) in CONTINUOUS_CODES.items():
        trend = stored.trends.get(parameter)
        if trend is None:
            continue
        for start, value, n in _binned(trend.t, trend.value, continuous_interval_s):
            add(
                {
                    "resourceType": "Observation",
                    "status": status,
                    "category": [VITAL_SIGNS_CATEGORY],
                    "code": {
                        "coding": [{"system": LOINC, "code": code, "display": display}],
                        "text": display,
                    },
                    **context,
                    "effectiveDateTime": _iso(_dt(start)),
                    "valueQuantity": _quantity(value, unit),
                    "note": [{"text": f"median of {n} valid readings"}] if n > 1 else [],
                }
            )
    for at, values in _bp_cycles(stored):
        add(
            {
                "resourceType": "Observation",
                "status": status,
                "category": [VITAL_SIGNS_CATEGORY],
                "code": {
                    "coding": [{"system": LOINC, "code": BP_PANEL[0], "display": BP_PANEL[1]}],
                    "text": "Blood pressure (NIBP)",
                },
                **context,
                "effectiveDateTime": _iso(_dt(at)),
                "component": [
                    {
                        "code": {
                            "coding": [
                                {
                                    "system": LOINC,
                                    "code": BP_COMPONENTS[p][0],
                                    "display": BP_COMPONENTS[p][1],
                                }
                            ]
                        },
                        "valueQuantity": _quantity(v, "mm[Hg]"),
                    }
                    for p, v in values.items()
                ],
            }
        )
    add_record(stored, summary, refs, who, add, status)
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "identifier": {"system": "urn:infusion-console:session", "value": str(r.id)},
            "timestamp": _iso(stored.read_at),
            "entry": entries,
        }
    )


def _medication(stored: StoredSession, refs: dict[str, str]) -> dict[str, Any]:
    r = stored.record
    start = next((e.at for e in stored.events if e.kind == "infusion_start"), None)
    stop = next((e for e in stored.events if e.kind == "infusion_stop"), None)
    given = stop.dose_mg if stop is not None and stop.dose_mg is not None else r.dose_mg
    dosage: dict[str, Any] = {"dose": _quantity(float(given or 0.0), "mg")}
    if r.route:
        dosage["route"] = {"text": r.route}
    if r.rate_ml_per_h is not None:
        dosage["rateQuantity"] = _quantity(r.rate_ml_per_h, "mL/h")
    res: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "status": "completed" if stop is not None else ("in-progress" if start else "not-done"),
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": KETAMINE_RXNORM[0],
                    "display": KETAMINE_RXNORM[1],
                }
            ]
        },
        "subject": {"reference": refs["patient"]},
        "context": {"reference": refs["encounter"]},
        "dosage": dosage,
    }
    when = start or r.started_at
    if stop is not None:
        res["effectivePeriod"] = {"start": _iso(when), "end": _iso(stop.at)}
    else:
        res["effectiveDateTime"] = _iso(when)
    if r.dose_mg_per_kg is not None and r.weight_kg is not None:
        res["note"] = [{"text": f"{r.dose_mg_per_kg:g} mg/kg x {r.weight_kg:g} kg"}]
    return res


def _esketamine_devices(stored: StoredSession, refs: dict[str, str]) -> list[dict[str, Any]]:
    """One MedicationAdministration per esketamine device given (issue 17): 28 mg intranasal
    at its time, with the lot and the device's place in the dose in a note (R4 keeps a lot on
    a Medication resource; a note keeps the bundle to the resources it already has)."""
    record = stored.esketamine
    if record is None:
        return []
    out = []
    for n, at in enumerate(record.devices_given_at, start=1):
        note = f"device {n} of {record.devices_planned}, {record.dose_mg:g} mg planned"
        if record.lot.strip():
            note += f", lot {record.lot.strip()}"
        out.append(
            {
                "resourceType": "MedicationAdministration",
                "status": "completed",
                "medicationCodeableConcept": {
                    "text": f"esketamine {DEVICE_MG:g} mg nasal spray device (Spravato)"
                },
                "subject": {"reference": refs["patient"]},
                "context": {"reference": refs["encounter"]},
                "effectiveDateTime": _iso(at),
                "dosage": {"dose": _quantity(DEVICE_MG, "mg"), "route": {"text": "intranasal"}},
                "note": [{"text": note}],
            }
        )
    return out


def _binned(t: Any, v: Any, interval_s: float) -> list[tuple[float, float, int]]:
    """(bin start, median of valid values, count) per ``interval_s`` bin."""
    t = np.asarray(t, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    ok = np.isfinite(v)
    t, v = t[ok], v[ok]
    if not len(t) or interval_s <= 0:
        return []
    bins = np.floor(t / interval_s).astype(np.int64)
    out = []
    for b in np.unique(bins):
        sel = bins == b
        out.append((float(t[sel][0]), float(np.median(v[sel])), int(sel.sum())))
    return out


def _bp_cycles(stored: StoredSession) -> list[tuple[float, dict[str, float]]]:
    """NIBP values grouped by cuff cycle (values within a few seconds of the SBP)."""
    sbp = stored.trends.get(SBP)
    if sbp is None:
        return []
    cycles: dict[float, dict[str, float]] = defaultdict(dict)
    anchors = [float(x) for x, y in zip(sbp.t, sbp.value, strict=True) if math.isfinite(y)]
    for name in (SBP, DBP, MAP):
        trend = stored.trends.get(name)
        if trend is None:
            continue
        for x, y in zip(trend.t, trend.value, strict=True):
            if not math.isfinite(y) or not anchors:
                continue
            here = float(x)
            anchor = min(anchors, key=lambda a: abs(a - here))
            if abs(anchor - here) <= NIBP_CYCLE_TOLERANCE_S:
                cycles[anchor][name] = float(y)
    return sorted(cycles.items())
