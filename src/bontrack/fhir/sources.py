"""Where each resource type comes from: the clinic-scoped services, called with the user's Actor
(so a user sees exactly their clinic's records, and every read is audited like any other)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bontrack import records
from bontrack.actor import clinic_of
from bontrack.assessments.service import assessments_of_patient, get_assessment
from bontrack.errors import NotFoundError
from bontrack.fhir.mapping import Resource, audit, clinical, people, scores, therapy
from bontrack.injections.service import (
    adverse_events_of_patient,
    get_adverse_event,
    get_session,
    sessions_of_patient,
)
from bontrack.instruments.definitions import INSTRUMENT_IDS
from bontrack.outcomes.service import get_outcome, outcomes_of_patient
from bontrack.patients import service as patients
from bontrack.patients.models import ClinicianRow, ClinicRow
from bontrack.patients.schemas import ClinicCreate, ClinicianCreate, PatientRead
from bontrack.therapy.service import get_plan, get_visit, plans_of_patient, visits_of_patient

# the resource types of a patient's compartment, in the order $everything and $export give them
PATIENT_TYPES = (
    "Condition",
    "Procedure",
    "MedicationAdministration",
    "QuestionnaireResponse",
    "Observation",
    "AdverseEvent",
    "CarePlan",
    "ServiceRequest",
    "Encounter",
)
OTHER_TYPES = ("Patient", "Practitioner", "Organization", "Questionnaire", "AuditEvent")
ALL_TYPES = ("Patient", *PATIENT_TYPES, "Practitioner", "Organization", "Questionnaire", "AuditEvent")
PAGE = 500


@dataclass
class Reader:
    """One request's reads: the session and who acts; results of the services kept for the request."""

    db: Session
    actor: str
    kept: dict[tuple[str, str], Any] = field(default_factory=dict)

    def _once(self, kind: str, key: str, load: Callable[[], Any]) -> Any:
        if (kind, key) not in self.kept:
            self.kept[(kind, key)] = load()
        return self.kept[(kind, key)]

    # --- patients ---
    def patients(self, search: str | None = None) -> Iterator[PatientRead]:
        """Every current patient the actor sees (a page at a time), optionally containing ``search``."""
        offset = 0
        while True:
            total, page = patients.page_patients(
                db=self.db,
                actor=self.actor,
                clinic_id=clinic_of(self.actor),
                limit=PAGE,
                offset=offset,
                search=search,
            )
            yield from page
            offset += PAGE
            if offset >= total or not page:
                return

    def patient(self, patient_id: str) -> PatientRead:
        return patients.get_patient(db=self.db, actor=self.actor, patient_id=patient_id, field="id")

    def compartment(self, patient_id: str, resource_type: str) -> list[Resource]:
        """The resources of one type about one patient."""
        db, actor = self.db, self.actor
        p = patient_id

        def sessions() -> Any:
            return self._once("sessions", p, lambda: sessions_of_patient(db=db, actor=actor, patient_id=p))

        def plans() -> Any:
            return self._once("plans", p, lambda: plans_of_patient(db=db, actor=actor, patient_id=p))

        def outcomes() -> Any:
            return self._once("outcomes", p, lambda: outcomes_of_patient(db=db, actor=actor, patient_id=p))

        if resource_type == "Condition":
            return [
                clinical.condition(e) for e in patients.episodes_of_patient(db=db, actor=actor, patient_id=p)
            ]
        if resource_type == "Procedure":
            return [clinical.procedure(s) for s in sessions()]
        if resource_type == "MedicationAdministration":
            return [clinical.medication_administration(s) for s in sessions()]
        if resource_type == "QuestionnaireResponse":
            return [scores.questionnaire_response(o) for o in outcomes()]
        if resource_type == "Observation":
            found = [obs for o in outcomes() for obs in scores.score_observations(o)]
            exams = assessments_of_patient(db=db, actor=actor, patient_id=p)
            return found + [obs for a in exams for obs in scores.threshold_observations(a)]
        if resource_type == "AdverseEvent":
            return [
                clinical.adverse_event(a) for a in adverse_events_of_patient(db=db, actor=actor, patient_id=p)
            ]
        if resource_type == "CarePlan":
            return [therapy.care_plan(x) for x in plans()]
        if resource_type == "ServiceRequest":
            return [therapy.service_request(x) for x in plans()]
        if resource_type == "Encounter":
            return [therapy.encounter(v) for v in visits_of_patient(db=db, actor=actor, patient_id=p)]
        raise ValueError(resource_type)

    # --- the clinic's people ---
    def clinics(self) -> list[Resource]:
        scope = clinic_of(self.actor)
        where: dict[str, Any] = {"clinic_id": scope} if scope is not None else {}
        _total, rows = records.page_current(
            self.db, row_cls=ClinicRow, actor=self.actor, limit=10_000, offset=0, **where
        )
        return [people.organization(records.to_read(r, ClinicCreate)) for r in rows]

    def clinicians(self) -> list[Resource]:
        found: list[Resource] = []
        for clinic in self.clinics():
            for c in patients.clinicians_of_clinic(db=self.db, actor=self.actor, clinic_id=clinic["id"]):
                found.append(people.practitioner(c))
        return found

    # --- one resource by id ---
    def read(self, resource_type: str, rid: str) -> Resource:
        """One resource by type and id; NotFoundError (field ``id``) when the user does not see it."""
        db, actor = self.db, self.actor
        if resource_type == "Patient":
            return people.patient(self.patient(rid))
        if resource_type == "Condition":
            return clinical.condition(patients.get_episode(db=db, actor=actor, episode_id=rid, field="id"))
        if resource_type in ("Procedure", "MedicationAdministration"):
            s = get_session(db=db, actor=actor, session_id=rid, field="id")
            return (
                clinical.procedure(s)
                if resource_type == "Procedure"
                else clinical.medication_administration(s)
            )
        if resource_type == "AdverseEvent":
            return clinical.adverse_event(get_adverse_event(db=db, actor=actor, event_id=rid, field="id"))
        if resource_type == "QuestionnaireResponse":
            return scores.questionnaire_response(get_outcome(db=db, actor=actor, outcome_id=rid, field="id"))
        if resource_type == "Observation":
            return self._observation(rid)
        if resource_type in ("CarePlan", "ServiceRequest"):
            plan = get_plan(db=db, actor=actor, plan_id=rid, field="id")
            return therapy.care_plan(plan) if resource_type == "CarePlan" else therapy.service_request(plan)
        if resource_type == "Encounter":
            return therapy.encounter(get_visit(db=db, actor=actor, visit_id=rid, field="id"))
        if resource_type == "Organization":
            return people.organization(patients.get_clinic(db=db, actor=actor, clinic_id=rid, field="id"))
        if resource_type == "Practitioner":
            row = records.get(db, row_cls=ClinicianRow, record_id=rid, actor=actor, field="id")
            return people.practitioner(records.to_read(row, ClinicianCreate))
        if resource_type == "Questionnaire":
            if rid not in INSTRUMENT_IDS:
                raise NotFoundError.one("id", f"no questionnaire {rid!r}; known: {', '.join(INSTRUMENT_IDS)}")
            return scores.questionnaire(rid)
        if resource_type == "AuditEvent":
            return self._audit_event(rid)
        raise ValueError(resource_type)

    def _observation(self, rid: str) -> Resource:
        record_id, part = rid[: scores.RECORD_ID_LENGTH], rid[scores.RECORD_ID_LENGTH + 1 :]
        missing = NotFoundError.one("id", f"no Observation {rid!r}")
        if not part:
            raise missing
        if part.startswith("ppt-"):
            found = scores.threshold_observations(
                get_assessment(db=self.db, actor=self.actor, assessment_id=record_id, field="id")
            )
        else:
            found = scores.score_observations(
                get_outcome(db=self.db, actor=self.actor, outcome_id=record_id, field="id")
            )
        match = next((o for o in found if o["id"] == rid), None)
        if match is None:
            raise missing
        return match

    def _audit_event(self, rid: str) -> Resource:
        from bontrack.audit.service import entry as audit_entry

        entry = audit_entry(self.db, int(rid), clinic_id=clinic_of(self.actor)) if rid.isdigit() else None
        if entry is None:
            raise NotFoundError.one("id", f"no AuditEvent {rid!r}")
        return audit.audit_event(entry)

    def audit_event(self, rid: str) -> Resource | None:
        """One audit entry by id (its seq), or None when there is none."""
        try:
            return self._audit_event(rid)
        except NotFoundError:
            return None

    def audit_events(self, limit: int, offset: int) -> tuple[int, list[Resource]]:
        from bontrack.audit.service import page_entries

        total, entries = page_entries(self.db, limit=limit, offset=offset, clinic_id=clinic_of(self.actor))
        return total, [audit.audit_event(e) for e in entries]

    def questionnaires(self) -> list[Resource]:
        return scores.questionnaires()
