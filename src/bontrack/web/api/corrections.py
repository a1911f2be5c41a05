"""Correcting and withdrawing records, and reading their history, for every clinical record type.

``PUT /api/<collection>/{id}`` takes ``{"data": <the Create schema>, "reason": "..."}`` and saves a
new version; ``POST /api/<collection>/{id}/withdraw`` takes ``{"reason": "..."}`` and saves a
withdrawn version; ``GET /api/<collection>/{id}/history`` lists every version, oldest first.
Optimistic concurrency: a change may name the version it was made from (``If-Match: "3"``, the
ETag a read returned, or ``"version": 3`` in the body); when another version is current it is
refused (409, who saved it and when) and nothing is written. Without either it is made to the
current version, as before (older clients). The
roles that may correct or withdraw a record are those that may create it; every role that reads
identified records may read histories (researchers may not). A record of another clinic is not
found (404), as on the reads.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from bontrack.injections.authority import Author
from bontrack.injections.schemas import AdverseEventRead
from bontrack.injections.service import get_adverse_event
from bontrack.kinds import CORRECTABLE
from bontrack.record_kind import AnyKind
from bontrack.repository import Repository, correct, expecting, withdraw_record
from bontrack.therapy.schemas import TherapyVisitRead
from bontrack.therapy.service import get_visit
from bontrack.web.api.common import AUTHENTICATED, ERRORS, IfMatch, RecordId, expected_version, tagged
from bontrack.web.api.schemas import Correction, Withdrawal
from bontrack.web.deps import READ_CLINICAL, Principal, SessionDep, require
from bontrack.web.problems import Problem

router = APIRouter(prefix="/api", tags=["corrections"], dependencies=AUTHENTICATED, responses=ERRORS)
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "content": {"application/problem+json": {}},
        "description": "the version named (If-Match or ``version``) is no longer the current one "
        "(nothing saved; the message says who changed it and when), a withdrawal refused while "
        "current records refer to the record, or a corrected injection plan the engine blocks "
        "without a clinician override",
    }
}
Reader = Annotated[Principal, Depends(require(READ_CLINICAL))]


def _signature(id_param: str, principal: Any, body: Any = None) -> inspect.Signature:
    """The endpoint's parameters as FastAPI reads them: the record id in the path (under the
    collection's own name, so errors name it), the body, the database session and the user."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(id_param, keyword, annotation=RecordId)]
    if body is not None:
        params.append(inspect.Parameter("body", keyword, annotation=body))
        params.append(inspect.Parameter("if_match", keyword, annotation=IfMatch, default=None))
        params.append(inspect.Parameter("response", keyword, annotation=Response))
    params += [
        inspect.Parameter("db", keyword, annotation=SessionDep),
        inspect.Parameter("principal", keyword, annotation=principal),
    ]
    return inspect.Signature(params)


def _add_routes(kind: AnyKind) -> None:
    """PUT (correct), POST .../withdraw and GET .../history for one record kind."""
    at = f"/{kind.collection}/{{{kind.id_param}}}"
    name = kind.name.removeprefix("injection_")
    words = kind.words
    repository = Repository.of(kind)
    writer = Annotated[Principal, Depends(require(kind.write_roles))]
    reader = Annotated[Principal, Depends(require(kind.read_roles))]

    def current(values: dict[str, Any]) -> tuple[str, Any, Principal]:
        record_id, db, principal = values[kind.id_param], values["db"], values["principal"]
        repository.get(db, principal.actor, record_id)  # read and audited; another clinic's: not found
        return record_id, db, principal

    def correct_record(**values: Any) -> Any:
        record_id, db, principal = current(values)
        body: Correction[Any] = values["body"]
        extra = {"author": Author(principal.user.clinician_id)} if kind.authored else {}
        with expecting(db, record_id, expected_version(values["if_match"], body.version)):
            saved = correct(kind, db, principal.actor, record_id, body.data, body.reason, **extra)
        return tagged(values["response"], saved)

    def withdraw(**values: Any) -> Any:
        record_id, db, principal = current(values)
        body: Withdrawal = values["body"]
        with expecting(db, record_id, expected_version(values["if_match"], body.version)):
            saved = withdraw_record(kind, db, principal.actor, record_id, body.reason)
        return tagged(values["response"], saved)

    def history(**values: Any) -> Any:
        record_id, db, principal = values[kind.id_param], values["db"], values["principal"]
        return repository.history(db, principal.actor, record_id)

    correct_record.__signature__ = _signature(kind.id_param, writer, Correction[kind.correction])  # type: ignore[attr-defined,name-defined]
    withdraw.__signature__ = _signature(kind.id_param, writer, Withdrawal)  # type: ignore[attr-defined]
    history.__signature__ = _signature(kind.id_param, reader)  # type: ignore[attr-defined]
    router.put(
        at,
        response_model=kind.read,
        responses=WRITE_ERRORS,
        name=f"correct_{name}",
        summary=f"Correct {words}",
        description=f"Correct {words}: the whole record as corrected and the reason; saved as a new "
        f"version, the earlier one stays in the history.{kind.notes}",
    )(correct_record)
    router.post(
        f"{at}/withdraw",
        response_model=kind.read,
        responses=WRITE_ERRORS,
        name=f"withdraw_{name}",
        summary=f"Withdraw {words}",
        description=f"Withdraw {words} (a new version marked withdrawn, with the reason); nothing is "
        "deleted. Refused (409) while current records refer to it; correct or withdraw those first.",
    )(withdraw)
    router.get(
        f"{at}/history",
        response_model=list[kind.read],  # type: ignore[name-defined]
        name=f"{name}_history",
        summary=f"History of {words}",
        description=f"Every version of {words}, oldest first: version, who (recorded_by), when "
        "(recorded_at), why (reason) and whether it was withdrawn; withdrawn records included.",
    )(history)


for _kind in CORRECTABLE.values():
    _add_routes(_kind)


# ---- reads the other routers do not have ------------------------------------------------------


@router.get("/adverse-events/{event_id}", response_model=AdverseEventRead)
def read_adverse_event(
    event_id: RecordId,
    db: SessionDep,
    principal: Reader,
    response: Response,
) -> AdverseEventRead:
    """The current version of an adverse event."""
    return tagged(response, get_adverse_event(db=db, actor=principal.actor, event_id=event_id, field="id"))


@router.get("/therapy/visits/{visit_id}", response_model=TherapyVisitRead)
def read_therapy_visit(
    visit_id: RecordId,
    db: SessionDep,
    principal: Reader,
    response: Response,
) -> TherapyVisitRead:
    """The current version of a therapy visit."""
    return tagged(response, get_visit(db=db, actor=principal.actor, visit_id=visit_id, field="id"))
