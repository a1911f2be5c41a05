"""Correcting and withdrawing records, and reading their history, for every clinical record type.

``PUT /api/<collection>/{id}`` takes ``{"data": <the Create schema>, "reason": "..."}`` and saves a
new version; ``POST /api/<collection>/{id}/withdraw`` takes ``{"reason": "..."}`` and saves a
withdrawn version; ``GET /api/<collection>/{id}/history`` lists every version, oldest first.
Optimistic concurrency: a change may name the version it was made from (``If-Match: "3"``, the
ETag a read returned, or ``"version": 3`` in the body); when another version is current it is
refused (409, who saved it and when) and nothing is written. Without either it is made to the
current version, as before (older clients). The
``data`` of a read may be sent back whole: the fields bontrack computes (a session's decision and
total units, an outcome's scoring) are ignored when they are as stored and refused (400 naming the
field) when they differ. The
roles that may correct or withdraw a record are those that may create it; every role that reads
identified records may read histories (researchers may not). A record of another clinic is not
found (404), as on the reads.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field, create_model

from bontrack.errors import InputError
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


def computed_fields(kind: AnyKind) -> tuple[str, ...]:
    """The fields of the kind's ``data`` as read that a correction does not carry: bontrack
    computes them (a session's decision and total units, an outcome's scoring)."""
    assert kind.correction is not None
    data: type[BaseModel] = kind.read.model_fields["data"].annotation
    return tuple(f for f in data.model_fields if f not in kind.correction.model_fields)


def _as_read(kind: AnyKind) -> type[BaseModel]:
    """The correction's ``data`` schema that also takes the computed fields, so that a record's
    ``data`` as read can be sent back with one field changed."""
    assert kind.correction is not None
    computed = computed_fields(kind)
    if not computed:
        return kind.correction
    note = "computed by bontrack: may be sent as read (ignored); a different value is refused"
    fields: dict[str, Any] = {f: (Any, Field(default=None, description=note)) for f in computed}
    return create_model(
        f"{kind.correction.__name__}AsRead", __base__=kind.correction, __module__=__name__, **fields
    )


def _without_computed(kind: AnyKind, current: Any, data: BaseModel, check: bool) -> BaseModel:
    """The correction ``data`` without the computed fields, each checked (when ``check``) to be
    as stored in ``current``; else InputError naming it."""
    assert kind.correction is not None
    computed = [f for f in computed_fields(kind) if f in data.model_fields_set]
    if check and computed:
        stored = current.model_dump(mode="json", by_alias=True)["data"]
        for field in computed:
            if getattr(data, field) != stored.get(field):
                raise InputError.one(
                    f"data.{field}",
                    "is computed by bontrack and cannot be corrected: leave it out, or send it as read",
                )
    kept = set(kind.correction.model_fields)
    values = {f: getattr(data, f) for f in kept}
    return kind.correction.model_construct(data.model_fields_set & kept, **values)


def _add_routes(kind: AnyKind) -> None:
    """PUT (correct), POST .../withdraw and GET .../history for one record kind."""
    at = f"/{kind.collection}/{{{kind.id_param}}}"
    name = kind.name.removeprefix("injection_")
    words = kind.words
    repository = Repository.of(kind)
    writer = Annotated[Principal, Depends(require(kind.write_roles))]
    reader = Annotated[Principal, Depends(require(kind.read_roles))]

    def current(values: dict[str, Any]) -> tuple[str, Any, Principal, Any]:
        record_id, db, principal = values[kind.id_param], values["db"], values["principal"]
        # read and audited; another clinic's: not found
        return record_id, db, principal, repository.get(db, principal.actor, record_id)

    def correct_record(**values: Any) -> Any:
        record_id, db, principal, read = current(values)
        body: Correction[Any] = values["body"]
        extra = {"author": Author(principal.user.clinician_id)} if kind.authored else {}
        version = expected_version(values["if_match"], body.version)
        # made from another version: that is the error (409 below), not its computed values
        data = _without_computed(kind, read, body.data, check=version in (None, read.version))
        with expecting(db, record_id, version):
            saved = correct(kind, db, principal.actor, record_id, data, body.reason, **extra)
        return tagged(values["response"], saved)

    def withdraw(**values: Any) -> Any:
        record_id, db, principal, _read = current(values)
        body: Withdrawal = values["body"]
        with expecting(db, record_id, expected_version(values["if_match"], body.version)):
            saved = withdraw_record(kind, db, principal.actor, record_id, body.reason)
        return tagged(values["response"], saved)

    def history(**values: Any) -> Any:
        record_id, db, principal = values[kind.id_param], values["db"], values["principal"]
        return repository.history(db, principal.actor, record_id)

    correct_record.__signature__ = _signature(kind.id_param, writer, Correction[_as_read(kind)])  # type: ignore[attr-defined,misc]
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
