"""AuditEvent: one entry of the audit trail (admins only)."""

from __future__ import annotations

from bontrack.audit.models import AuditEntry
from bontrack.fhir import codes
from bontrack.fhir.mapping import Resource, instant
from bontrack.injections.kind import ADVERSE_EVENT, INJECTION_SESSION
from bontrack.outcomes.kind import OUTCOME
from bontrack.patients.kind import CLINIC, CLINICIAN, EPISODE, PATIENT
from bontrack.therapy.kind import THERAPY_PLAN, THERAPY_VISIT

# bontrack's audit actions -> AuditEvent.action (C create, R read, U update, D delete, E execute)
ACTIONS = {"create": "C", "read": "R", "update": "U", "withdraw": "D"}
OUTCOMES = {"ok": "0", "denied": "4", "failed": "8"}
# the registry's kinds the facade serves -> the FHIR resource a record of it is served as (by the
# kind, never by a name written here); the others are named by display in AuditEvent.entity
RESOURCE_OF = {
    kind.name: resource
    for kind, resource in (
        (PATIENT, "Patient"),
        (EPISODE, "Condition"),
        (INJECTION_SESSION, "Procedure"),
        (ADVERSE_EVENT, "AdverseEvent"),
        (OUTCOME, "QuestionnaireResponse"),
        (THERAPY_PLAN, "CarePlan"),
        (THERAPY_VISIT, "Encounter"),
        (CLINICIAN, "Practitioner"),
        (CLINIC, "Organization"),
    )
}


def audit_event(e: AuditEntry) -> Resource:
    out: Resource = {
        "resourceType": "AuditEvent",
        "id": str(e.seq),
        "type": {"system": codes.AUDIT_EVENT_ACTION_TYPE, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": f"{codes.LOCAL}/CodeSystem/audit-action", "code": e.action}],
        "action": ACTIONS.get(e.action, "E"),
        "recorded": instant(e.at),
        "outcome": OUTCOMES.get(e.outcome, "8"),
        "agent": [{"who": {"display": e.actor}, "requestor": True}],
        "source": {"observer": {"display": "bontrack"}},
    }
    if e.detail:
        out["outcomeDesc"] = e.detail
    if e.record_type:
        what: Resource = {"type": {"code": e.record_type, "system": f"{codes.LOCAL}/CodeSystem/record-type"}}
        resource = RESOURCE_OF.get(e.record_type)
        if resource and e.record_id:
            what["what"] = {"reference": f"{resource}/{e.record_id}"}
        elif e.record_id:
            what["what"] = {"display": f"{e.record_type} {e.record_id}"}
        if e.version is not None:
            what["name"] = f"version {e.version}"
        out["entity"] = [what]
    return out
