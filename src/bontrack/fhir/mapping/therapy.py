"""Physical therapy: CarePlan and ServiceRequest (the plan), Encounter (each visit)."""

from __future__ import annotations

import datetime as dt

from bontrack.fhir import codes
from bontrack.fhir.mapping import Resource, meta, ref
from bontrack.therapy.schemas import TherapyPlanRead, TherapyVisitRead

THERAPY_TEXT = "Physical therapy for myofascial neck pain"


def _end(plan: TherapyPlanRead) -> str:
    return (plan.data.start_date + dt.timedelta(weeks=plan.data.weeks)).isoformat()


def care_plan(p: TherapyPlanRead) -> Resource:
    data = p.data
    activities = [
        {"detail": {"kind": "ServiceRequest", "status": "in-progress", "description": e}}
        for e in data.exercises
    ]
    out: Resource = {
        "resourceType": "CarePlan",
        "id": p.id,
        "meta": meta(p),
        "status": "active",
        "intent": "plan",
        "title": THERAPY_TEXT,
        "description": f"{data.weeks} weeks, {data.visits_per_week} visit(s) a week",
        "subject": ref("Patient", data.patient_id),
        "period": {"start": data.start_date.isoformat(), "end": _end(p)},
        "author": ref("Practitioner", data.therapist_id),
        "addresses": [ref("Condition", data.episode_id)],
        "activity": [{"reference": ref("ServiceRequest", p.id)}, *activities],
    }
    if data.goals:
        out["note"] = [{"text": "Goals: " + "; ".join(data.goals)}]
    return out


def service_request(p: TherapyPlanRead) -> Resource:
    data = p.data
    return {
        "resourceType": "ServiceRequest",
        "id": p.id,
        "meta": meta(p),
        "basedOn": [ref("CarePlan", p.id)],
        "status": "active",
        "intent": "order",
        "code": {"text": THERAPY_TEXT},
        "subject": ref("Patient", data.patient_id),
        "occurrenceTiming": {
            "repeat": {
                "boundsPeriod": {"start": data.start_date.isoformat(), "end": _end(p)},
                "frequency": data.visits_per_week,
                "period": 1,
                "periodUnit": "wk",
            }
        },
        "authoredOn": p.recorded_at.date().isoformat(),
        "performer": [ref("Practitioner", data.therapist_id)],
        "reasonReference": [ref("Condition", data.episode_id)],
    }


def encounter(v: TherapyVisitRead) -> Resource:
    data = v.data
    out: Resource = {
        "resourceType": "Encounter",
        "id": v.id,
        "meta": meta(v),
        "status": "finished" if data.attended else "cancelled",
        "class": {"system": codes.ENCOUNTER_CLASS, "code": "AMB", "display": "ambulatory"},
        "type": [{"text": "Physical therapy visit"}],
        "subject": ref("Patient", data.patient_id),
        "basedOn": [ref("ServiceRequest", data.plan_id)],
        "participant": [{"individual": ref("Practitioner", data.therapist_id)}],
        "period": {"start": data.date.isoformat(), "end": data.date.isoformat()},
    }
    return out
