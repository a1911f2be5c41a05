"""Helpers the API routers share."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path
from sqlalchemy.orm import Session

from bontrack.patients.schemas import PatientRead
from bontrack.patients.service import get_patient
from bontrack.web.deps import Principal, current_user
from bontrack.web.problems import Problem

# ids are UUIDs; anything else is turned away before it reaches the database
RecordId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
AUTHENTICATED: list[Any] = [Depends(current_user)]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (400, 401, 403, 404, 422)
}


def patient_in_scope(
    db: Session, principal: Principal, patient_id: str, field: str = "patient_id"
) -> PatientRead:
    """The patient a request names, if the user may see their clinic (else 404)."""
    patient = get_patient(db=db, actor=principal.actor, patient_id=patient_id, field=field)
    return patient
