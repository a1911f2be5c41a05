"""AuditEvent: one entry of the audit trail (admins only)."""

from __future__ import annotations

from bontrack.audit.models import AuditEntry
from bontrack.fhir import codes
from bontrack.fhir.mapping import Resource, instant

# bontrack's audit actions -> AuditEvent.action (C create, R read, U update, D delete, E execute)
ACTIONS = {"create": "C", "read": "R", "update": "U", "withdraw": "D"}
OUTCOMES = {"ok": "0", "denied": "4", "failed": "8"}
# record types -> the FHIR resource the record is served as
RESOURCE_OF = {
    "patient": "Patient",
    "episode": "Condition",
    "injection_session": "Procedure",
    "adverse_event": "AdverseEvent",
    "outcome": "QuestionnaireResponse",
    "therapy_plan": "CarePlan",
    "therapy_visit": "Encounter",
    "clinician": "Practitioner",
    "clinic": "Organization",
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
