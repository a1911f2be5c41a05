"""Every record type a user can correct, withdraw and read the history of, with its services.

One table for both faces: the REST API (web/api/corrections.py) and the chart's pages
(web/views/corrections.py) call the services through it, so a record type is added in one place.
The services take the record's id under their own keyword (``patient_id``, ``event_id``, ...);
``id_param`` names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from bontrack.assessments import service as assessments
from bontrack.assessments.schemas import AssessmentCreate, AssessmentRead
from bontrack.injections import service as injections
from bontrack.injections.schemas import AdverseEventCreate, AdverseEventRead, SessionCreate, SessionRead
from bontrack.outcomes import service as outcomes
from bontrack.outcomes.schemas import OutcomeCreate, OutcomeRead
from bontrack.patients import service as patients
from bontrack.patients.schemas import EpisodeCreate, EpisodeRead, PatientCreate, PatientRead
from bontrack.screening import service as screening
from bontrack.screening.schemas import ScreeningCreate, ScreeningRead
from bontrack.therapy import service as therapy
from bontrack.therapy.schemas import TherapyPlanCreate, TherapyPlanRead, TherapyVisitCreate, TherapyVisitRead


@dataclass(frozen=True)
class Correctable:
    record_type: str
    id_param: str
    schema: type[BaseModel]  # what a correction carries (the Create schema)
    read: Any  # the stored record as read (Stored[...])
    get_service: Callable[..., Any]
    update_service: Callable[..., Any]
    withdraw_service: Callable[..., Any]
    history_service: Callable[..., Any]
    # the update service takes the Author (the logged-in user's clinician record): sessions, whose
    # blocked plans are overridden only by the physician saving them, as themself
    authored: bool = False

    def get(self, db: Session, actor: str, record_id: str) -> Any:
        """The current version (audited; withdrawn or unknown: not found, naming ``id``)."""
        return self.get_service(db=db, actor=actor, field="id", **{self.id_param: record_id})

    def update(
        self,
        db: Session,
        actor: str,
        record_id: str,
        data: BaseModel,
        reason: str,
        *,
        author_clinician_id: str | None = None,
    ) -> Any:
        """Correct a record; ``author_clinician_id``: the logged-in user's own clinician record."""
        extra = {"author": injections.Author(author_clinician_id)} if self.authored else {}
        return self.update_service(
            db=db, actor=actor, data=data, reason=reason, **{self.id_param: record_id}, **extra
        )

    def withdraw(self, db: Session, actor: str, record_id: str, reason: str) -> Any:
        return self.withdraw_service(db=db, actor=actor, reason=reason, **{self.id_param: record_id})

    def history(self, db: Session, actor: str, record_id: str) -> list[Any]:
        versions: list[Any] = self.history_service(db=db, actor=actor, **{self.id_param: record_id})
        return versions


CORRECTABLE: dict[str, Correctable] = {
    c.record_type: c
    for c in (
        Correctable(
            "patient",
            "patient_id",
            PatientCreate,
            PatientRead,
            patients.get_patient,
            patients.update_patient,
            patients.withdraw_patient,
            patients.patient_history,
        ),
        Correctable(
            "episode",
            "episode_id",
            EpisodeCreate,
            EpisodeRead,
            patients.get_episode,
            patients.update_episode,
            patients.withdraw_episode,
            patients.episode_history,
        ),
        Correctable(
            "screening",
            "screening_id",
            ScreeningCreate,
            ScreeningRead,
            screening.get_screening,
            screening.update_screening,
            screening.withdraw_screening,
            screening.screening_history,
        ),
        Correctable(
            "assessment",
            "assessment_id",
            AssessmentCreate,
            AssessmentRead,
            assessments.get_assessment,
            assessments.update_assessment,
            assessments.withdraw_assessment,
            assessments.assessment_history,
        ),
        Correctable(
            "injection_session",
            "session_id",
            SessionCreate,
            SessionRead,
            injections.get_session,
            injections.update_session,
            injections.withdraw_session,
            injections.session_history,
            authored=True,
        ),
        Correctable(
            "adverse_event",
            "event_id",
            AdverseEventCreate,
            AdverseEventRead,
            injections.get_adverse_event,
            injections.update_adverse_event,
            injections.withdraw_adverse_event,
            injections.adverse_event_history,
        ),
        Correctable(
            "therapy_plan",
            "plan_id",
            TherapyPlanCreate,
            TherapyPlanRead,
            therapy.get_plan,
            therapy.update_plan,
            therapy.withdraw_plan,
            therapy.plan_history,
        ),
        Correctable(
            "therapy_visit",
            "visit_id",
            TherapyVisitCreate,
            TherapyVisitRead,
            therapy.get_visit,
            therapy.update_visit,
            therapy.withdraw_visit,
            therapy.visit_history,
        ),
        Correctable(
            "outcome",
            "outcome_id",
            OutcomeCreate,
            OutcomeRead,
            outcomes.get_outcome,
            outcomes.update_outcome,
            outcomes.withdraw_outcome,
            outcomes.outcome_history,
        ),
    )
}
