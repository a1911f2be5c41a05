"""What a patient reaches through their one-time link (no log-in: the link is the credential)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from bontrack.auth.links import LinkSubmission, open_link, submit_through_link
from bontrack.instruments.definitions import load_definition
from bontrack.outcomes.schemas import OutcomeRead
from bontrack.patients.service import get_clinic
from bontrack.web.api.common import ERRORS
from bontrack.web.api.schemas import PatientLinkForm, PatientLinkView
from bontrack.web.deps import NowDep, SessionDep
from bontrack.web.problems import Problem

router = APIRouter(
    prefix="/api/patient-link",
    tags=["patient link"],
    responses={**ERRORS, 410: {"model": Problem, "description": "the link was used or has expired"}},
)
LinkToken = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/{token}", response_model=PatientLinkView)
def open_patient_link(token: LinkToken, db: SessionDep, at: NowDep) -> PatientLinkView:
    """The clinic that asks, the forms the link asks for with their titles, whether they were sent
    and until when the link works (nothing else: no ids, scoring or staff names)."""
    link = open_link(db=db, secret=token, now=at)
    clinic = get_clinic(db=db, actor=link.actor, clinic_id=link.clinic_id)  # read as the link, audited
    return PatientLinkView(
        clinic=clinic.data.name,
        instruments=link.instruments,
        forms=[PatientLinkForm(instrument=i, title=load_definition(i).name) for i in link.instruments],
        submitted=link.used_at is not None,
        expires_at=link.expires_at,
    )


@router.post("/{token}/outcomes", status_code=201, response_model=list[OutcomeRead])
def submit_patient_forms(
    token: LinkToken, submission: LinkSubmission, db: SessionDep, at: NowDep
) -> list[OutcomeRead]:
    """Submit the filled-in forms; the link is then used up."""
    return submit_through_link(db=db, secret=token, submission=submission, now=at)
