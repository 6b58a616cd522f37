"""The clinical record of a session as FHIR resources, beyond the vitals and the dose.

:func:`console.reports.fhir.build_bundle` adds these to its Bundle:

* **Practitioner**, one per person named in the record (event authors, who acknowledged an
  alarm, who answered the discharge checklist, who signed off), identified by the console's
  user name; every resource below refers to them, and the Encounter lists them as participants.
* **DetectedIssue** per alarm.  Chosen over Flag (a standing warning about a patient, with no
  place for a value, a limit or a response) and over an Observation (which would mix alarms
  into the vitals): a DetectedIssue is "a clinical issue identified for a patient, with the
  actions taken", and each field has its meaning here: ``severity`` high/moderate/low is the
  alarm priority high/medium/low, ``identifiedPeriod`` is onset..end, ``author`` is the
  monitor (Device), ``detail`` carries value and limit, and each acknowledgement is a
  ``mitigation`` (action "acknowledged", date, author = the Practitioner who acknowledged).
* **Observation** per annotation and scale (category ``survey`` for scored scales), and per
  discharge-checklist answer (``valueBoolean``), with the author as ``performer``.
* **Provenance** per sign-off and addendum: target the Encounter (the session record as a
  whole: one Provenance rather than thousands of targets), ``recorded`` the time, agent type
  ``verifier`` = the physician, activity the local code ``sign_off``/``addendum``, the note as
  ``reason`` text.

Codes: no LOINC code could be verified for MOAA/S, CADSS-6 or a 0-10 nausea or dissociation
rating, so those and the console's own concepts (annotation kinds, discharge items, alarm
conditions, alarm actions, review kinds) use local code systems under :data:`LOCAL_SYSTEM`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from console.domain.review import ReviewSummary
from console.domain.session import EventKind, SessionEvent
from console.reports.session_note import SCALE_KINDS, scale_name
from console.storage.review import StoredSession

#: Root of the console's local code systems (an URN: they are not published anywhere).
LOCAL_SYSTEM = "urn:infusion-console:codesystem"
SCALE_SYSTEM = f"{LOCAL_SYSTEM}:scale"
ANNOTATION_SYSTEM = f"{LOCAL_SYSTEM}:annotation"
DISCHARGE_SYSTEM = f"{LOCAL_SYSTEM}:discharge-check"
ALARM_SYSTEM = f"{LOCAL_SYSTEM}:alarm-condition"
ALARM_ACTION_SYSTEM = f"{LOCAL_SYSTEM}:alarm-action"
REVIEW_SYSTEM = f"{LOCAL_SYSTEM}:review"
USER_SYSTEM = "urn:infusion-console:user"
#: Scale name (console.reports.session_note.scale_name) -> local code.
SCALE_CODES: dict[str, str] = {
    "MOAA/S (0-5)": "moaa-s",
    "Sedation": "sedation",
    "CADSS-6 (0-24)": "cadss-6",
    "Dissociation (0-10)": "dissociation-0-10",
    "Dissociation": "dissociation",
    "Nausea (0-10)": "nausea-0-10",
}
SEVERITY = {"high": "high", "medium": "moderate", "low": "low"}
PROVENANCE_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: Administrative gender of the values a record may hold for sex.
GENDER = {"m": "male", "male": "male", "f": "female", "female": "female", "x": "other"}

Add = Callable[[dict[str, Any], str | None], None]


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat()


def people(stored: StoredSession, summary: ReviewSummary) -> list[str]:
    """Everyone the record names, in first-appearance order."""
    names: list[str] = []

    def see(name: str | None) -> None:
        if name and name.strip() and name not in names:
            names.append(name)

    for e in sorted(stored.events, key=lambda e: e.at):
        see(e.author)
    for a in summary.alarms:
        for ack in a.acknowledgements:
            see(ack.actor)
    for _item, _ok, _at, by, _note in stored.discharge_checks:
        see(by)
    for s in stored.sign_offs:
        see(s.reviewed_by)
    return names


def practitioner(name: str) -> dict[str, Any]:
    """A Practitioner known by the console user name only."""
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": USER_SYSTEM, "value": name}],
        "name": [{"text": name}],
    }


def gender(sex: object) -> str | None:
    """FHIR administrative gender of a stored sex value (None when unknown or not recorded)."""
    return None if sex is None else GENDER.get(str(sex).strip().lower(), "unknown")


def add_record(
    stored: StoredSession,
    summary: ReviewSummary,
    refs: dict[str, str],
    who: dict[str, str],
    add: Add,
    status: str,
) -> None:
    """Add the Practitioners, alarms, annotations, scales, discharge checks and sign-offs.

    Args:
        refs: fullUrls of ``patient``, ``device`` and ``encounter``.
        who: fullUrl of each person's Practitioner (from :func:`people`).
        add: the bundle's ``add(resource, full_url)``.
        status: Observation status (``final``, or ``preliminary`` while the session runs).
    """
    for name, url in who.items():
        add(practitioner(name), url)
    subject = {"subject": {"reference": refs["patient"]}}
    encounter = {"encounter": {"reference": refs["encounter"]}}

    def performer(name: str) -> dict[str, Any]:
        return {"performer": [{"reference": who[name]}]} if name in who else {}

    for a in summary.alarms:
        add(_detected_issue(a, refs, who), None)
    for e in sorted(stored.events, key=lambda e: e.at):
        if e.kind in SCALE_KINDS or e.kind in _ANNOTATIONS:
            add({**_annotation(e, status), **subject, **encounter, **performer(e.author)}, None)
    for item, ok, at, by, note in stored.discharge_checks:
        add(
            {
                "resourceType": "Observation",
                "status": status,
                "code": {
                    "coding": [{"system": DISCHARGE_SYSTEM, "code": item}],
                    "text": "Discharge check: " + item.replace("_", " "),
                },
                **subject,
                **encounter,
                "effectiveDateTime": _iso(at),
                "valueBoolean": bool(ok),
                **performer(by),
                "note": [{"text": note}] if note else [],
            },
            None,
        )
    for s in stored.sign_offs:
        add(
            {
                "resourceType": "Provenance",
                "target": [{"reference": refs["encounter"]}],
                "recorded": _iso(s.reviewed_at),
                "activity": {
                    "coding": [
                        {
                            "system": REVIEW_SYSTEM,
                            "code": s.kind,
                            "display": "Physician sign-off" if s.kind == "sign_off" else "Addendum",
                        }
                    ]
                },
                "agent": [
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": PROVENANCE_TYPE,
                                    "code": "verifier",
                                    "display": "Verifier",
                                }
                            ]
                        },
                        "who": {"reference": who[s.reviewed_by]},
                    }
                ],
                "reason": [{"text": s.note}] if s.note else [],
            },
            None,
        )


_ANNOTATIONS = frozenset({EventKind.INTERVENTION, EventKind.SYMPTOM, EventKind.NOTE})


def _annotation(e: SessionEvent, status: str) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": status,
        "effectiveDateTime": _iso(e.at),
    }
    if e.kind in SCALE_KINDS:
        name = scale_name(e)
        res["category"] = [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ]
        res["code"] = {
            "coding": [{"system": SCALE_SYSTEM, "code": SCALE_CODES[name], "display": name}],
            "text": name,
        }
    else:
        res["code"] = {
            "coding": [{"system": ANNOTATION_SYSTEM, "code": e.kind}],
            "text": e.kind.replace("_", " "),
        }
    if e.score is not None:
        res["valueQuantity"] = {
            "value": e.score,
            "unit": "score",
            "system": "http://unitsofmeasure.org",
            "code": "{score}",
        }
    elif e.text:
        res["valueString"] = e.text
    if e.text and e.score is not None:
        res["note"] = [{"text": e.text}]
    return res


def _detected_issue(a: Any, refs: dict[str, str], who: dict[str, str]) -> dict[str, Any]:
    period: dict[str, str] = {"start": _iso(a.onset)}
    if a.end is not None:
        period["end"] = _iso(a.end)
    detail = a.message
    if a.value is not None:
        detail += f"; value {a.value:g}"
    if a.limit_value is not None:
        detail += f", limit {a.limit_value:g}"
    res: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": "final" if a.end is not None else "preliminary",
        "code": {
            "coding": [{"system": ALARM_SYSTEM, "code": a.condition, "display": a.message}],
            "text": f"{a.priority} priority alarm: {a.message}",
        },
        "patient": {"reference": refs["patient"]},
        "author": {"reference": refs["device"]},
        "identifiedPeriod": period,
        "detail": detail,
        "mitigation": list(_acks(a.acknowledgements, who)),
    }
    if a.priority in SEVERITY:
        res["severity"] = SEVERITY[a.priority]
    return res


def _acks(acks: Iterable[Any], who: dict[str, str]) -> Iterable[dict[str, Any]]:
    for ack in acks:
        item: dict[str, Any] = {
            "action": {
                "coding": [
                    {
                        "system": ALARM_ACTION_SYSTEM,
                        "code": "acknowledged",
                        "display": "Alarm acknowledged",
                    }
                ]
            },
            "date": _iso(ack.at),
        }
        if ack.actor in who:
            item["author"] = {"reference": who[ack.actor]}
        yield item
