"""Correcting and withdrawing records, and reading their history, for every clinical record type.

``PUT /api/<collection>/{id}`` takes ``{"data": <the Create schema>, "reason": "..."}`` and saves a
new version; ``POST /api/<collection>/{id}/withdraw`` takes ``{"reason": "..."}`` and saves a
withdrawn version; ``GET /api/<collection>/{id}/history`` lists every version, oldest first. The
roles that may correct or withdraw a record are those that may create it; every role that reads
identified records may read histories (researchers may not). A record of another clinic is not
found (404), as on the reads.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from bontrack.correctable import CORRECTABLE
from bontrack.injections import service as injections
from bontrack.injections.schemas import AdverseEventRead
from bontrack.therapy import service as therapy
from bontrack.therapy.schemas import TherapyVisitRead
from bontrack.web.api.common import AUTHENTICATED, ERRORS, RecordId
from bontrack.web.api.schemas import Correction, Withdrawal
from bontrack.web.deps import (
    READ_CLINICAL,
    WRITE_ADVERSE_EVENTS,
    WRITE_ASSESSMENTS,
    WRITE_EPISODES,
    WRITE_OUTCOMES,
    WRITE_PATIENTS,
    WRITE_SCREENINGS,
    WRITE_SESSIONS,
    WRITE_THERAPY,
    Principal,
    SessionDep,
    require,
)
from bontrack.web.problems import Problem

router = APIRouter(prefix="/api", tags=["corrections"], dependencies=AUTHENTICATED, responses=ERRORS)
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "content": {"application/problem+json": {}},
        "description": "withdrawal refused while current records refer to the record, "
        "or a corrected injection plan the engine blocks without a clinician override",
    }
}
Reader = Annotated[Principal, Depends(require(READ_CLINICAL))]
PatientWriter = Annotated[Principal, Depends(require(WRITE_PATIENTS))]
EpisodeWriter = Annotated[Principal, Depends(require(WRITE_EPISODES))]
ScreeningWriter = Annotated[Principal, Depends(require(WRITE_SCREENINGS))]
AssessmentWriter = Annotated[Principal, Depends(require(WRITE_ASSESSMENTS))]
Injector = Annotated[Principal, Depends(require(WRITE_SESSIONS))]
AdverseEventWriter = Annotated[Principal, Depends(require(WRITE_ADVERSE_EVENTS))]
Therapist = Annotated[Principal, Depends(require(WRITE_THERAPY))]
OutcomeWriter = Annotated[Principal, Depends(require(WRITE_OUTCOMES))]


# (API path, record type, dependency of the roles that may write it, words for the docs)
COLLECTIONS: tuple[tuple[str, str, Any, str], ...] = (
    ("patients", "patient", PatientWriter, "a patient"),
    ("episodes", "episode", EpisodeWriter, "an episode"),
    ("screenings", "screening", ScreeningWriter, "a screening"),
    ("assessments", "assessment", AssessmentWriter, "an assessment"),
    ("sessions", "injection_session", Injector, "an injection session"),
    ("adverse-events", "adverse_event", AdverseEventWriter, "an adverse event"),
    ("therapy/plans", "therapy_plan", Therapist, "a therapy plan"),
    ("therapy/visits", "therapy_visit", Therapist, "a therapy visit"),
    ("outcomes", "outcome", OutcomeWriter, "an outcome measurement"),
)
EXTRA_DOCS = {
    "injection_session": " The corrected plan is judged again by the decision engine (against the "
    "patient's other sessions); a blocked plan needs ``override`` with a clinician and the written "
    "reason, as when it was created (else 409 naming ``override``).",
    "outcome": " The answers are scored again, by the current scorer (its version is kept with the scores).",
}


def _signature(id_param: str, principal: Any, body: Any = None) -> inspect.Signature:
    """The endpoint's parameters as FastAPI reads them: the record id in the path (under the
    collection's own name, so errors name it), the body, the database session and the user."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(id_param, keyword, annotation=RecordId)]
    if body is not None:
        params.append(inspect.Parameter("body", keyword, annotation=body))
    params += [
        inspect.Parameter("db", keyword, annotation=SessionDep),
        inspect.Parameter("principal", keyword, annotation=principal),
    ]
    return inspect.Signature(params)


def _add_routes(path: str, record_type: str, writer: Any, words: str) -> None:
    """PUT (correct), POST .../withdraw and GET .../history for one record type."""
    c = CORRECTABLE[record_type]
    at = f"/{path}/{{{c.id_param}}}"
    name = record_type.removeprefix("injection_")

    def current(values: dict[str, Any]) -> tuple[str, Any, Principal]:
        record_id, db, principal = values[c.id_param], values["db"], values["principal"]
        c.get(db, principal.actor, record_id)  # read and audited; another clinic's: not found
        return record_id, db, principal

    def correct(**values: Any) -> Any:
        record_id, db, principal = current(values)
        body: Correction[Any] = values["body"]
        return c.update(
            db,
            principal.actor,
            record_id,
            body.data,
            body.reason,
            author_clinician_id=principal.user.clinician_id,
        )

    def withdraw(**values: Any) -> Any:
        record_id, db, principal = current(values)
        return c.withdraw(db, principal.actor, record_id, values["body"].reason)

    def history(**values: Any) -> Any:
        record_id, db, principal = values[c.id_param], values["db"], values["principal"]
        versions = c.history(db, principal.actor, record_id)
        return versions

    correct.__signature__ = _signature(c.id_param, writer, Correction[c.schema])  # type: ignore[attr-defined,name-defined]
    withdraw.__signature__ = _signature(c.id_param, writer, Withdrawal)  # type: ignore[attr-defined]
    history.__signature__ = _signature(c.id_param, Reader)  # type: ignore[attr-defined]
    router.put(
        at,
        response_model=c.read,
        responses=WRITE_ERRORS,
        name=f"correct_{name}",
        summary=f"Correct {words}",
        description=f"Correct {words}: the whole record as corrected and the reason; saved as a new "
        f"version, the earlier one stays in the history.{EXTRA_DOCS.get(record_type, '')}",
    )(correct)
    router.post(
        f"{at}/withdraw",
        response_model=c.read,
        responses=WRITE_ERRORS,
        name=f"withdraw_{name}",
        summary=f"Withdraw {words}",
        description=f"Withdraw {words} (a new version marked withdrawn, with the reason); nothing is "
        "deleted. Refused (409) while current records refer to it; correct or withdraw those first.",
    )(withdraw)
    router.get(
        f"{at}/history",
        response_model=list[c.read],  # type: ignore[name-defined]
        name=f"{name}_history",
        summary=f"History of {words}",
        description=f"Every version of {words}, oldest first: version, who (recorded_by), when "
        "(recorded_at), why (reason) and whether it was withdrawn; withdrawn records included.",
    )(history)


for _collection in COLLECTIONS:
    _add_routes(*_collection)


# ---- reads the other routers do not have ------------------------------------------------------


@router.get("/adverse-events/{event_id}", response_model=AdverseEventRead)
def read_adverse_event(event_id: RecordId, db: SessionDep, principal: Reader) -> AdverseEventRead:
    """The current version of an adverse event."""
    return injections.get_adverse_event(db=db, actor=principal.actor, event_id=event_id, field="id")


@router.get("/therapy/visits/{visit_id}", response_model=TherapyVisitRead)
def read_therapy_visit(visit_id: RecordId, db: SessionDep, principal: Reader) -> TherapyVisitRead:
    """The current version of a therapy visit."""
    return therapy.get_visit(db=db, actor=principal.actor, visit_id=visit_id, field="id")
