"""Import from the EHR: ``POST /fhir`` (a transaction Bundle) and ``POST /fhir/Patient``.

The same bearer tokens, sessions and roles as /api: whoever may register patients may import
(physician, physical therapist, staff), a researcher or admin gets 403; and each entry must be one
the user's role may write through /api (``bontrack.fhir.import_roles``), else the Bundle is
refused (403 naming the entries). Every answer, errors
included, is FHIR JSON (application/fhir+json): an OperationOutcome whose issues name the
FHIRPath of the offending element. The request is one transaction: refused, nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from starlette.types import Receive, Scope, Send

from bontrack.errors import InputError, NotFoundError, field_errors
from bontrack.fhir import capability
from bontrack.fhir.import_outcome import FhirImportError, Issue, IssueCode, operation_outcome
from bontrack.fhir.import_writes import ImportResult, import_fhir, response_bundle
from bontrack.fhir.importing import read_document
from bontrack.fhir.negotiation import JSON_TYPES, is_json_body, json_accepted
from bontrack.web.api.common import AUTHENTICATED
from bontrack.web.deps import WRITE_PATIENTS, NowDep, Principal, SessionDep, clinic_scope, require
from bontrack.web.problems import ProblemError

FHIR_JSON = "application/fhir+json"


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def fhir_error(status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> Response:
    return FhirResponse(operation_outcome(issues), status_code=status, headers=headers)


_CODES: dict[int, IssueCode] = {401: "login", 403: "forbidden", 404: "not-found"}


async def _as_outcome(_request: Request, exc: Exception) -> Response:
    """A failure of a /fhir import route, auth included, as an OperationOutcome."""
    if isinstance(exc, FhirImportError):
        return fhir_error(exc.status, exc.issues)
    if isinstance(exc, ProblemError):
        return fhir_error(
            exc.status, [Issue(None, exc.detail, _CODES.get(exc.status, "invalid"))], exc.headers
        )
    if isinstance(exc, NotFoundError):
        return fhir_error(404, [Issue(e.field, e.message, "not-found") for e in exc.errors])
    if isinstance(exc, InputError):
        return fhir_error(400, [Issue(e.field, e.message) for e in exc.errors])
    assert isinstance(exc, RequestValidationError)
    found = field_errors(exc.errors(), skip=("query", "path", "header"), empty="(request)")
    return fhir_error(400, [Issue(e.field, e.message) for e in found])


_HANDLERS = dict.fromkeys((FhirImportError, ProblemError, InputError, RequestValidationError), _as_outcome)


class FhirRoute(APIRoute):
    """Routes whose failures are OperationOutcomes. The handlers are swapped in the request's
    scope, not caught in the route: the exception must first pass through the request's
    transaction (get_db), so that it rolls back and a denied attempt is audited."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        handlers, status_handlers = scope.get("starlette.exception_handlers", ({}, {}))
        scope["starlette.exception_handlers"] = ({**handlers, **_HANDLERS}, status_handlers)
        await super().handle(scope, receive, send)


_FHIR_OBJECT = {FHIR_JSON: {"schema": {"type": "object", "additionalProperties": True}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": _FHIR_OBJECT}
    for status, text in (
        (400, "OperationOutcome: not FHIR R4 JSON; each issue's expression names the element"),
        (406, "OperationOutcome: the request accepts no JSON (Accept or _format)"),
        (415, "OperationOutcome: the body is not JSON (Content-Type)"),
        (401, "OperationOutcome: not logged in"),
        (403, "OperationOutcome: this role may not import, or not every entry (each named)"),
        (404, "OperationOutcome: no such clinic"),
        (422, "OperationOutcome: against bontrack's rules; each issue's expression names the element"),
    )
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            FHIR_JSON: {"schema": {"type": "object", "additionalProperties": True}},
            "application/json": {"schema": {"type": "object", "additionalProperties": True}},
        },
    }
}

router = APIRouter(
    tags=["fhir"], route_class=FhirRoute, dependencies=[*AUTHENTICATED, Depends(json_accepted)]
)
# what these routes add to the CapabilityStatement (/fhir/metadata): Patient create, and the
# system's transaction
capability.extend("Patient", "create")
capability.extend(None, "transaction")
Importer = Annotated[Principal, Depends(require(WRITE_PATIENTS))]
ClinicQuery = Annotated[
    str | None,
    Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="for users of every clinic: the clinic"),
]


async def fhir_body(request: Request) -> bytes:
    """The body, when its Content-Type is JSON (none given: taken as JSON); else 415."""
    content_type = request.headers.get("content-type", "")
    if not is_json_body(content_type):
        raise FhirImportError(
            415,
            [
                Issue(
                    None,
                    f"the body's Content-Type {content_type[:80]!r} is not served: send FHIR JSON as "
                    + " or ".join(JSON_TYPES[:2]),
                    "not-supported",
                )
            ],
        )
    return await request.body()


Body = Annotated[bytes, Depends(fhir_body)]


def _document(body: bytes, kind: str, wrong: str) -> Any:
    """The body as JSON, a resource of the kind this route takes (else 400)."""
    document = read_document(body)
    if not isinstance(document, dict) or document.get("resourceType") != kind:
        raise FhirImportError(400, [Issue("resourceType", wrong, "not-supported")])
    return document


def _import(document: Any, db: Any, principal: Principal, clinic_id: str | None, at: Any) -> ImportResult:
    clinic = clinic_scope(principal, clinic_id)
    if clinic is None:
        raise FhirImportError(400, [Issue("clinic_id", "give the clinic the patients are registered at")])
    return import_fhir(
        db=db,
        actor=principal.actor,
        clinic_id=clinic,
        document=document,
        today=at.date(),
        role=principal.role,
    )


@router.post(
    "",
    response_class=FhirResponse,
    responses={200: {"description": "transaction-response Bundle", "content": _FHIR_OBJECT}, **_RESPONSES},
    openapi_extra=_BODY,
)
def fhir_transaction(
    body: Body, db: SessionDep, principal: Importer, at: NowDep, clinic_id: ClinicQuery = None
) -> Response:
    """Import a transaction Bundle from the EHR (Patient, Condition, MedicationStatement,
    AllergyIntolerance): creates or corrects the patients (matched by record number), their pain
    episode and the screening's medicines, allergies and conditions; all or nothing."""
    wrong = "must be Bundle (type transaction); a lone Patient goes to POST /fhir/Patient"
    result = _import(_document(body, "Bundle", wrong), db, principal, clinic_id, at)
    return FhirResponse(response_bundle(result))


@router.post(
    "/Patient",
    response_class=FhirResponse,
    status_code=201,
    responses={200: {"description": "Patient (matched)", "content": _FHIR_OBJECT}, **_RESPONSES},
    openapi_extra=_BODY,
)
def fhir_create_patient(
    body: Body, db: SessionDep, principal: Importer, at: NowDep, clinic_id: ClinicQuery = None
) -> Response:
    """Create a patient from a FHIR Patient, or correct the one with the same record number
    (201 created, 200 matched); the answer is the Patient with bontrack's id."""
    document = _document(body, "Patient", "must be Patient; a transaction Bundle goes to POST /fhir")
    result = _import(document, db, principal, clinic_id, at)
    patient, what = result.patients[0]
    location = f"Patient/{patient.id}/_history/{patient.version}"
    echoed = {
        **document,
        "id": patient.id,
        "meta": {
            "versionId": str(patient.version),
            "lastUpdated": patient.recorded_at.strftime("%Y-%m-%dT%H:%M:%S") + "Z",
        },
    }
    return FhirResponse(
        echoed,
        status_code=201 if what == "created" else 200,
        headers={"Location": location, "ETag": f'W/"{patient.version}"'},
    )
