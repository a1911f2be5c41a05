"""The /fhir routes: read, search, Patient/$everything, metadata and Bulk Data $export.

Every route but /fhir/metadata authenticates like /api (the same bearer tokens and roles,
web.deps) and reads through the clinic-scoped services with the caller's Actor, so the facade
sees what the user may see and every read is audited. Bodies are ``application/fhir+json``;
errors are OperationOutcome. Researchers get de-identified resources (fhir/deidentify.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, Response

from bontrack.fhir import bulk, outcome
from bontrack.fhir.capability import capability_statement
from bontrack.fhir.deidentify import Deidentifier
from bontrack.fhir.mapping import instant
from bontrack.fhir.negotiation import json_accepted, ndjson_accepted
from bontrack.fhir.outcome import FhirError, FhirResponse, Issue
from bontrack.fhir.search import Searcher, parse
from bontrack.fhir.sources import ALL_TYPES, Reader
from bontrack.research.service import pseudonym_key
from bontrack.storage.audit_log import Attempt, mark_denied
from bontrack.web.deps import READ_CLINICAL, CurrentUser, NowDep, Principal, SessionDep, SettingsDep

# Not in /openapi.json: a FHIR server describes itself with its CapabilityStatement (/fhir/metadata).
# Every route answers JSON only: 406 when the request accepts none (fhir/negotiation.py).
router = APIRouter(
    prefix=outcome.PREFIX,
    tags=["fhir"],
    default_response_class=FhirResponse,
    include_in_schema=False,
    dependencies=[Depends(json_accepted)],
)
# the Bulk Data files: NDJSON
files = APIRouter(
    prefix=outcome.PREFIX, tags=["fhir"], include_in_schema=False, dependencies=[Depends(ndjson_accepted)]
)
READ = ["GET", "HEAD"]  # HEAD answers where GET does (the server sends no body)
# FHIR's id rule (datatypes.html#id): no resource here has another id
ID_RULE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
READERS = (*READ_CLINICAL, "researcher")


def _refused(principal: Principal, message: str) -> Exception:
    return mark_denied(
        FhirError(403, [Issue(message, "forbidden")]), Attempt(principal.actor, detail=f"FHIR: {message}")
    )


async def fhir_reader(principal: CurrentUser) -> Principal:
    if principal.role not in READERS:
        raise _refused(principal, f"a {principal.role} cannot read FHIR resources")
    return principal


Reading = Annotated[Principal, Depends(fhir_reader)]


def base_url(request: Request, public_url: str | None) -> str:
    root = public_url.rstrip("/") if public_url else str(request.base_url).rstrip("/")
    return root + outcome.PREFIX


def _searcher(
    request: Request, db: SessionDep, principal: Principal, settings: SettingsDep, at: NowDep
) -> Searcher:
    deid = Deidentifier(pseudonym_key(db), at.date()) if principal.role == "researcher" else None
    return Searcher(Reader(db, principal.actor), base_url(request, settings.public_url), deid)


def _known_type(resource_type: str) -> None:
    if resource_type not in ALL_TYPES:
        raise FhirError(
            404,
            [
                Issue(
                    f"resource type {resource_type!r} is not served here; served: {', '.join(ALL_TYPES)}",
                    "not-supported",
                    resource_type,
                )
            ],
        )


def _known_id(resource_type: str, resource_id: str) -> None:
    """An id outside FHIR's id rule names no resource: 404 saying so (a long one cut short)."""
    if not ID_RULE.fullmatch(resource_id):
        shown = resource_id if len(resource_id) <= 64 else resource_id[:64] + "…"
        raise FhirError(
            404,
            [
                Issue(
                    f"no {resource_type} {shown!r}: a FHIR id is 1-64 letters, digits, '-' or '.' "
                    f"(got {len(resource_id)} characters)",
                    "not-found",
                    "id",
                )
            ],
        )


def _audit_event_reader(principal: Principal, resource_type: str) -> None:
    if resource_type == "AuditEvent" and principal.role != "admin":
        if principal.role == "researcher":
            raise _refused(
                principal, "AuditEvent cannot be de-identified: it is not available to researchers"
            )
        raise _refused(principal, "AuditEvent is for administrators only")


@router.api_route("/metadata", methods=READ)
async def metadata(request: Request, settings: SettingsDep, at: NowDep) -> FhirResponse:
    """The CapabilityStatement: what this FHIR server supports (no log-in needed)."""
    return FhirResponse(capability_statement(base_url(request, settings.public_url), instant(at)))


# --- Bulk Data ---
def _export_root(request: Request) -> Path:
    root: Path = request.app.state.fhir_export_dir
    return root


def _kick_off(
    request: Request,
    db: SessionDep,
    principal: Principal,
    settings: SettingsDep,
    at: NowDep,
    level: str,
    patient_ids: list[str] | None,
) -> Response:
    researcher = principal.role == "researcher"
    wanted = bulk.parse_kick_off(
        request.query_params.multi_items(), request.headers.get("prefer"), level, deidentified=researcher
    )
    base = base_url(request, settings.public_url)
    key = pseudonym_key(db) if researcher else None
    job_id = bulk.start(
        root=_export_root(request),
        engine=settings.engine,
        read_engine=settings.read_engine,
        actor=principal.actor,
        request=wanted,
        request_url=str(request.url),
        file_base=f"{base}/$export-file",
        deidentify_key=key,
        now=at,
        patient_ids=patient_ids,
    )
    return Response(status_code=202, headers={"Content-Location": f"{base}/$export-status/{job_id}"})


@router.get("/$export", status_code=202)
def export_system(
    request: Request, db: SessionDep, principal: Reading, settings: SettingsDep, at: NowDep
) -> Response:
    """Bulk Data kick-off for every patient the user sees (with Practitioner, Organization,
    Questionnaire). Needs 'Prefer: respond-async'; answers 202 with Content-Location to poll."""
    return _kick_off(request, db, principal, settings, at, "system", None)


@router.get("/Patient/$export", status_code=202)
def export_patients(
    request: Request, db: SessionDep, principal: Reading, settings: SettingsDep, at: NowDep
) -> Response:
    """Bulk Data kick-off for the patients the user sees and their compartments."""
    return _kick_off(request, db, principal, settings, at, "patient", None)


@router.get("/$export-status/{job_id}")
def export_status(request: Request, job_id: str, principal: Reading) -> Response:
    """202 while the job runs (X-Progress says how far), then 200 with the manifest."""
    job = bulk.find_job(_export_root(request), job_id, str(principal.actor))
    status = job.status()
    if status["state"] == "running":
        done, total = status.get("done_patients", 0), status.get("total_patients")
        progress = f"{done} of {total} patients" if total is not None else "starting"
        return Response(status_code=202, headers={"X-Progress": progress, "Retry-After": "1"})
    if status["state"] == "failed":
        raise FhirError(500, [Issue(str(status.get("error") or "the export failed"), "exception")])
    manifest = {
        "transactionTime": status["transactionTime"],
        "request": status["request"],
        "requiresAccessToken": True,
        "output": status["output"],
        "error": [],
    }
    return FhirResponse(manifest, media_type="application/json")


@router.delete("/$export-status/{job_id}", status_code=202)
def export_cancel(request: Request, job_id: str, principal: Reading) -> Response:
    """Cancel a job and delete its files."""
    bulk.cancel(bulk.find_job(_export_root(request), job_id, str(principal.actor)))
    return Response(status_code=202)


@files.get("/$export-file/{job_id}/{name}")
def export_file(request: Request, job_id: str, name: str, principal: Reading) -> Response:
    """One NDJSON file of a finished job (only to the user who started it)."""
    job = bulk.find_job(_export_root(request), job_id, str(principal.actor))
    return FileResponse(bulk.file_path(job, name), media_type=bulk.NDJSON)


# --- read and search ---
@router.api_route("/Patient/{patient_id}/$everything", methods=READ)
def patient_everything(
    request: Request,
    patient_id: str,
    db: SessionDep,
    principal: Reading,
    settings: SettingsDep,
    at: NowDep,
) -> FhirResponse:
    """Everything about one patient, as a searchset Bundle (paged with _count and _offset)."""
    _known_id("Patient", patient_id)
    searcher = _searcher(request, db, principal, settings, at)
    q = parse("Patient", request.query_params.multi_items())
    return FhirResponse(searcher.everything(patient_id, q, request.url.path.removeprefix(outcome.PREFIX)))


@router.api_route("/{resource_type}", methods=READ)
def search_type(
    request: Request,
    resource_type: str,
    db: SessionDep,
    principal: Reading,
    settings: SettingsDep,
    at: NowDep,
) -> FhirResponse:
    """Search one resource type; an unknown parameter is a 400 OperationOutcome naming it."""
    _known_type(resource_type)
    _audit_event_reader(principal, resource_type)
    searcher = _searcher(request, db, principal, settings, at)
    q = parse(resource_type, request.query_params.multi_items())
    return FhirResponse(searcher.search(q, f"/{resource_type}"))


@router.api_route("/{resource_type}/{resource_id}", methods=READ)
def read_resource(
    request: Request,
    resource_type: str,
    resource_id: str,
    db: SessionDep,
    principal: Reading,
    settings: SettingsDep,
    at: NowDep,
) -> FhirResponse:
    """One resource by id (404 OperationOutcome when the user does not see it)."""
    _known_type(resource_type)
    _known_id(resource_type, resource_id)
    _audit_event_reader(principal, resource_type)
    searcher = _searcher(request, db, principal, settings, at)
    return FhirResponse(searcher.read(resource_type, resource_id))


def install(app: FastAPI, export_dir: str | Path | None = None) -> None:
    """Mount the FHIR facade on the app: its routes, its OperationOutcome errors, and where
    Bulk Data jobs keep their files."""
    app.state.fhir_export_dir = bulk.export_root(export_dir)
    outcome.install(app)
    app.include_router(router)
    app.include_router(files)
