"""The /fhir routes: read, search, Patient/$everything, metadata and Bulk Data $export.

Every route authenticates like /api (the same bearer tokens and roles, web.deps) and reads through
the clinic-scoped services with the caller's Actor, so the facade sees what the user may see and
every read is audited. Bodies are ``application/fhir+json``; errors are OperationOutcome.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from bontrack.fhir import outcome
from bontrack.fhir.outcome import FhirResponse

router = APIRouter(prefix=outcome.PREFIX, tags=["fhir"], default_response_class=FhirResponse)


def install(app: FastAPI) -> None:
    """Mount the FHIR facade on the app: its routes and its OperationOutcome errors."""
    outcome.install(app)
    app.include_router(router)
